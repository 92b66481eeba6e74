import { misSourceFor } from '../connectors/mis/index.ts';
import { safeText } from '../connectors/mis/safe-text.ts';
import { schoolOf } from '../src/config/school-of.ts';
import { retentionFor } from '../src/config/sections/retention.ts';
import { decideEvaluationHandOver, type JobStanding } from '../src/domain/triggers/evaluation-hand-over.ts';
import { describeError } from '../src/errors.ts';
import type { ImportSummary } from '../src/import/apply-unit.ts';
import { type SyncReport, syncJobId, syncSchool } from '../src/import/sync-school.ts';
import { withoutQuotedData } from '../src/log/redact.ts';
import { type DoorstepCatalog, EVALUATION_CHUNK, type PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import {
  changedPupilsCount,
  evaluationsNotDone,
  giveUpEvaluation,
  importsAwaitingEvaluation,
  markEvaluationEnqueued,
  markEvaluationHandedAgain,
} from '../src/store/imports.ts';
import { noteSyncFailed, noteSyncWorked } from '../src/store/sync-status.ts';
import type { JobDeps } from './deps.ts';

/** Pupils per evaluation job: an import that changes more is handed over in several jobs. */

/**
 * Hands an applied import's changed pupils to trigger evaluation, `EVALUATION_CHUNK` pupils a job (a
 * whole-school CTF can change more than one job may carry: one refused hand-over would be retried
 * before every later sync, and no file read again). Each job id is derived from the import and its
 * chunk, so a repeat (after a crash between commit and enqueue) adds nothing; the import row
 * remembers it was handed over.
 */
export async function enqueueEvaluation(
  deps: Pick<JobDeps, 'db' | 'producer'>,
  schoolId: string,
  importId: string,
): Promise<number> {
  // Chunks of the list's places: an erased pupil's place is kept (empty), so each chunk always means
  // the same pupils.
  const { places, pupils } = await changedPupilsCount(deps.db, importId);
  for (let n = 0; n * EVALUATION_CHUNK < places; n++) {
    await deps.producer.enqueue(
      'evaluate-triggers',
      { schoolId, importId, chunk: n, reason: 'import' },
      { jobId: evaluationJobId(importId, n) },
    );
  }
  await markEvaluationEnqueued(deps.db, importId);
  return pupils;
}

/** The one job id of an import's evaluation chunk. */
function evaluationJobId(importId: string, chunk: number): string {
  return chunk === 0 ? `evaluate-import-${importId}` : `evaluate-import-${importId}-${chunk}`;
}

/**
 * How long a sync hands over again an import's chunks not evaluated, counted from the first time one
 * did (not from the import). The safeguarding team relies on every import's pupils being evaluated
 * soon, so an evaluation gets a full day of tries, and time its jobs could not run does not give it
 * up: a sync only runs with the queue there, so an import applied while Redis was away a whole day —
 * never handed over — is handed over once the queue is back, and only then does its day start; a
 * sync that finds a chunk's job lost (Redis flushed, or back without its data) starts the day again
 * then; and a job is judged by when it failed, not by when a sync looks at it — one that failed within
 * the day is handed over again with its tries afresh however late the next sync comes (Redis away a
 * day after it failed, say), and one not yet tried (still waiting its turn in a queue backed up, or
 * Redis back with its jobs) is let run first. Past the day the nightly all-pupil run has had its turn
 * (it evaluates every pupil), and a chunk whose job failed every time must not hold the one-at-a-time
 * triggers queue (every school's evaluations) and fill the log for ever: once its job has failed a
 * day or more after the day started, the evaluation is given up, said once in the log and on the
 * data page (`evaluationsGivenUp`). A job of it still running then that finishes counts as evaluated.
 * The day is not started again while a job waits untried: a queue backed up at every sync would
 * otherwise put the give-up off for ever.
 */
export const REHAND_OVER_FOR_MS = 24 * 60 * 60_000;

/**
 * Hands trigger evaluation what it does not hold: imports not handed over (a crash between the
 * commit and the hand-over, or the queue away), and the chunks of imports handed over and still not
 * evaluated whose job will not run by itself — it used all its tries within its day (the database
 * away for minutes) or was lost with Redis — run again with their tries afresh (see
 * `REHAND_OVER_FOR_MS` for the day). A chunk's job still waiting or running is left alone, one that
 * failed past the day is not run again, and nothing is given up while a job is due to run again, lost
 * or not yet tried.
 */
export async function handOverEvaluations(
  deps: Pick<JobDeps, 'db' | 'producer' | 'log' | 'now'>,
  schoolId: string,
) {
  for (const importId of await importsAwaitingEvaluation(deps.db, schoolId)) {
    await enqueueEvaluation(deps, schoolId, importId);
  }
  const now = deps.now();
  for (const { importId, chunks, retriedFrom } of await evaluationsNotDone(
    deps.db,
    schoolId,
    EVALUATION_CHUNK,
  )) {
    const standing = new Map<number, JobStanding>();
    for (const chunk of chunks)
      standing.set(
        chunk,
        await deps.producer.standing('evaluate-triggers', evaluationJobId(importId, chunk)),
      );
    const decision = decideEvaluationHandOver(standing, retriedFrom, REHAND_OVER_FOR_MS);
    if (decision.giveUp) {
      // Re-checked in the update: the window still started a day or more before each failure.
      const { startedBy } = decision.giveUp;
      const left = await giveUpEvaluation(deps.db, schoolId, importId, EVALUATION_CHUNK, startedBy, now);
      if (left)
        deps.log.warn(
          { schoolId, importId, chunks: left },
          'trigger evaluation of an import given up after 24 h of hand-overs: its pupils are left to the nightly run',
        );
      continue;
    }
    let handedAgain = false;
    let lost = false;
    for (const chunk of decision.rerun) {
      const rerun = await deps.producer.rerun(
        'evaluate-triggers',
        { schoolId, importId, chunk, reason: 'import' },
        evaluationJobId(importId, chunk),
        { freshTries: true },
      );
      if (rerun === 'queued') {
        handedAgain = true;
        lost ||= decision.restartDayWith.includes(chunk);
        deps.log.warn(
          { schoolId, importId, chunk, job: standing.get(chunk)?.is },
          'trigger evaluation of an import handed over again',
        );
      }
    }
    // A lost job queued again: its tries in the day went with it, and the day starts now.
    if (handedAgain) await markEvaluationHandedAgain(deps.db, importId, now, { restart: lost });
  }
}

/**
 * sync-attendance: one school's MIS into the store, then trigger evaluation for exactly the pupils
 * whose marks changed. Imports left un-handed-over by an earlier crash, and those whose evaluation gave
 * up, are handed over first.
 */
export async function syncAttendance(
  payload: PayloadOf<DoorstepCatalog, 'sync-attendance'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<{ applied: number; refused: number; changedPupils: number; settling?: number }> {
  const school = schoolOf(deps.config, payload.schoolId, 'sync-attendance');
  // A scheduled run becomes the school's one sync job (the id the watcher and "Sync now" use), so
  // two syncs of a school never run at once, in any process: a job scheduler's job cannot carry it.
  if (payload.reason === 'schedule' && !payload.handedOver && deps.producer) {
    await deps.producer.enqueue(
      'sync-attendance',
      { schoolId: school.id, reason: 'schedule', handedOver: true },
      { deduplicationId: syncJobId(school.id), rerunIfActive: true },
    );
    return { applied: 0, refused: 0, changedPupils: 0 };
  }
  await handOverEvaluations(deps, school.id);
  const source = misSourceFor(school, deps.now, deps.misHttp);
  let report: SyncReport;
  try {
    report = await syncSchool(deps.db, school, source, {
      now: deps.now,
      actor: `system:sync-attendance:${payload.reason}`,
      writePace: deps.config.imports,
      leaverDataDays: retentionFor(deps.config.retention, school.id).leaverDataDays,
      onApplied: async (summary: ImportSummary) => {
        if (summary.importId) await enqueueEvaluation(deps, school.id, summary.importId);
      },
    });
  } catch (err) {
    // Said on the data page until a sync works again: the job's retries and its log are not seen
    // by a data manager, and a sync failing every time stops every trigger of the school.
    const reason = safeText(describeError(withoutQuotedData(err)));
    await noteSyncFailed(deps.db, school.id, deps.now(), reason).catch((e: unknown) =>
      deps.log.error({ err: e, schoolId: school.id }, 'could not record the failed sync'),
    );
    throw err;
  }
  await noteSyncWorked(deps.db, school.id, deps.now());
  for (const r of report.refused) {
    deps.log.warn({ schoolId: school.id, unit: r.unit, error: r.reason }, 'import refused and quarantined');
  }
  for (const r of report.left) {
    deps.log.warn(
      { schoolId: school.id, unit: r.unit, error: r.reason },
      'file left in the drop folder for the next sync (changed during its import, or it could not be moved)',
    );
  }
  const changed = new Set(report.applied.flatMap((s) => s.changedPupils));
  // Files still being written when the folder was read: the data page says they come in seconds.
  const settling = source.stillWriting?.().length ?? 0;
  deps.log.info(
    {
      schoolId: school.id,
      applied: report.applied.length,
      refused: report.refused.length,
      leftForNextSync: report.left.length,
      stillBeingWritten: settling,
      changedPupils: changed.size,
      // A count only: the marks (pupil, date, line) are on the import record for the data page.
      marksOnClosedDays: report.applied.reduce((n, s) => n + s.calendarProblems.count, 0),
    },
    'attendance synced',
  );
  return {
    applied: report.applied.length,
    refused: report.refused.length,
    changedPupils: changed.size,
    ...(settling ? { settling } : {}),
  };
}
