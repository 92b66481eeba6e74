import { schoolRules } from '../config/policy-packs.ts';
import { schoolOf } from '../config/school-of.ts';
import { isIsoDate, londonDate } from '../domain/attendance/dates.ts';
import { doorstepError } from '../errors.ts';
import { listEpisodes } from '../store/triggers.ts';
import { findingsFor } from '../triggers/evaluate-school.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';

export interface TriggersOptions {
  config: string;
  school: string;
  date?: string;
  pupil?: string;
  explain?: boolean;
}

/**
 * `doorstep triggers`: the open triggers of a school (optionally one pupil); with `--explain`, for
 * one pupil on a date, every rule, whether it fired, and its evidence. Reads only.
 */
export async function triggersCommand(
  opts: TriggersOptions,
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const { config } = deps;
  const school = schoolOf(config, opts.school, '--school');
  if (opts.date && !isIsoDate(opts.date))
    throw doorstepError('USAGE', `--date: expected YYYY-MM-DD, got "${opts.date}"`);
  if (opts.explain && !opts.pupil) throw doorstepError('USAGE', '--explain needs --pupil ID');
  const today = opts.date ?? londonDate(new Date());
  return deps.withStore(async (db) => {
    if (opts.explain) {
      const rules = schoolRules(config, school);
      const found = (await findingsFor(db, school, rules, [opts.pupil!], today, true)).get(opts.pupil!);
      if (!found) throw doorstepError('USAGE', `--pupil: no pupil "${opts.pupil}" at ${school.id}`);
      out(
        `${school.id} pupil ${opts.pupil} on ${today}: ${found.findings.filter((f) => f.fired).length} of ${found.findings.length} rules fire`,
      );
      for (const f of found.findings) {
        out(`${f.fired ? 'FIRES' : 'no   '} ${f.ruleKey}: ${f.title}`);
        out(`      ${f.explanation}`);
        if (f.fired) out(`      → ${f.action} by ${f.role}; evidence ${JSON.stringify(f.evidence)}`);
      }
      return 0;
    }
    const episodes = await listEpisodes(db, school.id, {
      status: 'open',
      ...(opts.pupil ? { pupilId: opts.pupil } : {}),
    });
    const shown = episodes.filter((e) => e.openedOn <= today);
    out(`${school.id}: ${shown.length} open trigger(s)${opts.pupil ? ` for pupil ${opts.pupil}` : ''}`);
    for (const e of shown) {
      out(`  #${e.id} pupil ${e.pupilMisId}  ${e.ruleKey}  since ${e.openedOn}  → ${e.action} by ${e.role}`);
      out(`      ${e.explanation}`);
    }
    return 0;
  });
}
