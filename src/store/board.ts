import type { Redis } from 'ioredis';
import type { Db, Queryable } from './db.ts';

/** The Redis channel every process publishes board events on (one per deployment prefix). */
export function boardChannel(prefix: string): string {
  return `${prefix}:board`;
}

export interface BoardEventRow {
  id: string;
  schoolId: string;
  type: string;
  payload: Record<string, unknown>;
}

/** A board event, written in the caller's transaction (ids only in the payload). */
export async function insertBoardEvent(
  tx: Queryable,
  schoolId: string,
  type: string,
  payload: Record<string, unknown>,
): Promise<BoardEventRow> {
  const { rows } = await tx.query<{ id: string }>(
    'INSERT INTO board_events (school_id, type, payload) VALUES ($1, $2, $3) RETURNING id',
    [schoolId, type, JSON.stringify(payload)],
  );
  return { id: String(rows[0]!.id), schoolId, type, payload };
}

/** Tells open boards at once, after the commit (a board that misses it catches up from the table). */
export async function publishBoardEvents(
  publisher: Redis | undefined,
  prefix: string,
  events: readonly BoardEventRow[],
): Promise<void> {
  if (!publisher || events.length === 0) return;
  if (events.length === 1) {
    await publisher.publish(boardChannel(prefix), JSON.stringify(events[0])).catch(() => 0);
    return;
  }
  // Several at once: one round trip, in order.
  const p = publisher.pipeline();
  for (const e of events) p.publish(boardChannel(prefix), JSON.stringify(e));
  await p.exec().catch(() => null);
}

/** Where open boards are told of a change after its commit (absent: they catch up on their next read). */
export interface BoardTell {
  publisher?: Redis | undefined;
  prefix: string;
}

/**
 * The board's unit of work: `fn` runs in one transaction and collects the board events it writes;
 * after the commit (never before: a board must not see what may roll back) the boards are told.
 */
export async function withBoardEvents<T>(
  db: Db,
  tell: BoardTell | undefined,
  fn: (tx: Queryable, events: BoardEventRow[]) => Promise<T>,
): Promise<T> {
  const events: BoardEventRow[] = [];
  const result = await db.transaction((tx) => fn(tx, events));
  await publishBoardEvents(tell?.publisher, tell?.prefix ?? '', events);
  return result;
}
