import type { SchoolConfig } from '../config/schema.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import { pupilIdentity } from '../store/pupils.ts';

/**
 * Notices about a visit to the people the school names (`notices` in its config): written in the
 * caller's transaction (so a notice exists exactly when its change does), sent by `send-notice` jobs
 * queued after the commit. The text names the pupil by initials only (it leaves Doorstep by SMS or
 * e-mail); the visit number leads the reader to everything else, signed in.
 */
export type VisitNoticeKind =
  | 'child-not-seen'
  | 'cancelled'
  | 'changed'
  | 'concern'
  | 'incident'
  | 'outcome-missing'
  | 'family';

export async function pupilInitials(tx: Queryable, schoolId: string, misId: string): Promise<string> {
  const p = await pupilIdentity(tx, schoolId, misId);
  return p ? [p.forename, p.surname].map((x) => (x ? `${x[0]}.` : '')).join('') : '';
}

export async function noticeAboutVisit(
  tx: Queryable,
  n: {
    school: SchoolConfig;
    kind: VisitNoticeKind;
    visitId: string | null;
    targets: readonly string[];
    subject: string;
    text: string;
    /** Tells apart several notices of one kind on one visit (each change, each concern). */
    key?: string;
  },
): Promise<string[]> {
  return insertNotices(tx, {
    schoolId: n.school.id,
    kind: n.kind,
    visitId: n.visitId,
    targets: n.targets,
    subject: n.subject,
    text: n.text,
    ...(n.key !== undefined ? { key: n.key } : {}),
  });
}

/** After the commit: one `send-notice` job per notice (the job id is the notice's: queued once). */
export async function sendNotices(producer: Producer<DoorstepCatalog> | undefined, ids: readonly string[]) {
  for (const id of ids)
    await producer?.enqueue('send-notice', { noticeId: id }, { jobId: `send-notice-${id}` });
}
