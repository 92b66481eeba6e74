import { loadPolicyPacks, rulesForSchool } from '../src/config/policy-packs.ts';
import { londonDate } from '../src/domain/attendance/dates.ts';
import { doorstepError } from '../src/errors.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobDeps } from '../src/queue/deps.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { type EvaluationReport, evaluateSchoolTriggers } from '../src/triggers/evaluate-school.ts';

/**
 * evaluate-triggers: after an import, exactly the pupils whose marks changed; nightly, every pupil
 * (so rate windows and "N unresolved after 5 days" move on with the calendar even without new marks).
 */
export async function evaluateTriggers(
  payload: PayloadOf<DoorstepCatalog, 'evaluate-triggers'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<EvaluationReport> {
  const school = deps.config.schools.find((s) => s.id === payload.schoolId);
  if (!school)
    throw doorstepError('USAGE', `evaluate-triggers: no school "${payload.schoolId}" in the config`);
  const { rules, problems } = rulesForSchool(school, loadPolicyPacks(deps.config.policiesDir));
  if (problems.length)
    throw doorstepError(
      'CONFIG_INVALID',
      `school ${school.id}: ${problems.map((p) => p.message).join('; ')}`,
    );
  const now = deps.now();
  const report = await evaluateSchoolTriggers(deps.db, school, rules, {
    today: londonDate(now),
    now,
    pupilIds: payload.reason === 'nightly' ? 'all' : payload.pupilIds,
    actor: `system:evaluate-triggers:${payload.reason}`,
  });
  deps.log.info({ schoolId: school.id, reason: payload.reason, ...report }, 'triggers evaluated');
  // New trigger notes go out now rather than at the relay's next tick.
  if (report.raised > 0 && deps.producer)
    await deps.producer.enqueue('relay-outbox', { reason: 'after-write' });
  return report;
}
