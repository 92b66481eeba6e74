import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { appendAudit, auditEntryFor } from '../src/store/audit.ts';
import type { JobDeps } from './deps.ts';

/**
 * Heartbeat: proves the whole path (scheduler → Redis → worker → Postgres) works. One audit entry
 * per beat. Idempotent per job id: a retried beat that already wrote its entry writes nothing more.
 */
export async function heartbeat(
  payload: PayloadOf<DoorstepCatalog, 'heartbeat'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ auditId: string | null }> {
  return deps.db.transaction(async (tx) => {
    const earlier = await auditEntryFor(tx, 'heartbeat', 'job', run.id);
    if (earlier !== undefined) return { auditId: earlier };
    const auditId = await appendAudit(tx, {
      actor: 'system:heartbeat',
      action: 'heartbeat',
      schoolId: payload.schoolId ?? null,
      entityType: 'job',
      entityId: run.id,
      after: {
        source: payload.source,
        instance: deps.instance,
        at: deps.now().toISOString(),
        attempt: run.attempt,
      },
    });
    return { auditId };
  });
}
