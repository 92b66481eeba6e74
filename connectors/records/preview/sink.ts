import type { CheckResult } from '../../../src/core/checks.ts';
import type { DeliveryReceipt, OutboundRecord, RecordSink } from '../types.ts';

/**
 * Preview: sends nothing. A school's records stay in the outbox with status `preview`, readable with
 * `doorstep outbox list/show`, until its data manager switches it to a live sink.
 */
export class PreviewSink implements RecordSink {
  readonly kind = 'preview';
  readonly host = 'preview';
  readonly idempotent = true;

  async check(): Promise<CheckResult> {
    return {
      name: 'records:preview',
      ok: true,
      detail: 'preview: records are kept in the outbox and never sent',
    };
  }

  async deliver(_record: OutboundRecord, idempotencyKey: string): Promise<DeliveryReceipt> {
    return { remoteId: `preview:${idempotencyKey}`, duplicate: false, matched: true };
  }
}
