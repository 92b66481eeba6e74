import { schoolOf } from '../config/school-of.ts';
import { isIsoDate } from '../domain/attendance/dates.ts';
import { doorstepError } from '../errors.ts';
import { pupilExists } from '../store/pupils.ts';
import { recordLeaveRefusal } from '../store/triggers.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';
import { withProducerIfReachable } from './queue-handover.ts';

/**
 * `doorstep leave-refused`: records that the school refused term-time leave for a period, so
 * illness reported during it is flagged (audited; re-recording the same period changes nothing).
 */
export async function leaveRefusedCommand(
  opts: { config: string; school: string; pupil: string; from: string; to: string; by?: string },
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const { config } = deps;
  const school = schoolOf(config, opts.school, '--school');
  for (const [name, v] of [
    ['--from', opts.from],
    ['--to', opts.to],
  ] as const) {
    if (!isIsoDate(v)) throw doorstepError('USAGE', `${name}: expected YYYY-MM-DD, got "${v}"`);
  }
  if (opts.to < opts.from) throw doorstepError('USAGE', `--to (${opts.to}) is before --from (${opts.from})`);
  return deps.withStore(async (db) => {
    if (!(await pupilExists(db, school.id, opts.pupil)))
      throw doorstepError('USAGE', `--pupil: no pupil "${opts.pupil}" at ${school.id}`);
    const id = await db.transaction((tx) =>
      recordLeaveRefusal(tx, {
        schoolId: school.id,
        pupilMisId: opts.pupil,
        from: opts.from,
        to: opts.to,
        recordedBy: opts.by ?? 'cli',
      }),
    );
    out(
      id
        ? `${school.id}: leave refusal #${id} recorded for pupil ${opts.pupil}, ${opts.from} to ${opts.to}`
        : `${school.id}: already recorded`,
    );
    const line = await withProducerIfReachable(
      config,
      async (producer) => {
        // The school's pupils (a job carries no pupil id: personal data in Redis).
        await producer.enqueue('evaluate-triggers', { schoolId: school.id, reason: 'manual' });
        return `trigger evaluation queued for ${school.id} (pupil ${opts.pupil} with the rest)`;
      },
      'the nightly run evaluates it',
    );
    out(line);
    return 0;
  });
}
