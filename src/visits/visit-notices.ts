import { initialsOf } from '../domain/visits/initials.ts';
import { onVisit } from '../domain/visits/lifecycle.ts';
import { queueAfterCommit } from '../queue/after-commit.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { Queryable } from '../store/db.ts';
import { pupilIdentity } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { visitStaffNames } from '../store/visit-queries.ts';
import type { VisitRow } from '../store/visits.ts';

/**
 * Notices about a visit to the people the school names (`notices` in its config): written in the
 * caller's transaction (so a notice exists exactly when its change does), sent by `send-notice` jobs
 * queued after the commit. The text names the pupil by initials only (it leaves Doorstep by SMS or
 * e-mail); the visit number leads the reader to everything else, signed in. Kinds: child-not-seen,
 * cancelled, changed, concern, incident, outcome-missing, family.
 */

/** The pupil's initials (`initialsOf`), as a notice names them. */
export async function pupilInitials(tx: Queryable, schoolId: string, misId: string): Promise<string> {
  return initialsOf(await pupilIdentity(tx, schoolId, misId));
}

/** After the commit: one `send-notice` job per notice (the job id is the notice's: queued once). */
export async function sendNotices(producer: Producer<DoorstepCatalog> | undefined, ids: readonly string[]) {
  for (const id of ids)
    await queueAfterCommit(() =>
      producer?.enqueue('send-notice', { noticeId: id }, { jobId: `send-notice-${id}` }),
    );
}

/**
 * The people out on the visit, by name, for a notice about them ("Sam Visitor and Pat Partner"); when
 * someone else recorded it (the office, for the worker who phoned), "(recorded by Olive Office)" —
 * never the clerk named as the one who arrived or is late.
 */
export async function whoIsOut(
  tx: Queryable,
  v: VisitRow,
  user: User,
): Promise<{ who: string; are: string }> {
  const names = await visitStaffNames(tx, v);
  const who = names.length ? names.join(' and ') : 'The worker';
  const onIt = onVisit(user, v);
  return {
    who: onIt ? who : `${who} (recorded by ${user.displayName})`,
    are: names.length > 1 ? 'are' : 'is',
  };
}
