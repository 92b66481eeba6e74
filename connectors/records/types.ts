import type { CheckResult } from '../../src/core/checks.ts';
import type { RecordKind } from '../../src/domain/records.ts';
import { DoorstepError, ERRORS } from '../../src/errors.ts';

/** A record as a sink receives it: rendered text, the pupils it concerns, and its category. */
export interface OutboundRecord {
  outboxId: string;
  schoolId: string;
  kind: RecordKind;
  pupils: { misId: string; upn: string | null }[];
  title: string;
  body: string;
  occurredAt: Date;
  /**
   * The sink's category for this kind (per school in config); null for a sink whose records carry none
   * (an Arbor note has no category: `NO_CATEGORY`).
   */
  category: string | null;
}

export interface DeliveryReceipt {
  remoteId: string;
  /** The sink already had this idempotency key (e.g. CPOMS 409): delivered earlier. */
  duplicate: boolean;
  /** Every pupil was matched to a student in the sink; otherwise the record waits in its tray. */
  matched: boolean;
}

/**
 * Every record sink (CPOMS, Arbor pastoral notes, preview): a connection test, and delivery of one
 * record under an idempotency key. Delivery failures are RecordDeliveryErrors saying whether to retry.
 */
export interface RecordSink {
  readonly kind: string;
  /** Host used for per-school rate limiting. */
  readonly host: string;
  /** A second delivery under the same key returns the first record instead of creating another. */
  readonly idempotent: boolean;
  check(): Promise<CheckResult>;
  /**
   * `signal`: the delivery job's (JobRun.signal). Aborted when the job times out or the process shuts
   * down: the sink stops at once (a RecordDeliveryError to retry) rather than sending on its own.
   */
  deliver(record: OutboundRecord, idempotencyKey: string, signal?: AbortSignal): Promise<DeliveryReceipt>;
}

export type RetryAdvice =
  | { retry: 'never' } // 401/403/422: credentials or content; a person must act
  | { retry: 'after'; delayMs: number } // 429 with Retry-After: not the record's fault
  | { retry: 'backoff' }; // 5xx, timeouts, resets

/**
 * A sink's failure, in the one error catalog: its code and retry class follow from the advice — never
 * retried with a refused credential (401/403), or a request the sink's wire settings make that the
 * sink refuses (`config`: CPOMS's student lookup), `config`; otherwise `permanent`; retried
 * `transient` — so a job reading it by class (`retryClassOf`) and deliver-record reading its advice
 * agree.
 */
export class RecordDeliveryError extends DoorstepError {
  readonly advice: RetryAdvice;
  readonly status: number | undefined;
  /**
   * A write (a POST) that failed after it was sent — no answer in time, the connection cut, a 5xx, an
   * answer cut off — may still have been made at the sink. A sink without an idempotency key (Arbor)
   * must not be written to again until it can be read back (deliver-record keeps the record's claim).
   * False for a read, and for a write that never left (connection refused, a name not found).
   */
  readonly mayHaveLanded: boolean;

  constructor(
    message: string,
    advice: RetryAdvice,
    status?: number,
    options: { mayHaveLanded?: boolean; config?: boolean } = {},
  ) {
    super(
      ERRORS[
        advice.retry !== 'never'
          ? 'RECORD_UNAVAILABLE'
          : status === 401 || status === 403 || options.config
            ? 'RECORD_AUTH'
            : 'RECORD_REFUSED'
      ],
      message,
    );
    this.name = 'RecordDeliveryError';
    this.advice = advice;
    this.status = status;
    this.mayHaveLanded = options.mayHaveLanded ?? false;
  }
}
