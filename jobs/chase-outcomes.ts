import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { insertNotices, visitsAwaitingOutcome } from '../src/store/notices.ts';
import { pupilInitials, sendNotices } from '../src/visits/visit-notices.ts';
import type { JobDeps } from './deps.ts';

const HOUR = 3_600_000;

/**
 * chase-outcomes: a visit back without its outcome is never left: after the school's
 * `notices.outcomeMissing.afterHours` the people on the visit are asked for it, after twice that
 * the people the school names (e.g. the DSL). Each notice once per visit (its key), so the
 * five-minute schedule never repeats one.
 */
export async function chaseOutcomes(
  _payload: PayloadOf<DoorstepCatalog, 'chase-outcomes'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<{ chased: number }> {
  const now = deps.now().getTime();
  let chased = 0;
  for (const school of deps.config.schools) {
    const chase = school.notices.outcomeMissing;
    if (!chase) continue;
    const after = chase.afterHours * HOUR;
    const waiting = await visitsAwaitingOutcome(deps.db, school.id, new Date(now - after));
    for (const v of waiting) {
      const ids = await deps.db.transaction(async (tx) => {
        const initials = await pupilInitials(tx, school.id, v.pupilMisId);
        const hours = Math.floor((now - v.returnedAt.getTime()) / HOUR);
        const late = now - v.returnedAt.getTime() >= 2 * after;
        const about = `home visit #${v.id}${initials ? ` (pupil ${initials})` : ''}`;
        return [
          ...(await insertNotices(tx, {
            schoolId: school.id,
            kind: 'outcome-missing',
            visitId: v.id,
            key: 'visitors',
            targets: chase.visitors,
            subject: `outcome needed: ${about}`,
            text: `You are back from ${about} but its outcome is not recorded. Record it in Doorstep now: was the child seen?`,
          })),
          ...(late
            ? await insertNotices(tx, {
                schoolId: school.id,
                kind: 'outcome-missing',
                visitId: v.id,
                key: 'escalated',
                targets: chase.escalateTo,
                subject: `no outcome ${hours} h after ${about}`,
                text: `${about} came back ${hours} hours ago and still has no outcome recorded: nobody has said whether the child was seen. Please follow it up.`,
              })
            : []),
        ];
      });
      chased += ids.length;
      await sendNotices(deps.producer, ids);
    }
  }
  return { chased };
}
