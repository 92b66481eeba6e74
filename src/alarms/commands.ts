import type { DoorstepConfig } from '../config/schema.ts';
import { renderLoneWorkerIncident } from '../records/templates/lone-worker-incident.ts';
import {
  type AckOutcome,
  acknowledge,
  lockAlarm,
  type PersonResolutionReason,
  resolve,
  timelineOf,
} from '../store/alarm-state.ts';
import type { Db } from '../store/db.ts';
import { insertOutbox } from '../store/triggers.ts';
import { formatAddress, getVisit } from '../store/visits.ts';

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
  reason: PersonResolutionReason,
  note: string | null,
  now: Date,
): Promise<'resolved' | 'already-resolved' | 'missing'> {
  return db.transaction(async (tx) => {
    const outcome = await resolve(tx, alarmId, by, reason, note, now);
    if (outcome !== 'resolved') return outcome;
    const alarm = (await lockAlarm(tx, alarmId))!;
    const school = config.schools.find((s) => s.id === alarm.schoolId);
    const visit = alarm.visitId ? await getVisit(tx, alarm.visitId) : undefined;
    const { rows: loc } = await tx.query<{
      location: { lat: number; lon: number; accuracyM?: number } | null;
    }>('SELECT e.location FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1', [
      alarmId,
    ]);
    const record = renderLoneWorkerIncident({
      alarmId,
      staff: alarm.staffId ?? (alarm.deviceId ? `unknown device ${alarm.deviceId}` : 'unknown'),
      deviceId: alarm.deviceId,
      type: alarm.type,
      raisedAt: alarm.raisedAt,
      location: loc[0]?.location ?? null,
      visitAddress: visit ? formatAddress(visit.address) : null,
      timeline: await timelineOf(tx, alarmId),
      resolution: { reason, by, at: now, note },
      pupils: visit ? [{ misId: visit.pupilMisId, upn: null }] : [],
    });
    await insertOutbox(tx, {
      schoolId: alarm.schoolId,
      kind: 'lone_worker_incident',
      pupilIds: visit ? [visit.pupilMisId] : [],
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
