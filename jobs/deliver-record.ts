import { UnrecoverableError } from 'bullmq';
import { sinkOf, sinkSettingsNamed } from '../connectors/records/index.ts';
import { outboundRecord } from '../connectors/records/outbound.ts';
import { DELIVERY_JOB_TIMEOUT_MS } from '../connectors/records/settings.ts';
import { RecordDeliveryError } from '../connectors/records/types.ts';
import { findSchool, schoolOf } from '../src/config/school-of.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import { type JobRun, RetryLaterError } from '../src/queue/worker-host.ts';
import { claimDelivery, getOutbox, markAttempt, markDelivered, markFailed } from '../src/store/outbox.ts';
import type { JobDeps } from './deps.ts';

/** How many "come back later" answers a delivery waits out before the record is failed with an alert. */
export const MAX_COME_BACK_LATER = 100;
/** The least wait after one (`Retry-After: 0` or a date gone by would ask again at once, in a loop). */
export const MIN_COME_BACK_LATER_MS = 2_000;
/**
 * How long a delivery's claim on its record lasts (`claimDelivery`): past the job's timeout, so a
 * delivery still running is never joined by another, and a minute more, so a request stopped by a
 * shutdown or the timeout that still lands at the sink is found there by the next delivery.
 */
export const DELIVERY_CLAIM_MS = DELIVERY_JOB_TIMEOUT_MS + 60_000;

/**
 * deliver-record: one outbox record to its school's sink, under the record's idempotency key.
 * - each school host is rate-limited across processes (RetryLater, no try used);
 * - 429 waits as Retry-After says (no try used);
 * - 5xx, timeouts, resets retry with exponential backoff and jitter; the last try dead-letters loudly;
 * - 401/403/422 are not retried: the record is marked failed with the reason and an alert is raised;
 * - a 409 on a re-sent key counts as delivered (the response to the first try was lost).
 * Re-running the job for a delivered, failed or preview record, or a job of an earlier generation,
 * does nothing. The sink's requests follow the job's signal: a try stopped by the job timeout or a
 * shutdown sends nothing more (so it never sends alongside its own retry).
 * One delivery of a record at a time to a sink without an idempotency key (Arbor): each claims the
 * record first (`claimDelivery`), and a second delivery meanwhile — a job handed back at shutdown and
 * taken at once by another worker, a stalled-lock redelivery while the first still runs — comes back
 * later (RetryLater, no try used) instead of sending alongside it. A try stopped mid-request, or whose
 * write was sent and not answered (the sink's timeout, a reset, a 5xx: `mayHaveLanded`), keeps the
 * claim until it runs out: its request may still land, and is then found, not doubled — the last try
 * too, whose record is failed: a Retry from the data page meanwhile waits for the claim as well.
 */
