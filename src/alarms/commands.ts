import type { DoorstepConfig } from '../config/schema.ts';
import { renderLoneWorkerIncident } from '../records/templates/lone-worker-incident.ts';
import {
  type AckOutcome,
  acknowledge,
  lockAlarm,
  type ResolutionReason,
  resolve,
  timelineOf,
} from '../store/alarm-state.ts';
import type { Db } from '../store/db.ts';
import { insertOutbox } from '../store/triggers.ts';

/** A person takes ownership of an alarm: every further page stops. */
export function acknowledgeAlarm(db: Db, alarmId: string, by: string, now: Date): Promise<AckOutcome> {
  return db.transaction((tx) => acknowledge(tx, alarmId, by, now));
}

/**
 * Resolves an alarm with a reason and, in the same transaction, writes the lone-worker incident
 * record (the alarm's full timeline and its resolution) to the outbox for CPOMS.
 */
export async function resolveAlarm(
  db: Db,
  config: DoorstepConfig,
  alarmId: string,
  by: string,
  reason: ResolutionReason,
  note: string | null,
  now: Date,
): Promise<'resolved' | 'already-resolved' | 'missing'> {
  return db.transaction(async (tx) => {
    const outcome = await resolve(tx, alarmId, by, reason, note, now);
    if (outcome !== 'resolved') return outcome;
    const alarm = (await lockAlarm(tx, alarmId))!;
    const school = config.schools.find((s) => s.id === alarm.schoolId);
    const record = renderLoneWorkerIncident({
      alarmId,
      staff: alarm.staffId ?? `unknown device ${alarm.deviceId}`,
      deviceId: alarm.deviceId,
      type: alarm.type,
      raisedAt: alarm.raisedAt,
      location: null,
      visitAddress: null,
      timeline: await timelineOf(tx, alarmId),
      resolution: { reason, by, at: now, note },
      pupils: [],
    });
    await insertOutbox(tx, {
      schoolId: alarm.schoolId,
      kind: 'lone_worker_incident',
      pupilIds: [],
      title: record.title,
      body: record.body,
      occurredAt: alarm.raisedAt,
      sink: school?.records.sink ?? 'preview',
      idempotencyKey: `incident:${alarm.schoolId}:${alarmId}`,
      sourceType: 'alarm',
      sourceId: alarmId,
    });
    return outcome;
  });
}
