import { holdsRole } from '../domain/roles.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { renderFollowUpDone } from '../records/templates/follow-up-done.ts';
import { appendAudit } from '../store/audit.ts';
import { insertBoardEvent } from '../store/board.ts';
import { followUpById, markFollowUpItemDone } from '../store/follow-ups.ts';
import { pupilForRecord } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { knownSchool, userMaySeeSchool } from './access.ts';
import { change, type VisitDeps } from './change.ts';

/**
 * A follow-up action from an outcome recorded done (King's Gomer 2.4: "follow-up actions … logged
 * and monitored on CPOMS"): by the office or safeguarding of its school (or its admin, who may do
 * what every role does), with what was done; audited; it leaves the board, and a `follow_up_done`
 * record goes to the school's sinks in the same transaction (the outcome's record logged the action;
 * this one closes it). Recording it twice changes nothing and writes nothing more.
 */
export async function completeFollowUp(
  deps: VisitDeps,
  user: User,
  id: string,
  note: string,
): Promise<{ outboxId: string | null }> {
  const text = note.trim();
  if (!text) throw doorstepError('BAD_REQUEST', 'note: expected what was done');
  if (!holdsRole(user, 'office') && !holdsRole(user, 'safeguarding'))
    throw doorstepError('FORBIDDEN', 'only the office or safeguarding record a follow-up as done');
  return change(
    deps,
    async (tx, events) => {
      const f = await followUpById(tx, id);
      // Another school's follow-up is answered as none (its existence is not theirs to know).
      if (!f || !userMaySeeSchool(user, f.schoolId)) throw doorstepError('NOT_FOUND', `no follow-up ${id}`);
      if (f.doneAt) return { outboxId: null };
      const at = deps.now();
      await markFollowUpItemDone(tx, id, user.id, text, at);
      const pupil = await pupilForRecord(tx, f.schoolId, f.pupilMisId);
      const record = renderFollowUpDone({
        visitId: f.visitId,
        pupil,
        action: f.action,
        owner: f.owner,
        dueOn: f.dueOn,
        doneBy: user.displayName,
        doneAt: at,
        note: text,
      });
      const outboxId = await recordToSinks(tx, knownSchool(deps.config, f.schoolId), {
        schoolId: f.schoolId,
        kind: 'follow_up_done',
        pupilIds: [f.pupilMisId],
        title: record.title,
        body: record.body,
        occurredAt: at,
        idempotencyKey: `follow-up-done:${f.schoolId}:${id}`,
        sourceType: 'follow_up',
        sourceId: id,
      });
      await appendAudit(tx, {
        actor: `user:${user.id}`,
        action: 'follow-up.done',
        schoolId: f.schoolId,
        entityType: 'follow-up',
        entityId: id,
        after: { visit: f.visitId, characters: text.length, outboxId },
      });
      events.push(
        await insertBoardEvent(tx, f.schoolId, 'follow-up.done', { followUpId: id, visitId: f.visitId }),
      );
      return { outboxId };
    },
    { relayOutbox: true },
  );
}
