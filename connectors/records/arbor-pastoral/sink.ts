import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { londonDate, londonMinutes } from '../../../src/domain/attendance/dates.ts';
import { describeError } from '../../../src/errors.ts';
import { refusedFields, sinkFetch } from '../http.ts';
import { type DeliveryReceipt, type OutboundRecord, RecordDeliveryError, type RecordSink } from '../types.ts';

/** Which Arbor model a school's notes are written as. */
export type ArborNoteType = 'pastoral' | 'safeguarding';

/**
 * The two note models, as Arbor's published PHP client defines them (arbor-education/sis-sdk-php):
 * src/Arbor/Model/PastoralNote.php (student, summary, content, noteDate) and
 * src/Arbor/Model/SafeguardingNote.php (student, dateLogged, summary, content); resource types from
 * src/Arbor/Resource/ResourceType.php. `path` is where RestGateway::create posts (plural, dashed),
 * `list` where RestGateway::query reads (`/rest-v2/{PluralType}`).
 */
const NOTE = {
  pastoral: {
    type: 'PastoralNote',
    path: 'pastoral-notes',
    list: 'PastoralNotes',
    root: 'pastoralNote',
    date: 'noteDate',
    what: 'Arbor pastoral note',
  },
  safeguarding: {
    type: 'SafeguardingNote',
    path: 'safeguarding-notes',
    list: 'SafeguardingNotes',
    root: 'safeguardingNote',
    date: 'dateLogged',
    what: 'Arbor safeguarding note',
  },
} as const;

/**
 * A date property as the client's Hydrator::extractArray writes a PHP DateTime:
 * `{"entityType":"date","date":"Y-m-d H:i:s"}`, here in the school's time (Europe/London).
 */
export function arborDate(instant: Date): { entityType: 'date'; date: string } {
  const m = londonMinutes(instant);
  const hhmm = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return { entityType: 'date', date: `${londonDate(instant)} ${hhmm}:00` };
}

/**
 * Arbor notes: `POST /rest-v2/pastoral-notes` (or `/rest-v2/safeguarding-notes`, per school) with
 * `{"request":{"pastoralNote":{entityType, student, summary, content, noteDate}}}` (Basic auth), one
 * note per pupil — the body the client's RestGateway::create sends (the model as Hydrator::extractArray
 * writes it: `entityType`, the student as `{entityType, href}`, the date as a date object), reading
 * the created object back at the top level of the answer (`{"pastoralNote":{"id":…}}`). Arbor publishes no idempotency-key support, so the key is sent as a header and written into
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
  private readonly note: (typeof NOTE)[ArborNoteType];

  constructor(settings: {
    baseUrl: string;
    username: string;
    password: Secret;
    timeoutMs?: number;
    noteType?: ArborNoteType;
  }) {
    this.note = NOTE[settings.noteType ?? 'pastoral'];
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.host = new URL(this.base).host;
    this.auth = `Basic ${Buffer.from(`${settings.username}:${settings.password.reveal()}`).toString('base64')}`;
    this.timeoutMs = settings.timeoutMs ?? 15_000;
  }

  async check(): Promise<CheckResult> {
    try {
      const r = await sinkFetch(
        `${this.base}/rest-v2/${this.note.list}?page=1&page-size=1`,
        { headers: { authorization: this.auth, accept: 'application/json' }, timeoutMs: this.timeoutMs },
        this.note.what,
      );
      return r.status === 200
        ? { name: 'records:arbor-pastoral', ok: true, detail: `${this.host} accepted the credentials` }
        : { name: 'records:arbor-pastoral', ok: false, detail: `${this.host}: HTTP ${r.status}` };
    } catch (err) {
      return { name: 'records:arbor-pastoral', ok: false, detail: describeError(err) };
    }
  }

  async deliver(
    record: OutboundRecord,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<DeliveryReceipt> {
    // An Arbor note belongs to a student: a record that concerns no pupil (a lone-worker incident
    // away from a visit) has nowhere to go in Arbor. Refused, not "delivered" with nothing sent.
    if (record.pupils.length === 0)
      throw new RecordDeliveryError(
        `${this.note.what}: record #${record.outboxId} (${record.kind}) concerns no pupil, and an Arbor note must be attached to a student — nothing was sent. Records without a pupil belong in the school's CPOMS (its records sink), not an arbor-pastoral sink`,
        { retry: 'never' },
      );
    const ids: string[] = [];
    for (const p of record.pupils) {
      const note = {
        entityType: this.note.type,
        student: { entityType: 'Student', href: `/rest-v2/students/${encodeURIComponent(p.misId)}` },
        summary: `${record.title} [doorstep:${idempotencyKey}]`.slice(0, 255),
        content: record.body,
        [this.note.date]: arborDate(record.occurredAt),
      };
      const r = await sinkFetch(
        `${this.base}/rest-v2/${this.note.path}`,
        {
          method: 'POST',
          headers: {
            authorization: this.auth,
            accept: 'application/json',
            'content-type': 'application/json',
            'idempotency-key': `${idempotencyKey}:${p.misId}`,
          },
          body: JSON.stringify({ request: { [this.note.root]: note } }),
          timeoutMs: this.timeoutMs,
          signal,
        },
        this.note.what,
      );
      if (r.status === 422) {
        // Arbor's errors (`response.errors[].message`) may quote the note: only the fields they name.
        const errors = (r.body as { response?: { errors?: unknown } } | null)?.response?.errors;
        throw new RecordDeliveryError(
          `${this.note.what}: HTTP 422 — Arbor refused the note (${refusedFields(errors, ['request', this.note.root, ...Object.keys(note)])})`,
          { retry: 'never' },
          422,
        );
      }
      if (r.status !== 200 && r.status !== 201)
        throw new RecordDeliveryError(
          `${this.note.what}: unexpected HTTP ${r.status}`,
          { retry: 'never' },
          r.status,
        );
      const created = (r.body as Record<string, { id?: unknown } | undefined> | null)?.[this.note.root];
      const id = created?.id;
      if (typeof id !== 'number' && !(typeof id === 'string' && /^[\w-]{1,64}$/.test(id))) {
        // Arbor answered success without the created object: the note may exist. Not retried (a
        // retry could double it); the record waits for a person to check Arbor.
        throw new RecordDeliveryError(
          `${this.note.what}: HTTP ${r.status} without the created ${this.note.root} id; check Arbor before resending`,
          { retry: 'never' },
          r.status,
        );
      }
      ids.push(String(id));
    }
    return { remoteId: ids.join(','), duplicate: false, matched: true };
  }
}
