import type { Queue } from 'bullmq';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { failStaleNotices, noticesToRelay } from '../src/store/notices.ts';
import { markEnqueued, markLost, markRequeued, outboxInFlight, outboxToRelay } from '../src/store/outbox.ts';
import { DELIVERY_CLAIM_MS } from './deliver-record.ts';
import type { JobDeps } from './deps.ts';

/**
 * relay-outbox: the outbox pattern's relay. Every live record gets one delivery job per generation
 * (job id `deliver-ID-gN`), so a record written in a transaction is never lost between the commit
 * and the queue, and re-running the relay adds nothing. Runs every few seconds and after writes.
 * It also queues notices that were written but never tried (older than 10 s, not yet attempted).
 *
 * A delivery job can also end without a verdict on its record: its worker killed twice in flight
 * (BullMQ fails it as stalled), its last try stopped by the job timeout, or the job gone from Redis.
 * The record would then stay `pending` for ever. So each scheduled or manual run also looks at the
 * job of every live record already queued: while it waits, runs or is delayed, nothing is done (a
 * second job never runs beside a live first one). Once it has ended without a verdict, the record is
 * queued once more under `deliver-ID-gN-r1` (a fresh job id; the sink's idempotency key is unchanged,
 * so CPOMS answers a re-send with its 409); if that one ends without a verdict too, the record is
 * marked failed with an alert, for Retry on the data page (or `outbox retry` / `resend-failed`) once
 * the cause is found — held as being sent for a delivery's claim more (`markLost`), as either job may
 * still be running.
 */
export async function relayOutbox(
  payload: PayloadOf<DoorstepCatalog, 'relay-outbox'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ enqueued: number; notices: number; requeued: number; lost: number }> {
  let enqueued = 0;
  // Notices never tried: queued again under their own job id (a job still waiting is not doubled).
  // Notices tried and stuck for an hour: their job is gone, so a new one — once an hour, under the
  // hour's id (a send already made is not made again: each recipient's receipt is kept).
  await failStaleNotices(deps.db);
  const notices = await noticesToRelay(deps.db, 10_000, 500);
  const hour = Math.floor(deps.now().getTime() / 3_600_000);
  for (const { id, stuck } of notices) {
    if (stuck)
      await deps.producer.enqueue(
        'send-notice',
        { noticeId: id },
        { jobId: `send-notice-${id}-stuck-${hour}` },
      );
    // Never tried, yet its job may have used every try (failing before its first recorded one: the
    // database away) and be kept failed: run again, its tries afresh (none reached the channel).
    else
      await deps.producer.rerun('send-notice', { noticeId: id }, `send-notice-${id}`, { freshTries: true });
  }
  for (;;) {
    const batch = await outboxToRelay(deps.db, 500);
    if (batch.length === 0) break;
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
  // After a write only new records matter; the sweep runs with the schedule (every 5 s).
  const swept =
    payload.reason === 'after-write' ? { requeued: 0, lost: 0 } : await sweepLost(deps, run.signal);
  return { enqueued, notices: notices.length, ...swept };
}

/** How a delivery job ended (`missing`: not in the queue at all), or undefined while it is alive. */
async function endOf(queue: Queue, jobId: string): Promise<{ missing: boolean; why: string } | undefined> {
  const job = await queue.getJob(jobId);
  if (job && !job.finishedOn) return undefined; // waiting, delayed or running
  // Finished or missing: read once more, atomically, so a job that just moved is not taken for lost.
  const state = await queue.getJobState(jobId);
  if (state === 'unknown') return { missing: true, why: 'it is no longer in the queue' };
  if (state === 'completed') return { missing: false, why: 'it completed without delivering' };
  if (state !== 'failed') return undefined;
  // Fixed words only: a failure's own text is for the worker log, not the record.
  const reason = job?.failedReason ?? '';
  if (reason.includes('stalled')) return { missing: false, why: 'its worker stopped while delivering it' };
  if (/exceeded its \d+ ms timeout/.test(reason))
    return { missing: false, why: 'its last try ran past the job timeout' };
  return { missing: false, why: 'it failed without reaching a verdict' };
}

/**
 * Live records whose delivery job ended without a verdict: queued once more, then failed loudly.
 * A batch's jobs are looked up together (one round trip's wait for the batch, not one per record:
 * thousands wait while CPOMS is down), and a sweep stopped by its job's timeout or a shutdown stops
 * between batches.
 */
async function sweepLost(deps: JobDeps, signal: AbortSignal): Promise<{ requeued: number; lost: number }> {
  const queue = deps.producer.queueFor('deliver-record');
  let requeued = 0;
  let lost = 0;
  let after = '0';
  for (;;) {
    if (signal.aborted) return { requeued, lost };
    const batch = await outboxInFlight(deps.db, after, 500);
    const ends = await Promise.all(
      batch.map(async (r) => {
        const first = `deliver-${r.id}-g${r.generation}`;
        const firstEnd = await endOf(queue, first);
        return { first, firstEnd, againEnd: firstEnd && (await endOf(queue, `${first}-r1`)) };
      }),
    );
    for (const [i, r] of batch.entries()) {
      const { first, firstEnd, againEnd } = ends[i]!;
      if (firstEnd === undefined || againEnd === undefined) continue;
      const again = `${first}-r1`;
      if (againEnd.missing) {
        // Not queued again yet (or that job vanished too): the fixed id keeps this to one job.
        await deps.producer.enqueue('deliver-record', { outboxId: r.id }, { jobId: again });
        await markRequeued(
          deps.db,
          r,
          `delivery job ${first} ended: ${firstEnd.why}; queued again as ${again}`,
        );
        deps.log.warn(
          { outboxId: r.id, schoolId: r.schoolId, jobId: first },
          'delivery job lost: queued again',
        );
        requeued++;
      } else {
        await markLost(
          deps.db,
          r,
          `delivery jobs ${first} and ${again} both ended without a verdict (${firstEnd.why}; then ${againEnd.why}); check ${r.sink} for the record before resending`,
          // A job failed as stalled may still be sending it, its request still landing: a Retry
          // waits so long before it posts to Arbor again, and a dismissal until it cannot arrive.
          DELIVERY_CLAIM_MS,
        );
        deps.log.error(
          { outboxId: r.id, schoolId: r.schoolId, jobId: again },
          'delivery job lost twice: record failed',
        );
        lost++;
      }
    }
    if (batch.length < 500) return { requeued, lost };
    after = batch.at(-1)!.id;
  }
}
