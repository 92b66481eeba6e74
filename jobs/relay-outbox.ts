import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { noticesToRelay } from '../src/store/notices.ts';
import { markEnqueued, outboxToRelay } from '../src/store/outbox.ts';
import type { JobDeps } from './deps.ts';

/**
 * relay-outbox: the outbox pattern's relay. Every live record gets one delivery job per generation
 * (job id `deliver-ID-gN`), so a record written in a transaction is never lost between the commit
 * and the queue, and re-running the relay adds nothing. Runs every few seconds and after writes.
 * It also queues notices that were written but never tried (older than 10 s, not yet attempted).
 */
export async function relayOutbox(
  _payload: PayloadOf<DoorstepCatalog, 'relay-outbox'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<{ enqueued: number; notices: number }> {
  let enqueued = 0;
  // Notices never tried: queued again under their own job id (a job still waiting is not doubled).
  const notices = await noticesToRelay(deps.db, 10_000, 500);
  for (const id of notices)
    await deps.producer.enqueue('send-notice', { noticeId: id }, { jobId: `send-notice-${id}` });
  for (;;) {
    const batch = await outboxToRelay(deps.db, 500);
    if (batch.length === 0) return { enqueued, notices: notices.length };
    for (const r of batch) {
      await deps.producer.enqueue(
        'deliver-record',
        { outboxId: r.id },
        { jobId: `deliver-${r.id}-g${r.generation}` },
      );
      await markEnqueued(deps.db, r.id, r.generation);
      enqueued++;
    }
  }
}
