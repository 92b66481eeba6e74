import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { londonDate, londonMinutes } from '../../../src/domain/attendance/dates.ts';
import { describeError } from '../../../src/errors.ts';
import { absentListProblem, isSafeHref } from '../../mis/arbor/wire.ts';
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
 * the created object back at the top level of the answer (`{"pastoralNote":{"id":…}}`). Arbor publishes no idempotency-key support, so the key is sent as a header and written at
 * the end of the summary (`[doorstep:KEY]`), and before each note is made the student's notes are
 * read for it (`existing`): a retry after a lost answer, or of a record whose second pupil failed
 * after the first's note was made, finds the note instead of making it again.
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
        `${this.note.what}: record #${record.outboxId} (${record.kind}) concerns no pupil, and an Arbor note must be attached to a student — nothing was sent. It is kept here for a person to record by hand (doorstep outbox show ${record.outboxId}); to have such records sent, add a cpoms sink that takes ${record.kind} (records.sink, or alsoRecordTo)`,
        { retry: 'never' },
      );
    const ids: string[] = [];
    for (const p of record.pupils) {
      const studentHref = `/rest-v2/students/${encodeURIComponent(p.misId)}`;
      const marker = noteMarker(idempotencyKey);
      // A note this record already made for this student (its answer lost, or an earlier pupil's
      // note of the same record made before a later one failed) is found, not made again.
      const found = await this.existing(studentHref, marker, record.occurredAt, signal);
      if (found !== null) {
        ids.push(found);
        continue;
      }
      const note = {
        entityType: this.note.type,
        student: { entityType: 'Student', href: studentHref },
        summary: noteSummary(record.title, idempotencyKey),
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

  /**
   * The id of the student's note whose summary carries this record's marker, if Arbor lists one: a
   * query as the client's RestGateway::query makes it (`GET /rest-v2/{PluralType}` with
   * `filters.student.equals=<href>` and `filters.<date>.from`, src/Arbor/Query/Query.php), the notes
   * dated from the record's day. A listed row without its summary — a reference, `{entityType, id,
   * href}` — is read whole at its href, as the client's ModelBase::getProperty does for a property a
   * row lacks (RestGateway::refresh: `GET href`, the object under its model's root). The reads share
   * one `timeoutMs` (the record's second request is the note's POST). A school whose Arbor app may
   * create notes but not list them (403) is written to as before (a lost answer can then double a
   * note; `doorstep check` reads the list and says so).
   */
  private async existing(
    studentHref: string,
    marker: string,
    occurredAt: Date,
    signal: AbortSignal | undefined,
  ): Promise<string | null> {
    const from = `${londonDate(occurredAt)} 00:00:00`;
    const deadline = Date.now() + this.timeoutMs;
    const within = () => {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new RecordDeliveryError(
          `${this.note.what}: the student's notes were not read within ${this.timeoutMs} ms (looking for this record's note before making it)`,
          { retry: 'backoff' },
        );
      return left;
    };
    for (let page = 1; page <= LOOKUP_PAGES; page++) {
      const q = new URLSearchParams({
        'filters.student.equals': studentHref,
        [`filters.${this.note.date}.from`]: from,
        page: String(page),
        'page-size': String(LOOKUP_PAGE_SIZE),
      });
      let r: Awaited<ReturnType<typeof sinkFetch>>;
      try {
        r = await sinkFetch(
          `${this.base}/rest-v2/${this.note.list}?${q}`,
          {
            headers: { authorization: this.auth, accept: 'application/json' },
            timeoutMs: within(),
            signal,
          },
          this.note.what,
        );
      } catch (err) {
        if (err instanceof RecordDeliveryError && err.status === 403) return null;
        throw err;
      }
      // Only a 200 with the list says whether the note exists — the list absent from an answer
      // otherwise empty or Arbor's success envelope being no notes, as the SDK's RestGateway::query
      // and the MIS connector read it (`absentListProblem`). Any other answer — a 4xx, a 200 that is
      // not JSON (a maintenance page) or carries Arbor's error envelope (`response.code`, read over
      // the HTTP status as the client's RestGateway does) — says nothing, and writing then could
      // double a note a lost answer already made: the record waits (4xx: for a person) instead.
      const root = this.note.list[0]!.toLowerCase() + this.note.list.slice(1);
      const answer =
        r.status === 200 && r.body !== null && typeof r.body === 'object' && !Array.isArray(r.body)
          ? (r.body as Record<string, unknown>)
          : null;
      // Only an absent list is empty: `"pastoralNotes": null` is no list, never "no notes".
      const rows =
        answer && absentListProblem(answer, root) === null
          ? answer[root] === undefined
            ? []
            : answer[root]
          : undefined;
      if (!Array.isArray(rows)) {
        const said = (r.body as { response?: { code?: unknown } } | null)?.response?.code;
        const status = r.status !== 200 ? r.status : typeof said === 'number' ? said : 0;
        throw new RecordDeliveryError(
          `${this.note.what}: the student's notes could not be read (HTTP ${r.status}${r.status === 200 ? (status ? `, Arbor's answer says ${status}` : ', not the list') : ''}), so whether this record's note exists is unknown; nothing was written`,
          status >= 400 && status < 500 && status !== 408 && status !== 429
            ? { retry: 'never' }
            : { retry: 'backoff' },
          status || r.status,
        );
      }
      for (const listed of rows as { id?: unknown; summary?: unknown; href?: unknown }[]) {
        let row = listed;
        // A reference only: the note read whole at its own href (never another host's or model's).
        if (typeof row?.summary !== 'string' && isSafeHref(row?.href, this.note.path)) {
          let whole: Awaited<ReturnType<typeof sinkFetch>> | null;
          try {
            whole = await sinkFetch(
              `${this.base}${row.href}`,
              {
                headers: { authorization: this.auth, accept: 'application/json' },
                timeoutMs: within(),
                signal,
              },
              this.note.what,
            );
          } catch (err) {
            // A note this app may list but not open (its role in Arbor): passed over, as an app that
            // may not list notes at all is written to as before — never the record refused for it.
            if (!(err instanceof RecordDeliveryError && err.status === 403)) throw err;
            whole = null;
          }
          if (whole !== null) {
            // Read, but not the note (Arbor's error envelope, a maintenance page in a 200): whether
            // it is this record's note is unknown, and passing it over could write a second one.
            const body =
              whole.status === 200 && whole.body !== null && typeof whole.body === 'object'
                ? (whole.body as Record<string, unknown>)
                : null;
            const note = body?.[this.note.root] as typeof row | undefined;
            // A note whose summary is not text (one written in Arbor with none) is read: not this
            // record's note (it carries no key), passed over below as it always was.
            if (
              body === null ||
              absentListProblem(body, this.note.root) !== null ||
              note === null ||
              typeof note !== 'object' ||
              Array.isArray(note)
            )
              throw new RecordDeliveryError(
                `${this.note.what}: one of the student's notes could not be read (HTTP ${whole.status}, not the note), so whether this record's note exists is unknown; nothing was written`,
                { retry: 'backoff' },
                whole.status,
              );
            row = note;
          }
        }
        if (typeof row?.summary !== 'string' || !row.summary.includes(marker)) continue;
        if (typeof row.id === 'number' || (typeof row.id === 'string' && /^[\w-]{1,64}$/.test(row.id)))
          return String(row.id);
      }
      if (rows.length < LOOKUP_PAGE_SIZE) return null;
    }
    return null;
  }
}

/** The record's key as an Arbor note carries it, at the end of its summary (`existing` looks for it). */
function noteMarker(idempotencyKey: string): string {
  return `[doorstep:${idempotencyKey}]`;
}

/**
 * An Arbor note's summary — the one builder, used by `deliver` and by the record's preview (`doorstep
 * outbox show`, the data page: connectors/records/outbound.ts): the title cut to fit Arbor's 255
 * (`summaryText`), then the record's key kept whole (`[doorstep:KEY]`).
 */
export function noteSummary(title: string, idempotencyKey: string): string {
  const marker = noteMarker(idempotencyKey);
  return `${summaryText(title, 254 - marker.length)} ${marker}`;
}

/**
 * A record's title as the start of a note's summary: on one line (control characters — newlines,
 * tabs, escapes — as spaces) and cut to at most `max` UTF-16 units at a whole character (a code
 * point: never half of a surrogate pair, which Arbor could not decode), a lone surrogate already in
 * the title written as U+FFFD.
 */
export function summaryText(title: string, max: number): string {
  let out = '';
  for (const ch of title.toWellFormed().replace(/[\p{Cc}\u2028\u2029]/gu, ' ')) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

/**
 * A student's notes read for a record's marker: one page of 100 notes dated from its day (a record is
 * one request to read and one to write: `REQUESTS_PER_RECORD`). A student with more than that since
 * the day is written to as before.
 */
const LOOKUP_PAGE_SIZE = 100;
const LOOKUP_PAGES = 1;
