import { schoolOf } from '../src/config/school-of.ts';
import { retentionFor } from '../src/config/sections/retention.ts';
import { purgeDropFiles } from '../src/import/drop-retention.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { appendAudit } from '../src/store/audit.ts';
import { finishPurgeRun, startPurgeRun } from '../src/store/purge-runs.ts';
import { purgeSchool } from '../src/store/retention.ts';
import type { JobDeps } from './deps.ts';

/**
 * Purge: applies one school's retention (`retention:` in the config) in bounded batches, on the
 * maintenance queue (never the alarm path), and records what it removed — counts per kind, nothing
 * else — for the data page, /metrics and the audit.
 */
export async function purge(
  payload: PayloadOf<DoorstepCatalog, 'purge'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ removed: Record<string, number>; complete: boolean; leaversWaitingForRecords: number }> {
  const school = schoolOf(deps.config, payload.schoolId, 'purge');
  const now = deps.now();
  const periods = retentionFor(deps.config.retention, school.id);
  const runId = await startPurgeRun(deps.db, school.id, now);
  try {
    const result = await purgeSchool(
      deps.db,
      {
        schoolId: school.id,
        now,
        periods,
        trustAuditDetailDays: deps.config.retention.auditDetailDays,
        batchSize: deps.config.retention.batchSize,
        maxRowsPerRun: deps.config.retention.maxRowsPerRun,
      },
      run.signal,
    );
    const dropFolder = (school.mis as { dropFolder?: string }).dropFolder;
    if (dropFolder) {
      const cutoff = new Date(now.getTime() - periods.dropFileDays * 86_400_000);
      const files = await purgeDropFiles(dropFolder, cutoff, cutoff.toISOString().slice(0, 10));
      if (files) result.removed['drop-files'] = files;
    }
    await finishPurgeRun(deps.db, runId, deps.now(), result);
    // Leavers whose erasure waits for their records to be delivered: counted in the log, the audit and
    // the job's result, never named (an audit entry outlives the pupil's erasure).
    const { leaversWaiting, ...report } = result;
    const outcome = { ...report, leaversWaitingForRecords: leaversWaiting.length };
    await appendAudit(deps.db, {
      actor: 'system:purge',
      action: 'retention.purged',
      schoolId: school.id,
      entityType: 'purge_run',
      entityId: runId,
      after: outcome,
    });
    if (leaversWaiting.length)
      deps.log.warn(
        // How many, never who: a CTF school's pupil id is the UPN (`doorstep outbox list` shows the records).
        { school: school.id, pupilsWaiting: leaversWaiting.length },
        'leavers past their data period not erased this run: records about them are not yet delivered to CPOMS / Arbor (waiting or failed); erased by a later run once they are — see `doorstep outbox list`',
      );
    deps.log.info({ school: school.id, removed: result.removed, complete: result.complete }, 'purge done');
    return outcome;
  } catch (err) {
    await finishPurgeRun(deps.db, runId, deps.now(), { error: (err as Error).message, removed: {} }).catch(
      () => {},
    );
    throw err;
  }
}
