import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { describeError } from '../../../src/errors.ts';
import { sinkFetch } from '../http.ts';
import { type DeliveryReceipt, type OutboundRecord, RecordDeliveryError, type RecordSink } from '../types.ts';

/**
 * Arbor pastoral notes: `POST /rest-v2/pastoral-notes` with
 * `{"request":{"pastoralNote":{student, summary, content, noteDate}}}` (Basic auth), one note per
 * pupil. Arbor publishes no idempotency-key support, so the key is sent as a header and written into
 * the summary (`[doorstep:KEY]`) for people to see; a response lost after Arbor created the note can
 * therefore still double it — CPOMS, with its 409, does not have that gap.
 */
export class ArborPastoralSink implements RecordSink {
  readonly kind = 'arbor-pastoral';
  readonly host: string;
  readonly idempotent = false;
  private readonly base: string;
  private readonly auth: string;
  private readonly timeoutMs: number;

  constructor(settings: { baseUrl: string; username: string; password: Secret; timeoutMs?: number }) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.host = new URL(this.base).host;
    this.auth = `Basic ${Buffer.from(`${settings.username}:${settings.password.reveal()}`).toString('base64')}`;
    this.timeoutMs = settings.timeoutMs ?? 15_000;
  }

  async check(): Promise<CheckResult> {
    try {
      const r = await sinkFetch(
        `${this.base}/rest-v2/pastoral-notes?page=1&page-size=1`,
        { headers: { authorization: this.auth, accept: 'application/json' }, timeoutMs: this.timeoutMs },
        'Arbor pastoral notes',
      );
      return r.status === 200
        ? { name: 'records:arbor-pastoral', ok: true, detail: `${this.host} accepted the credentials` }
        : { name: 'records:arbor-pastoral', ok: false, detail: `${this.host}: HTTP ${r.status}` };
    } catch (err) {
      return { name: 'records:arbor-pastoral', ok: false, detail: describeError(err) };
    }
  }

  async deliver(record: OutboundRecord, idempotencyKey: string): Promise<DeliveryReceipt> {
    const ids: string[] = [];
    for (const p of record.pupils) {
      const r = await sinkFetch(
        `${this.base}/rest-v2/pastoral-notes`,
        {
          method: 'POST',
          headers: {
            authorization: this.auth,
            accept: 'application/json',
            'content-type': 'application/json',
            'idempotency-key': `${idempotencyKey}:${p.misId}`,
          },
          body: JSON.stringify({
            request: {
              pastoralNote: {
                student: { entityType: 'Student', href: `/rest-v2/students/${encodeURIComponent(p.misId)}` },
                summary: `${record.title} [doorstep:${idempotencyKey}]`.slice(0, 255),
                content: record.body,
                noteDate: record.occurredAt.toISOString().slice(0, 10),
              },
            },
          }),
          timeoutMs: this.timeoutMs,
        },
        'Arbor pastoral note',
      );
      if (r.status === 422)
        throw new RecordDeliveryError(
          `Arbor pastoral note: HTTP 422 — ${JSON.stringify(r.body).slice(0, 300)}`,
          { retry: 'never' },
          422,
        );
      if (r.status !== 200 && r.status !== 201)
        throw new RecordDeliveryError(
          `Arbor pastoral note: unexpected HTTP ${r.status}`,
          { retry: 'never' },
          r.status,
        );
      const id = (r.body as { response?: { pastoralNote?: { id?: unknown } } } | null)?.response?.pastoralNote
        ?.id;
      ids.push(id === undefined ? 'created' : String(id));
    }
    return { remoteId: ids.join(','), duplicate: false, matched: true };
  }
}
