import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import { insertBoardEvent, withBoardEvents } from '../store/board.ts';
import { followUpById, markFollowUpItemDone } from '../store/follow-ups.ts';
import type { User } from '../store/users.ts';
import { assertSchool } from './access.ts';
import type { VisitDeps } from './change.ts';

/**
 * A follow-up action from an outcome recorded done (King's Gomer: "follow-up actions … logged and
 * monitored"): by the office or safeguarding of its school, with what was done; audited; it leaves
 * the board. Recording it twice changes nothing.
 */
export async function completeFollowUp(deps: VisitDeps, user: User, id: string, note: string): Promise<void> {
  const text = note.trim();
  if (!text) throw doorstepError('BAD_REQUEST', 'note: expected what was done');
  if (!user.roles.some((r) => r === 'office' || r === 'safeguarding'))
    throw doorstepError('FORBIDDEN', 'only the office or safeguarding record a follow-up as done');
  await withBoardEvents(deps.db, deps, async (tx, events) => {
    const f = await followUpById(tx, id);
    if (!f) throw doorstepError('NOT_FOUND', `no follow-up ${id}`);
    assertSchool(user, f.schoolId);
    if (f.doneAt) return;
    await markFollowUpItemDone(tx, id, user.id, text, deps.now());
    await appendAudit(tx, {
      actor: `user:${user.id}`,
      action: 'follow-up.done',
      schoolId: f.schoolId,
      entityType: 'follow-up',
      entityId: id,
      after: { visit: f.visitId, characters: text.length },
    });
    events.push(
      await insertBoardEvent(tx, f.schoolId, 'follow-up.done', { followUpId: id, visitId: f.visitId }),
    );
  });
}
