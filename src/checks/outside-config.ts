import type { CheckResult } from '../core/checks.ts';
import type { Queryable } from '../store/db.ts';
import { watchedOutsideConfig } from '../store/visit-watch.ts';

/** Per school id the config no longer holds: its workers out and alarms not resolved. */
export type OutsideConfig = Awaited<ReturnType<typeof watchedOutsideConfig>>;

/**
 * What is said of workers out and alarms open at schools the config no longer holds (a school
 * removed, or its id renamed, while they were open): school ids and counts only — no names, no
 * visits, no people. The same words in `doorstep check`, `/readyz` and the start's log.
 */
export function outsideConfigWords(orphans: OutsideConfig): string {
  return `${orphans.map((o) => `school "${o.schoolId}" is not in the config but has ${o.visitsOut} worker(s) out and ${o.openAlarms} alarm(s) open`).join('; ')} — they are watched and paged as the \`trust.orphansTo\` school's (its rules, ladders, channels and board), not as their own school's: put the school back in the config until they are back and the alarms closed`;
}

/** The message logged (with `{ schools }`) when there are such schools. */
export const OUTSIDE_CONFIG_LOG =
  "workers out or alarms open at schools not in the config: watched and paged as the trust.orphansTo school's, not their own — put the school back in the config (doorstep check names them)";

/**
 * The check `/readyz` runs (named `watch`): a warning while any worker is out, or alarm open, at a
 * school the config does not hold — never a readiness failure: the same web process serves every
 * other school's board, phone pages and fob webhooks, and a load balancer that took it out of
 * service would turn one removed school into a trust-wide outage of alarms coming in.
 */
export async function outsideConfigCheck(db: Queryable, schoolIds: readonly string[]): Promise<CheckResult> {
  const orphans = await watchedOutsideConfig(db, schoolIds);
  return orphans.length
    ? { name: 'watch', ok: true, warning: true, detail: outsideConfigWords(orphans) }
    : { name: 'watch', ok: true, detail: 'every worker out and alarm open is at a school in the config' };
}
