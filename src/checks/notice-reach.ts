import type { SchoolConfig } from '../config/schema.ts';
import { FAMILY } from '../notify/channel.ts';
import { targetReach } from './target-reach.ts';

/**
 * Each `notices` target of a school that reaches no one: its channel is not configured, or its
 * contacts group is missing (a typo: `dsl` for `dsls`), empty, or holds no phone number (a text) or
 * e-mail address (an e-mail). Such a notice fails when it is sent — a child not seen, a concern —
 * and no one hears of it. `visiting-staff` and `family` are found with the visit, not in the config.
 */
export function noticeTargetGaps(s: SchoolConfig): string[] {
  const { outcomeMissing, familySms: _words, ...lists } = s.notices;
  const settings: [string, readonly string[]][] = [
    ...Object.entries(lists).map(([kind, targets]) => [`notices.${kind}`, targets] as [string, string[]]),
    ...(outcomeMissing
      ? ([
          ['notices.outcomeMissing.visitors', outcomeMissing.visitors],
          ['notices.outcomeMissing.escalateTo', outcomeMissing.escalateTo],
        ] as [string, string[]][])
      : []),
  ];
  const out: string[] = [];
  for (const [path, targets] of settings)
    for (const target of new Set(targets)) {
      const problem = targetProblem(s, target);
      if (problem) out.push(`${path} notifies ${target}, but ${problem}: no one hears of it`);
    }
  return out;
}

/** Why a notice target reaches no one (`targetReach`); `family` is found with the visit, not judged here. */
function targetProblem(s: SchoolConfig, target: string): string | undefined {
  if (target.split(':')[1] === FAMILY) return undefined;
  const reach = targetReach(s, target);
  return reach.reaches === 'no-one' ? reach.why : undefined;
}
