import { londonDate } from '../domain/attendance/dates.ts';
import { type BrokenAgreementInput, decideBreach, parseOutcome } from '../domain/visits/agreements.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { renderAgreementBroken } from '../records/templates/agreement-broken.ts';
import { appendBrokenAgreement, followUpVisitOf } from '../store/appointments.ts';
import { type BoardEventRow, insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { insertFollowUps } from '../store/follow-ups.ts';
import { pupilForRecord } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { insertVisit } from '../store/visit-changes.ts';
import { lockVisit, type VisitRow } from '../store/visits.ts';
import { knownSchool } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';

export interface BreachResult {
  /** Its number among the visit's breaches. */
  n: number;
  /** Recorded before (the same agreement, the same day): nothing new was written. */
  duplicate: boolean;
  /** The reminder letter to print (4.2), when the pack asks for one. */
  letterUrl: string | null;
  /** The note for the pupil's attendance record (4.3), in the outbox (main sink's row). */
  outboxId: string | null;
  /** The follow-up visit asked for on continued failure (4.3), new or already asked for. */
  followUpVisitId: string | null;
}

/**
 * Thames View 4.2/4.3: the family did not keep an agreement made on a completed visit. Recorded
 * against that visit's outcome, in one transaction: a reminder letter to the parents/carers (a
 * printable page, and a tracked follow-up until the office records it sent), a note in the pupil's
 * attendance record (an `agreement_broken` record to the school's sinks — Arbor where the school
 * routes the kind there), and on "continued failure" (the pack's `followUpVisitAfter`th breach) a
 * follow-up visit asked for in the register, linked to this one (one per visit). The same agreement
 * recorded broken on the same day twice is one breach.
 */
export async function recordBrokenAgreement(
  deps: VisitDeps,
  user: User,
  visitId: string,
  input: BrokenAgreementInput,
): Promise<BreachResult> {
  return change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      must(deps, user, v, 'agreement-broken');
      const rules = deps.rulesFor(v.schoolId).agreements!;
      const outcome = parseOutcome(v.outcome)!;
      const d = decideBreach(rules, outcome, input, v.plannedFor, londonDate(deps.now()));
      if (!d.ok) throw doorstepError('BAD_REQUEST', `${d.field}: ${d.message}`);
      const letterUrl = (n: number) =>
        rules.reminderLetter ? `/visits/${visitId}/reminder-letter?n=${n}` : null;
      if ('duplicate' in d)
        return {
          n: d.duplicate.n,
          duplicate: true,
          letterUrl: letterUrl(d.duplicate.n),
          outboxId: null,
          followUpVisitId: await followUpVisitOf(tx, visitId),
        };
      const now = deps.now();
      await appendBrokenAgreement(tx, visitId, {
        ...input,
        n: d.n,
        recordedBy: user.id,
        recordedAt: now.toISOString(),
      });
      const agreement = outcome.agreements[input.agreement]!;
      const followUpVisitId = d.steps.followUpVisit
        ? await askForFollowUpVisit(tx, deps, user, v, d.n, events)
        : null;
      if (d.steps.reminderLetter)
        await insertFollowUps(tx, { schoolId: v.schoolId, visitId, pupilMisId: v.pupilMisId }, [
          {
            action: `Send the reminder letter (agreement not kept: ${agreement.slice(0, 200)}) — print it from ${letterUrl(d.n)}`,
            by: 'the office',
            due: null,
          },
        ]);
      let outboxId: string | null = null;
      if (d.steps.attendanceNote) {
        const pupil = await pupilForRecord(tx, v.schoolId, v.pupilMisId);
        const record = renderAgreementBroken({
          visitId,
          visitDate: v.plannedFor,
          pupil,
          agreement,
          on: input.on,
          note: input.note,
          n: d.n,
          recordedBy: user.displayName,
          reminderLetter: d.steps.reminderLetter,
          followUpVisitId,
        });
        outboxId = await recordToSinks(tx, knownSchool(deps.config, v.schoolId), {
          schoolId: v.schoolId,
          kind: 'agreement_broken',
          pupilIds: [v.pupilMisId],
          title: record.title,
          body: record.body,
          occurredAt: now,
          idempotencyKey: `agreement-broken:${v.schoolId}:${visitId}:${d.n}`,
          sourceType: 'visit',
          sourceId: visitId,
        });
      }
      // The audit keeps which agreement and what followed; the words live in the outcome and record.
      await audit(tx, user, 'visit.agreement-broken', v, null, {
        agreement: input.agreement,
        on: input.on,
        n: d.n,
        ...d.steps,
        outboxId,
        followUpVisitId,
      });
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.agreement-broken', { visitId }));
      return { n: d.n, duplicate: false, letterUrl: letterUrl(d.n), outboxId, followUpVisitId };
    },
    { relayOutbox: true },
  );
}

/** 4.3 "Continued failure … will result in a follow-up visit": asked for once per original visit. */
async function askForFollowUpVisit(
  tx: Queryable,
  deps: VisitDeps,
  user: User,
  v: VisitRow,
  n: number,
  events: BoardEventRow[],
): Promise<string> {
  const existing = await followUpVisitOf(tx, v.id);
  if (existing) return existing;
  const id = await insertVisit(tx, {
    schoolId: v.schoolId,
    pupilMisId: v.pupilMisId,
    triggerEpisodeId: null,
    reason: `Follow-up visit: agreements made on visit #${v.id} not kept (${n} times)`,
    address: v.address,
    plannedFor: londonDate(deps.now()),
    riskLevel: v.riskLevel,
    riskNotes: v.riskNotes,
    requestedBy: user.id,
    leadUserId: null,
    followsVisitId: v.id,
  });
  const created = (await lockVisit(tx, id))!;
  await audit(tx, user, 'visit.requested', created, null, {
    status: 'requested',
    pupil: v.pupilMisId,
    followsVisit: v.id,
    plannedFor: created.plannedFor,
    riskLevel: created.riskLevel,
  });
  events.push(await insertBoardEvent(tx, v.schoolId, 'visit.requested', { visitId: id }));
  return id;
}
