import { sinkSettingsOf } from '../../connectors/records/index.ts';
import type { SchoolConfig } from '../config/schema.ts';
import type { Queryable } from '../store/db.ts';
import { insertOutbox, insertOutboxMany, type OutboxInsert } from '../store/outbox.ts';

/**
 * The school's sinks a record goes to: each that takes its kind — but a record that concerns no pupil
 * (a lone-worker incident away from a visit) is not written for an arbor-pastoral sink (an Arbor note
 * needs a student) when another of the school's sinks takes it (CPOMS through `alsoRecordTo`): it
 * would only fail there, with an alert, each time. With no other, it is written for Arbor all the
 * same and failed there with its alert: kept in Doorstep for a person, never dropped unseen.
 */
function sinksTaking(
  school: Pick<SchoolConfig, 'records' | 'alsoRecordTo'>,
  r: Pick<OutboxInsert, 'kind' | 'pupilIds'>,
): ReturnType<typeof sinkSettingsOf> {
  const taking = sinkSettingsOf(school).filter(({ kinds }) => kinds === 'all' || kinds.includes(r.kind));
  if (r.pupilIds.length > 0) return taking;
  const others = taking.filter(({ settings }) => settings.sink !== 'arbor-pastoral');
  return others.length > 0 ? others : taking;
}

/**
 * A safeguarding record into the outbox, once per sink the school routes its kind to: its main
 * `records` sink (every kind, under the record's own idempotency key) and each `alsoRecordTo` sink
 * that lists the kind (under `<key>:<sink>`) — `sinksTaking`. Each is delivered, retried and shown on its own, exactly
 * once per sink. Every row written while the main sink is preview is kept as preview (never sent). Returns the main sink's outbox id (null when the key was written before, or it was not written for the main sink).
 */
export async function recordToSinks(
  tx: Queryable,
  school: Pick<SchoolConfig, 'records' | 'alsoRecordTo'>,
  r: Omit<OutboxInsert, 'sink' | 'preview'>,
): Promise<string | null> {
  let main: string | null = null;
  for (const { settings, kinds } of sinksTaking(school, r)) {
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
      if (sinksTaking(school, r).some((t) => t.settings === settings))
        rows.push({
          ...r,
          sink: settings.sink,
          preview: school.records.sink === 'preview',
          idempotencyKey: kinds === 'all' ? r.idempotencyKey : `${r.idempotencyKey}:${settings.sink}`,
        });
  await insertOutboxMany(tx, rows);
}