export async function deliverRecord(
  payload: PayloadOf<DoorstepCatalog, 'deliver-record'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ status: string; remoteId?: string }> {
  const row = await getOutbox(deps.db, payload.outboxId);
  if (!row) return { status: 'missing' };
  if (row.status !== 'pending') return { status: row.status };
  // A job of an earlier generation (one the relay replaced, or a retried record's old job brought
  // back by hand) leaves the record to its current job.
  const generation = /^deliver-\d+-g(\d+)(?:-r1)?$/.exec(run.id)?.[1];
  if (generation !== undefined && Number(generation) !== row.generation) return { status: 'superseded' };
  // A first job brought back by hand after the relay queued its replacement (`-r1`, see relay-outbox):
  // the replacement delivers; two at once would post twice to a sink that keeps no idempotency key.
  if (
    generation !== undefined &&
    !run.id.endsWith('-r1') &&
    (await deps.producer.queueFor('deliver-record').getJob(`${run.id}-r1`))
  )
    return { status: 'superseded' };
  if (!findSchool(deps.config, row.schoolId))
    await markFailed(deps.db, row, `school ${row.schoolId} is no longer in the config`);
  const school = schoolOf(deps.config, row.schoolId, 'deliver-record');
  // A record written while the school was live (rows written in preview are kept as preview and never
  // reach here) but delivered after it went back to preview: not sent now, and never left to stand as
  // if it were a preview — a safeguarding record its school expected on CPOMS. Failed, with an alert
  // that says how to send it once the school is live again (the data page refuses its Retry till then).
  if (school.records.sink === 'preview') {
    const reason = `written while the school sent records to ${row.sink}, but the school's records are in preview now, so it was not sent: once the school is live again, press Retry on the data page (or \`doorstep outbox retry ${row.id}\`)`;
    await markFailed(deps.db, row, reason);
    throw new UnrecoverableError(reason);
  }
  // The row's own sink: the school's main one or one of its `alsoRecordTo` (each row is one sink's).
  const settings = sinkSettingsNamed(school, row.sink);
  if (!settings) {
    const reason = `sink ${row.sink} is no longer configured for school ${row.schoolId}`;
    await markFailed(deps.db, row, reason);
    throw new UnrecoverableError(reason);
  }
  const sink = sinkOf(settings);
  // The school host's rate limit first: a delivery told to wait has claimed nothing, so nothing is
  // left to let go (whether it waits, or the limiter cannot be asked at all).
  if (deps.limiter && 'ratePerSecond' in settings) {
    const wait = await deps.limiter.acquire(`${school.id}:${sink.host}`, settings.ratePerSecond);
    if (wait > 0) throw new RetryLaterError(wait, `rate limit for ${sink.host}`);
  }
  // A sink without an idempotency key (Arbor) gets one delivery of the record at a time. (CPOMS needs
  // no claim: a second delivery's key is answered 409 with the first one's incident — and a record
  // left claimed by a crashed worker would wait for the claim to run out.)
  const claimed = !sink.idempotent;
  if (claimed) {
    const claim = await claimDelivery(deps.db, row.id, row.generation, DELIVERY_CLAIM_MS);
    if (claim !== true) {
      // A verdict reached meanwhile (or a newer generation): nothing for this job to do.
      if (claim.status === 'not-live') return { status: claim.recordStatus };
      throw new RetryLaterError(
        Math.max(MIN_COME_BACK_LATER_MS, claim.waitMs),
        `record #${row.id} is being delivered by another job`,
      );
    }
  }
  try {
    const receipt = await sink.deliver(outboundRecord(row, settings), row.outwardKey, run.signal);
    await markDelivered(deps.db, row, receipt);
    if (!receipt.matched)
      deps.log.warn(
        { outboxId: row.id, schoolId: row.schoolId },
        'delivered unmatched: waits in the sink tray',
      );
    return { status: 'delivered', remoteId: receipt.remoteId };
  } catch (err) {
    // Anything else (a failure writing the verdict after the sink took the record, say) keeps the
    // claim until it runs out: the retry then finds what the sink holds.
    if (!(err instanceof RecordDeliveryError)) throw err;
    // A write sent and not answered may still be made at a sink without an idempotency key: its
    // claim outlives the verdict too (a Retry then waits for it, and finds the note instead).
    const keepClaim = claimed && err.mayHaveLanded;
    if (run.signal.aborted) {
      // Stopped by the job's timeout or a shutdown: no verdict here. The job is retried or handed
      // back; one that ends without a verdict is caught by relay-outbox (queued again, then failed).
      // The claim is kept: the request stopped may still land.
      await markAttempt(deps.db, row.id, err.message, { keepClaim: claimed });
      throw err;
    }
    if (err.advice.retry === 'never') {
      await markFailed(deps.db, row, err.message, { keepClaim });
      deps.log.error(
        { outboxId: row.id, schoolId: row.schoolId, status: err.status },
        'record refused: not retried',
      );
      throw new UnrecoverableError(err.message);
    }
    if (err.advice.retry === 'after') {
      // "Come back later" (a 429, a 503 maintenance window) uses no try, but not for ever: a sink that
      // answers so every time is failed loudly like any other, and never asked again at once.
      if (row.attempts + 1 >= MAX_COME_BACK_LATER) {
        await markFailed(
          deps.db,
          row,
          `still told to come back later after ${row.attempts + 1} tries: ${err.message}`,
          { keepClaim },
        );
        deps.log.error({ outboxId: row.id, schoolId: row.schoolId }, 'record dead-lettered');
        throw new UnrecoverableError(err.message);
      }
      await markAttempt(deps.db, row.id, err.message);
      throw new RetryLaterError(Math.max(MIN_COME_BACK_LATER_MS, err.advice.delayMs), err.message);
    }
    if (run.attempt >= run.maxAttempts) {
      await markFailed(
        deps.db,
        row,
        `gave up after ${run.attempt} tries: ${err.message}${err.mayHaveLanded ? ' (the last one may still have reached the sink: check it before resending)' : ''}`,
        { keepClaim },
      );
      deps.log.error({ outboxId: row.id, schoolId: row.schoolId }, 'record dead-lettered');
    } else {
      // A write sent and then not answered (the sink's own timeout, a reset, a 5xx): the claim is kept
      // until it runs out, so the retry waits (no try used) and then finds the note instead of writing
      // a second one. One that never left (connection refused, a name not found) is retried at once.
      await markAttempt(deps.db, row.id, err.message, { keepClaim });
    }
    throw err;
  }
}
