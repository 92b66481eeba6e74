import { sinkSettingsOf } from '../../connectors/records/index.ts';
import type { SchoolConfig } from '../config/schema.ts';
import type { Queryable } from '../store/db.ts';
import { insertOutbox, insertOutboxMany, type OutboxInsert } from '../store/outbox.ts';

/**
 * A safeguarding record into the outbox, once per sink the school routes its kind to: its main
 * `records` sink (every kind, under the record's own idempotency key) and each `alsoRecordTo` sink
 * that lists the kind (under `<key>:<sink>`). Each is delivered, retried and shown on its own, exactly
 * once per sink. Every row written while the main sink is preview is kept as preview (never sent). Returns the main sink's outbox id (null when the key was written before).
 */
export async function recordToSinks(
  tx: Queryable,
  school: Pick<SchoolConfig, 'records' | 'alsoRecordTo'>,
  r: Omit<OutboxInsert, 'sink' | 'preview'>,
): Promise<string | null> {
  let main: string | null = null;
  for (const { settings, kinds } of sinkSettingsOf(school)) {
    if (kinds !== 'all' && !kinds.includes(r.kind)) continue;
    const id = await insertOutbox(tx, {
      ...r,
      sink: settings.sink,
      preview: school.records.sink === 'preview',
      idempotencyKey: kinds === 'all' ? r.idempotencyKey : `${r.idempotencyKey}:${settings.sink}`,
    });
    if (kinds === 'all') main = id;
  }
  return main;
}

/**
 * The sinks a record of this kind is sent to at this school: `["preview"]` before go-live — while the
 * main sink is preview, nothing is sent to an `alsoRecordTo` sink either (deliver-record keeps those
 * rows as preview), so the phone never says a record is on its way.
 */
export function sinksFor(school: Pick<SchoolConfig, 'records' | 'alsoRecordTo'>, kind: string): string[] {
  if (school.records.sink === 'preview') return ['preview'];
  return sinkSettingsOf(school)
    .filter(({ kinds }) => kinds === 'all' || kinds.includes(kind))
    .map(({ settings }) => settings.sink);
}

/** Many records at once (a night's trigger notes), each once per sink its kind goes to, in one statement. */
export async function recordsToSinks(
  tx: Queryable,
  school: Pick<SchoolConfig, 'records' | 'alsoRecordTo'>,
  list: readonly Omit<OutboxInsert, 'sink' | 'preview'>[],
): Promise<void> {
  const rows: OutboxInsert[] = [];
  for (const { settings, kinds } of sinkSettingsOf(school))
    for (const r of list)
      if (kinds === 'all' || kinds.includes(r.kind))
        rows.push({
          ...r,
          sink: settings.sink,
          preview: school.records.sink === 'preview',
          idempotencyKey: kinds === 'all' ? r.idempotencyKey : `${r.idempotencyKey}:${settings.sink}`,
        });
  await insertOutboxMany(tx, rows);
}
