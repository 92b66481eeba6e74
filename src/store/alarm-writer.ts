import type { EscalationPolicy } from '../domain/escalation/ladder.ts';
import type { BoardEventRow } from './board.ts';
import type { Queryable } from './db.ts';

/**
 * The one alarm writer. Every alarm is written by the `raise_alarms` SQL function (migration 022):
 * the alarm, its first timeline entry, its audit entry and its board event, together. Fob alarms
 * reach it inside `write_fob_alarms` (the alarm path's one-statement group write, `writeFobEvents`);
 * the visit register's alarms (overdue, missed check-in, silent fob, "I need help") through
 * `raiseVisitAlarm` here; a fob drill's TEST alarm through `raiseTestAlarm` here.
 */

/** An alarm the visit register raises. */
export interface VisitAlarm {
  schoolId: string;
  visitId: string;
  staffId: string | null;
  type: string;
  /** Raised once per key: a second raise with the same key writes nothing. */
  dedupKey: string;
  raisedAt: Date;
  policy: EscalationPolicy;
  /** What the timeline says, e.g. "alarm raised: visit overdue". */
  what: string;
  actor: string;
  location?: { lat: number; lon: number; accuracyM: number | null } | null;
}

/**
 * Raises a visit's alarm in the caller's transaction, with its policy snapshotted. Returns the new
 * alarm's id and its board event (to publish after the commit), or null when that key was raised before.
 */
export async function raiseVisitAlarm(
  tx: Queryable,
  a: VisitAlarm,
): Promise<{ id: string; board: BoardEventRow } | null> {
  const board = { visitId: a.visitId, raisedAt: a.raisedAt.toISOString() };
  return raiseOne(
    tx,
    {
      school_id: a.schoolId,
      visit_id: Number(a.visitId),
      dedup_key: a.dedupKey,
      staff_id: a.staffId,
      type: a.type,
      raised_at: a.raisedAt.toISOString(),
      policy: a.policy,
      location: a.location ?? null,
      timeline: a.what,
      actor: a.actor,
      board_payload: board,
    },
    board,
  );
}

/** A fob drill: a TEST alarm as if the device had sent an SOS, to run its whole ladder. */
export interface TestAlarm {
  schoolId: string;
  deviceId: string;
  staffId: string | null;
  type: string;
  /** Raised once per key: a second raise with the same key writes nothing. */
  dedupKey: string;
  raisedAt: Date;
  policy: EscalationPolicy;
  what: string;
  actor: string;
}

/**
 * Raises a TEST alarm in the caller's transaction (the alarm row marked `test`, its timeline, its
 * audit entry — `test: true` — and its board event), with its policy snapshotted. Returns the new
 * alarm's id and its board event, or null when that key was raised before.
 */
export async function raiseTestAlarm(
  tx: Queryable,
  a: TestAlarm,
): Promise<{ id: string; board: BoardEventRow } | null> {
  const board = {
    deviceId: a.deviceId,
    staffId: a.staffId,
    unknownDevice: a.staffId === null,
    raisedAt: a.raisedAt.toISOString(),
  };
  return raiseOne(
    tx,
    {
      school_id: a.schoolId,
      dedup_key: a.dedupKey,
      device_id: a.deviceId,
      staff_id: a.staffId,
      type: a.type,
      raised_at: a.raisedAt.toISOString(),
      policy: a.policy,
      timeline: a.what,
      actor: a.actor,
      audit: { drill: true },
      board_payload: board,
      test: true,
    },
    { ...board, test: true },
  );
}

/** One alarm through `raise_alarms`; its id and board event (to publish after the commit), or null when its key was raised before. */
async function raiseOne(
  tx: Queryable,
  row: Record<string, unknown>,
  board: Record<string, unknown>,
): Promise<{ id: string; board: BoardEventRow } | null> {
  const { rows } = await tx.query<{ alarm_id: string; board_id: string }>(
    'SELECT alarm_id, board_id FROM raise_alarms($1::jsonb)',
    [JSON.stringify([row])],
  );
  const r = rows[0];
  if (!r) return null;
  const id = String(r.alarm_id);
  return {
    id,
    board: {
      id: String(r.board_id),
      schoolId: String(row.school_id),
      type: 'alarm.raised',
      payload: { ...board, alarmId: id, type: String(row.type) },
    },
  };
}

/**
 * The key a press of "I need help" on the phone page is raised under (each press its own alarm; the
 * page's retry of one press, under its press id, the same one).
 */
export function helpAlarmKey(visitId: string, userId: string, press: string): string {
  return `visit:${visitId}:help:${userId}:${press}`;
}

/** Whether alarm `a` (SQL over its alias) was raised by "I need help" on the phone page (`helpAlarmKey`). */
export const isHelpAlarm = (a: string) => `(${a}.dedup_key LIKE 'visit:%:help:%')`;

/** Of a help alarm `a` (SQL over its alias), the user who pressed it, read from its `helpAlarmKey`. */
export const helpPresser = (a: string) => `split_part(${a}.dedup_key, ':', 4)`;
