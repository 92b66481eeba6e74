import type { DoorstepConfig } from '../config/schema.ts';
import { findSchool, incidentTargets } from '../config/school-of.ts';
import {
  defaultResolution,
  PERSON_RESOLUTION_REASONS,
  writesIncidentRecord,
} from '../domain/escalation/resolution.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { renderLoneWorkerIncident } from '../records/templates/lone-worker-incident.ts';
import {
  type AckOutcome,
  acknowledge,
  addTimeline,
  fobLocationOfAlarm,
  lockAlarm,
  type PersonResolutionReason,
  readAlarm,
  resolve,
  timelineOf,
} from '../store/alarm-state.ts';
import { type BoardTell, insertBoardEvent, withBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import { notificationDeliveries } from '../store/notify.ts';
import { insertOutbox } from '../store/outbox.ts';
import { REARM_AFTER_RESOLUTION_MINUTES, rearmWatchAfterResolution } from '../store/visit-changes.ts';
import { formatAddress, getVisit, lockVisit } from '../store/visits.ts';

/**
 * A person takes ownership of an alarm: every further page stops. The board event is written in the
 * same transaction, so every board learns of it, whichever door (board, CLI) it came through.
 */
export async function acknowledgeAlarm(
  db: Db,
  alarmId: string,
  by: string,
  now: Date,
  tell?: BoardTell,
  via: 'board' | 'cli' | 'sms' | 'call' = 'board',
): Promise<AckOutcome> {
  return withBoardEvents(db, tell, async (tx, events) => {
    const o = await acknowledge(tx, alarmId, by, now, via);
    if (o === 'acknowledged') {
      const alarm = (await lockAlarm(tx, alarmId))!;
      events.push(await insertBoardEvent(tx, alarm.schoolId, 'alarm.acknowledged', { alarmId }));
    }
    return o;
  });
}

/** What resolving came to; the last two only for `onlyIfAcknowledgedBy` (nothing written). */
export type ResolveOutcome = 'resolved' | 'already-resolved' | 'missing' | 'taken-by-another' | 'not-taken';

/**
 * Resolves an alarm with a reason. Only an incident writes the lone-worker incident record (the
 * alarm's full timeline and its resolution) to the outbox for CPOMS, in the same transaction; "the
 * worker is safe" and "a test / false alarm" are kept in the timeline and audit only. Without a
 * reason (null) a TEST alarm is resolved as `test`; any other alarm is refused (400 naming `reason`).
 * With `onlyIfAcknowledgedBy` it resolves only an alarm that person holds, checked under the alarm's
 * lock (a hold judged before it can have lapsed or passed to someone else since): otherwise nothing
 * is written and the outcome says why — `taken-by-another` (someone else holds it) or `not-taken`.
 */
export async function resolveAlarm(
  db: Db,
  config: DoorstepConfig,
  alarmId: string,
  by: string,
  given: PersonResolutionReason | null,
  note: string | null,
  now: Date,
  tell?: BoardTell,
  only: { onlyIfAcknowledgedBy?: string } = {},
): Promise<ResolveOutcome> {
  for (let tries = 1; ; tries++) {
    const r = await resolveOnce(db, config, alarmId, by, given, note, now, tell, only);
    if (r !== 'moved') return r;
    // Tied to another visit between the read and the lock, again and again: the person tries again.
    if (tries === 3)
      throw doorstepError('SERVICE_UNAVAILABLE', 'the alarm was changing as it was resolved: try again', {
        forPeople: true,
        retryAfterSeconds: 1,
      });
  }
}

async function resolveOnce(
  db: Db,
  config: DoorstepConfig,
  alarmId: string,
  by: string,
  given: PersonResolutionReason | null,
  note: string | null,
  now: Date,
  tell: BoardTell | undefined,
  only: { onlyIfAcknowledgedBy?: string },
): Promise<ResolveOutcome | 'moved'> {
  return withBoardEvents(db, tell, async (tx, events) => {
    // One lock order for the register: a visit before its alarms. The worker's steps (check-in,
    // running late, back safe, arrived) and the watcher lock the visit, then stand its alarms down;
    // resolving here re-arms the visit's watch. Locking the alarm first deadlocked with them
    // (PostgreSQL gave one up: a 500). So: the alarm's visit, read without a lock; that visit
    // locked; then the alarm, and checked again (a device's alarm may have been tied to a visit
    // meanwhile: then once more, that visit first — nothing has been written yet).
    const seen = await readAlarm(tx, alarmId);
    if (!seen) return 'missing';
    if (seen.visitId) await lockVisit(tx, seen.visitId);
    const current = await lockAlarm(tx, alarmId);
    if (!current) return 'missing';
    if (current.visitId !== seen.visitId) return 'moved';
    const holder = only.onlyIfAcknowledgedBy;
    if (holder !== undefined && current.status !== 'resolved') {
      if (current.status !== 'acknowledged') return 'not-taken';
      if (current.acknowledgedBy !== holder) return 'taken-by-another';
    }
    const reason = given ?? defaultResolution(current);
    if (!reason)
      throw doorstepError('BAD_REQUEST', `reason: expected one of ${PERSON_RESOLUTION_REASONS.join(', ')}`);
    const outcome = await resolve(tx, alarmId, by, reason, note, now);
    if (outcome !== 'resolved') return outcome;
    const alarm = (await lockAlarm(tx, alarmId))!;
    events.push(await insertBoardEvent(tx, alarm.schoolId, 'alarm.resolved', { alarmId }));
    // A worker still out stays watched: resolving their alarm re-arms the visit's deadline. The
    // register's own alarms only: a device's alarm of the same name (a fob's missed check-in) resolved
    // says nothing of the register's clock — nobody has checked in to it.
    if (alarm.visitId && alarm.deviceId === null) {
      const rearmed = await rearmWatchAfterResolution(tx, alarm.visitId, alarm.type, now, { by, reason });
      if (rearmed)
        await addTimeline(
          tx,
          alarmId,
          rearmed === 'return'
            ? `the worker is still out: expected back within ${REARM_AFTER_RESOLUTION_MINUTES} minutes or the visit is overdue again`
            : rearmed === 'silence'
              ? "the worker is still out: the fob's silence counts again from now"
              : 'the worker is still out: check-ins count again from now',
        );
    }
    if (!writesIncidentRecord(reason)) return outcome;
    const school = findSchool(config, alarm.schoolId);
    const visit = alarm.visitId ? await getVisit(tx, alarm.visitId) : undefined;
    const record = renderLoneWorkerIncident({
      alarmId,
      staff: alarm.staffId ?? (alarm.deviceId ? `unknown device ${alarm.deviceId}` : 'unknown'),
      deviceId: alarm.deviceId,
      type: alarm.type,
      test: alarm.test,
      raisedAt: alarm.raisedAt,
      location: await fobLocationOfAlarm(tx, alarmId),
      visitAddress: visit ? formatAddress(visit.address) : null,
      timeline: await timelineOf(tx, alarmId),
      resolution: { reason, by, at: now, note },
      pupils: visit ? [{ misId: visit.pupilMisId, upn: null }] : [],
      notifications: await notificationDeliveries(tx, [alarmId]),
    });
    const incident = {
      schoolId: alarm.schoolId,
      kind: 'lone_worker_incident' as const,
      pupilIds: visit ? [visit.pupilMisId] : [],
      title: record.title,
      body: record.body,
      occurredAt: alarm.raisedAt,
      idempotencyKey: `incident:${alarm.schoolId}:${alarmId}`,
      sourceType: 'alarm',
      sourceId: alarmId,
    };
    // A school no longer in the config: kept, unsent (preview), never lost.
    if (school) await recordToSinks(tx, school, incident);
    else await insertOutbox(tx, { ...incident, sink: 'preview' });
    // Heath Lane: "inform the safeguarding manager and attendance line manager of any incidents of
    // aggression, violence or threat"; King's: reported immediately to the DSL. The school's
    // `notices.incident` people (else its `notices.concern` people) hear of it; the relay queues the
    // notice (this path has no queue).
    if (school)
      await insertNotices(tx, {
        schoolId: alarm.schoolId,
        kind: 'incident',
        visitId: alarm.visitId,
        key: `alarm:${alarmId}`,
        targets: incidentTargets(school),
        subject: `lone-worker incident: alarm #${alarmId}`,
        text: `Alarm #${alarmId} (${alarm.type.replace(/_/g, ' ')}${alarm.visitId ? ` on home visit #${alarm.visitId}` : ''}) was resolved as an incident by ${by}${note ? `: ${note}` : ''}. The incident record is in the school's records.`,
      });
    return outcome;
  });
}
