import { holdsRole } from '../auth/scope.ts';
import { londonDate } from '../domain/attendance/dates.ts';
import {
  ACTION_DONE_TEXT,
  ACTION_TEXT,
  actionDayProblem,
  doneByRecording,
} from '../domain/triggers/actions.ts';
import { type Evidence, firstDayOf } from '../domain/triggers/finding.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { renderTriggerAction } from '../records/templates/trigger-action.ts';
import { appendAudit } from '../store/audit.ts';
import { insertBoardEvent } from '../store/board.ts';
import { pupilForRecord } from '../store/pupils.ts';
import { insertTriggerAction, lockEpisode } from '../store/triggers.ts';
import type { User } from '../store/users.ts';
import { assertSchool, knownSchool } from '../visits/access.ts';
import { change, type VisitDeps } from '../visits/change.ts';

/** The longest note of what was done (the CPOMS record's text). */
export const ACTION_NOTE_MAX = 2000;

/**
 * A trigger's action that is not a visit — the phone call home, the attendance meeting, the local
 * authority told — recorded done by the office or safeguarding of its school: the day it was done and
 * what was done. Audited; the trigger leaves the board's waiting list (the episode stays open until
 * its condition ends: a later rule, e.g. a visit after more days, is its own trigger); a
 * `trigger_action` record goes to the school's sinks in the same transaction. A visit's action is
 * done by asking for the visit (409 here). Recording it again changes nothing and writes nothing more.
 */
export async function recordTriggerAction(
  deps: VisitDeps,
  user: User,
  input: { schoolId: string; episodeId: string; note: string; doneOn?: string | undefined },
): Promise<{ outboxId: string | null; already: boolean }> {
  const note = input.note.trim();
  if (!note)
    throw doorstepError('BAD_REQUEST', 'note: expected what was done (who was spoken to, what was agreed)');
  if (note.length > ACTION_NOTE_MAX)
    throw doorstepError('BAD_REQUEST', `note: at most ${ACTION_NOTE_MAX} characters, got ${note.length}`);
  const school = knownSchool(deps.config, input.schoolId);
  assertSchool(user, school.id);
  if (!holdsRole(user, 'office') && !holdsRole(user, 'safeguarding'))
    throw doorstepError('FORBIDDEN', "only the office or safeguarding record a trigger's action done");
  return change(
    deps,
    async (tx, events) => {
      const e = await lockEpisode(tx, school.id, input.episodeId);
      if (!e) throw doorstepError('NOT_FOUND', `no trigger ${input.episodeId} at ${school.id}`);
      if (!doneByRecording(e.action))
        throw doorstepError(
          'CONFLICT',
          `this trigger recommends ${ACTION_TEXT[e.action as keyof typeof ACTION_TEXT] ?? e.action}: ask for the visit from it (the visit register records it), not a note`,
        );
      if (e.status !== 'open')
        throw doorstepError(
          'CONFLICT',
          `this trigger closed on ${e.closedOn}: its condition ended; record what was done on the pupil's record`,
        );
      const now = deps.now();
      const today = londonDate(now);
      const doneOn = input.doneOn ?? today;
      const firstDay = firstDayOf(e.evidence as Evidence | null) ?? e.openedOn;
      const problem = actionDayProblem(doneOn, firstDay, today);
      if (problem) throw doorstepError('BAD_REQUEST', `doneOn: ${problem}`);
      // Once per action of the episode (after the lock: a second person at once finds the first's).
      const recorded = await insertTriggerAction(tx, {
        schoolId: school.id,
        episodeId: e.id,
        pupilMisId: e.pupilMisId,
        action: e.action,
        on: doneOn,
        by: `user:${user.id}`,
        note,
        at: now,
      });
      if (!recorded) return { outboxId: null, already: true };
      const pupil = await pupilForRecord(tx, school.id, e.pupilMisId);
      const record = renderTriggerAction({
        episodeId: e.id,
        pupil,
        trigger: e.title,
        openedOn: e.openedOn,
        action: e.action,
        doneOn,
        doneBy: user.displayName,
        recordedAt: now,
        note,
      });
      const outboxId = await recordToSinks(tx, school, {
        schoolId: school.id,
        kind: 'trigger_action',
        pupilIds: [e.pupilMisId],
        title: record.title,
        body: record.body,
        occurredAt: now,
        idempotencyKey: `trigger-action:${school.id}:${e.id}:${e.action}`,
        sourceType: 'trigger_episode',
        sourceId: e.id,
      });
      await appendAudit(tx, {
        actor: `user:${user.id}`,
        action: 'trigger.action-done',
        schoolId: school.id,
        entityType: 'trigger_episode',
        entityId: e.id,
        // No note text in the audit (it is the record's): its length, the day, the outbox row.
        after: { action: ACTION_DONE_TEXT[e.action], doneOn, characters: note.length, outboxId },
      });
      events.push(await insertBoardEvent(tx, school.id, 'trigger.action-done', { episodeId: e.id }));
      return { outboxId, already: false };
    },
    { relayOutbox: true },
  );
}
