import { schoolRules } from '../src/config/policy-packs.ts';
import { schoolOf } from '../src/config/school-of.ts';
import { londonDate } from '../src/domain/attendance/dates.ts';
import { type DoorstepCatalog, EVALUATION_CHUNK, type PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { changedPupilsOfChunk, markChunkEvaluated } from '../src/store/imports.ts';
import { type EvaluationReport, evaluateSchoolTriggers } from '../src/triggers/evaluate-school.ts';
import type { JobDeps } from './deps.ts';

/**
 * evaluate-triggers: after an import, exactly the pupils whose marks changed; nightly, every pupil
 * (so rate windows and "N unresolved after 5 days" move on with the calendar even without new marks).
 */
export async function evaluateTriggers(
  payload: PayloadOf<DoorstepCatalog, 'evaluate-triggers'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<EvaluationReport> {
  const school = schoolOf(deps.config, payload.schoolId, 'evaluate-triggers');
  // The packs were read and checked when the config was loaded; an edited pack needs a restart.
  const rules = schoolRules(deps.config, school);
  const now = deps.now();
  const report = await evaluateSchoolTriggers(deps.db, school, rules, {
    today: londonDate(now),
    now,
    pupilIds: payload.pupilIds?.length
      ? payload.pupilIds
      : payload.reason === 'import' && payload.importId !== undefined
        ? await changedPupilsOfChunk(deps.db, payload.importId, payload.chunk ?? 0, EVALUATION_CHUNK)
        : 'all',
    actor: `system:evaluate-triggers:${payload.reason}`,
  });
  // Evaluated, not only handed over: a sync hands a chunk over again until this is said of it.
  if (payload.reason === 'import' && payload.importId !== undefined)
    await markChunkEvaluated(deps.db, payload.importId, payload.chunk ?? 0);
  deps.log.info({ schoolId: school.id, reason: payload.reason, ...report }, 'triggers evaluated');
  // New trigger notes (raised, or an open episode's response risen) go out now rather than at the
  // relay's next tick.
  if (report.raised + report.escalated > 0 && deps.producer)
    await deps.producer.enqueue('relay-outbox', { reason: 'after-write' });
  return report;
}
