import { incidentTargets } from '../config/school-of.ts';
import { initialsOf } from '../domain/visits/initials.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { renderVisitConcern } from '../records/templates/visit-concern.ts';
import { insertBoardEvent } from '../store/board.ts';
import { insertNotices, noticeCountByKey } from '../store/notices.ts';
import { outboxIdByKey } from '../store/outbox.ts';
import { pupilIdentity } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { formatAddress } from '../store/visits.ts';
import { knownSchool } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { sendNotices } from './visit-notices.ts';

/** What a concern raised now is about: the child, or an incident of aggression, violence or threat. */
export type ConcernAbout = 'child' | 'incident';

/**
 * "Raise a concern now" (the phone page, during or after a visit): a concern goes at once, in its
 * own words, to the people the school names and, in the same transaction, into the school's records
 * (CPOMS / Arbor) as its own record — not only into the outcome typed later; an incident as an
 * incident record (the kind and category of a lone-worker incident). About the child: the
 * people named for concerns (`notices.concern`: King's "reported immediately to the DSL"; Heath
 * Lane's safeguarding team; Hampton's HoS). An incident of aggression, violence or threat towards the
 * staff: those named for incidents (`notices.incident`: Heath Lane's safeguarding manager and
 * attendance line manager), else the concern people. Each is its own notice and record, keyed by who
 * raised it and the page's id for this concern (`sendId`, the same on every retry: a press whose answer
 * was lost and is pressed again is told what the first did and makes no second record or notice) — or,
 * without one, the moment it was raised.
 */
export async function raiseConcern(
  deps: VisitDeps,
  user: User,
  visitId: string,
  concern: string,
  about: ConcernAbout = 'child',
  sendId?: string,
): Promise<{ outboxId: string | null; notified: number; recordsInPreview: boolean }> {
  const text = concern.trim();
  let recordsInPreview = false;
  const now = deps.now();
  const key = `${sendId ?? now.toISOString()}:${user.id}`;
  let outboxId: string | null = null;
  let notifiedBefore: number | null = null;
  const notices = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      must(deps, user, v, 'raise-concern');
      const school = knownSchool(deps.config, v.schoolId);
      recordsInPreview = school.records.sink === 'preview';
      const idempotencyKey = `visit-concern:${v.schoolId}:${visitId}:${key}`;
      if (sendId) {
        const first = await outboxIdByKey(tx, idempotencyKey);
        if (first) {
          outboxId = first;
          notifiedBefore = await noticeCountByKey(tx, visitId, ['concern', 'incident'], key);
          return [];
        }
      }
      const p = await pupilIdentity(tx, v.schoolId, v.pupilMisId);
      const incident = about === 'incident';
      const record = renderVisitConcern({
        visitId,
        pupil: {
          misId: v.pupilMisId,
          upn: p?.upn ?? null,
          name: p ? [p.forename, p.surname].filter(Boolean).join(' ') || null : null,
        },
        raisedBy: user.displayName,
        at: now,
        address: formatAddress(v.address),
        concern: text,
        incident,
      });
      // An incident towards the staff is filed as the school's incidents are (the kind, and so the
      // category, of a lone-worker incident), not as a concern about the child.
      outboxId = await recordToSinks(tx, school, {
        schoolId: v.schoolId,
        kind: incident ? 'lone_worker_incident' : 'visit_concern',
        pupilIds: [v.pupilMisId],
        title: record.title,
        body: record.body,
        occurredAt: now,
        idempotencyKey,
        sourceType: 'visit',
        sourceId: visitId,
      });
      // The audit keeps that a concern was raised and where it went; its words live in the record.
      await audit(tx, user, 'visit.concern-raised', v, null, { outboxId, characters: text.length });
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.concern-raised', { visitId }));
      const initials = initialsOf(p);
      return insertNotices(tx, {
        schoolId: school.id,
        kind: incident ? 'incident' : 'concern',
        visitId,
        key,
        targets: incident ? incidentTargets(school) : school.notices.concern,
        subject: incident ? `incident on home visit #${visitId}` : `concern raised on home visit #${visitId}`,
        // The concern itself: the point is that the DSL reads it now (the pupil by initials only).
        text: incident
          ? `${user.displayName} reported an incident of aggression, violence or threat on home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}: ${text}`
          : `${user.displayName} raised a safeguarding concern on home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}: ${text}`,
      });
    },
    { relayOutbox: true },
  );
  await sendNotices(deps.producer, notices);
  return { outboxId, notified: notifiedBefore ?? notices.length, recordsInPreview };
}
