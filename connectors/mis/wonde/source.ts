import { createHash } from 'node:crypto';
import type * as z from 'zod';
import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { londonDate } from '../../../src/domain/attendance/dates.ts';
import { DoorstepError, describeError, doorstepError, isDoorstepError } from '../../../src/errors.ts';
import { malformed } from '../errors.ts';
import { getJson, type HttpSettings } from '../http.ts';
import { safeText } from '../safe-text.ts';
import type { ImportUnit, LeaverRecord, MarkRecord, MisSource, PupilRecord, SyncCursor } from '../types.ts';
import { upnOf } from '../upn.ts';
import { attendancePage, deletionsPage, school, studentsPage } from './wire.ts';

interface Paged {
  data: unknown[];
  meta: {
    pagination: {
      next?: string | null | undefined;
      more?: boolean | null | undefined;
      current_page?: number | null | undefined;
    };
  };
}

export interface WondeSettings {
  baseUrl: string;
  schoolId: string;
  token: Secret;
  perPage?: number;
  http?: Partial<HttpSettings>;
  /** The clock (tests); a leaver's date is the day the deletion is seen. */
  now?: () => Date;
}

/** How a mark for a student in none of Wonde's lists names its pupil: `wonde:<student id>`. */
const WONDE_HELD = 'wonde:';

/** Pages per list and sync: a loop that never ends is a Wonde fault, not a big school. */
const MAX_PAGES = 10_000;

/**
 * Wonde v1.0 with a Bearer token. Each sync reads the school's students with their education
 * details (the UPN; maps Wonde student ids to MIS ids), the deletions (students removed from the
 * MIS: marked off-roll), then session attendance updated after the cursor, with its attendance code
 * included; one import unit per page.
 */
export class WondeSource implements MisSource {
  readonly kind = 'wonde';
  private readonly base: string;
  private readonly http: HttpSettings;
  private readonly settings: WondeSettings;
  /** The last pull's Wonde student ids → MIS ids (students and leavers): names held marks' pupils. */
  private known = new Map<string, string>();

  constructor(settings: WondeSettings) {
    this.settings = settings;
    this.base = `${settings.baseUrl.replace(/\/+$/, '')}/schools/${encodeURIComponent(settings.schoolId)}`;
    this.http = { authorization: `Bearer ${settings.token.reveal()}`, ...settings.http };
  }

  async check(): Promise<CheckResult> {
    try {
      const s = await getJson(this.base, school, this.http, 'Wonde school');
      return { name: 'mis:wonde', ok: true, detail: `token accepted for Wonde school ${s.data.id}` };
    } catch (err) {
      return { name: 'mis:wonde', ok: false, detail: describeError(err) };
    }
  }

  /**
   * Every page of a list, following `meta.pagination.next` to the same list of this school only, up to
   * the first page with no rows or no next link (a page with no rows that says there is more is
   * refused: the list cannot be read to its end).
   */
  private async *pages<S extends z.ZodType<Paged>>(
    first: string,
    schema: S,
    what: string,
  ): AsyncGenerator<{ n: number; body: z.output<S>; last: boolean }> {
    const origin = new URL(this.base).origin;
    const path = new URL(first, origin).pathname;
    let url: string | null | undefined = first;
    const visited = new Set<string>();
    /** The pages read, by a digest of their rows: a page whose rows come again is a repeat. */
    const read = new Map<string, number>();
    /** The previous page's number (its current_page, or the page its link asked for). */
    let lastNumber: number | undefined;
    for (let n = 1; url; n++) {
      visited.add(new URL(url, origin).href);
      if (n > MAX_PAGES)
        throw malformed({ unit: what }, 'meta.pagination.next', `more than ${MAX_PAGES} pages`);
      // A page refused for its shape names the page, and its row one-based as every refusal does
      // ("record 2, field date"), never `data.1.date` of no page.
      const body: z.output<S> = await getJson(url, schema, this.http, `${what} page ${n}`, placeInPage);
      // Wonde numbers its pages (meta.pagination.current_page, from 1; a next link asks for
      // `page=<n>`). Every page must be the one after the last: a page that does not move on is the
      // same page again, whatever its rows; one that jumps ahead (page 1, then 3) leaves the rows of
      // the pages between unread, and the cursor, moved with the last page, would pass them for ever.
      // Checked on an empty page too: one that ends the list moves the cursor. Refused before the page
      // is given out, the cursor left where it was.
      const asked = pageParam(url, origin);
      const expected = lastNumber !== undefined ? lastNumber + 1 : (asked ?? (n === 1 ? 1 : undefined));
      const current = body.meta.pagination.current_page ?? undefined;
      if (current !== undefined && expected !== undefined && current !== expected) {
        if (lastNumber !== undefined && current <= lastNumber)
          throw doorstepError(
            'MIS_BAD_RESPONSE',
            `${what} page ${n} of school ${this.settings.schoolId}: the server repeated page ${current} (meta.pagination.current_page ${current} after ${lastNumber}: it does not move on); not read again — the rest cannot be read`,
          );
        throw doorstepError(
          'MIS_BAD_RESPONSE',
          `${what} page ${n} of school ${this.settings.schoolId}: the server gave page ${current} where page ${expected} was due (meta.pagination.current_page ${current}: the pages between would go unread); not read — the rest cannot be read`,
        );
      }
      const number = current ?? asked ?? (n === 1 ? 1 : undefined);
      // A page with no rows ends the list: nothing after it is asked for — as Wonde's own client reads
      // it (wondeltd/php-client src/ResultIterator.php, valid(): `return (bool) count($this->array)`).
      // Followed on, a server answering every page past the end with `data: []` and a fresh link was
      // read up to MAX_PAGES times a list and sync (the repeat checks below pass empty pages).
      // One that says it is the last (no `more`, no next link) is given out as the last page: the list
      // was read to its end, so the cursor may move with it. One that says there is more is not the
      // end: given out as the last, it moved the cursor (`updated_after` is strict) past the pages
      // never read — their marks never read at any later sync — and a students list ended there left
      // the pupils on those pages out of the roll (a restored student marked off roll by an old
      // deletion). Refused before it is given out, as a page of rows that says more without a link
      // is: the cursor stays, and the sync fails loudly (a leavers list is said not read instead).
      if (body.data.length === 0) {
        if (body.meta.pagination.more || body.meta.pagination.next)
          throw malformed(
            { unit: `${what} page ${n}` },
            'meta.pagination',
            'the page has no rows but says there is more (more, or a next link): the list does not end here and the pages after it cannot be read; the rest cannot be read',
          );
        yield { n, body, last: true };
        return;
      }
      const next: string | null | undefined = body.meta.pagination.next;
      // A server that ignores the page asked for gives the same rows under every new link: read up to
      // MAX_PAGES times, each applied again, at every sync. Refused before the page is given out — a
      // list holds each row once, so a page of rows already read is never a new page.
      const digest = createHash('sha256').update(JSON.stringify(body.data)).digest('hex');
      const earlier = read.get(digest);
      if (earlier !== undefined)
        throw doorstepError(
          'MIS_BAD_RESPONSE',
          `${what} page ${n} of school ${this.settings.schoolId}: the server repeated page ${earlier} (the same rows again under a new link: it ignores the page asked for); not read again — the rest cannot be read`,
        );
      read.set(digest, n);
      // Refused before the page is given out: a page that says there is more but links nowhere is
      // not the last one, and must not move the cursor past the pages that cannot be read.
      if (!next && body.meta.pagination.more) {
        throw malformed(
          { unit: `${what} page ${n}` },
          'meta.pagination',
          'the page says there is more but gives no next link; the rest cannot be read',
        );
      }
      // A next link back to a page already read (a loop at the API) would read the same pages until
      // MAX_PAGES, applying each again, on every sync: refused at once, the cursor left where it was.
      if (next && visited.has(new URL(next, origin).href)) {
        throw malformed(
          { unit: `${what} page ${n}` },
          'meta.pagination.next',
          'the next link is a page already read (the pages loop); the rest cannot be read',
        );
      }
      // Where the next link points is checked before this page is given out and before that link is
      // asked for (the token goes with it): on the Wonde host, and the same list of the same school.
      if (next && new URL(next, origin).origin !== origin) {
        throw malformed(
          { unit: `${what} page ${n}` },
          'meta.pagination.next',
          `expected a link on ${origin}`,
        );
      }
      // One token covers every school that granted it: a link to another school's list (or another
      // list) on the same host would read its rows as this school's. Only the query may differ.
      if (next && new URL(next, origin).pathname !== path) {
        throw doorstepError(
          'MIS_BAD_RESPONSE',
          `${what} page ${n} of school ${this.settings.schoolId}: the next link is for ${new URL(next, origin).pathname}, not ${path} (another school or another list); not followed — the rest cannot be read`,
        );
      }
      // A next link that asks for a page (`page=<n>`) asks for the one after this: a link that skips
      // one (page 1 linking to page 3) would leave its rows unread.
      const nextPage = next ? new URL(next, origin).searchParams.get('page') : null;
      if (nextPage !== null && number !== undefined && nextPage !== String(number + 1)) {
        throw doorstepError(
          'MIS_BAD_RESPONSE',
          `${what} page ${n} of school ${this.settings.schoolId}: the next link asks for page ${safeText(nextPage).slice(0, 20)} after page ${number}, not page ${number + 1} (the pages would not be read in turn); not followed — the rest cannot be read`,
        );
      }
      lastNumber = number;
      yield { n, body, last: !next };
      url = next ? new URL(next, origin).href : null;
    }
  }

  private clock(): number {
    return (this.settings.now ?? (() => new Date()))().getTime();
  }

  async *pull(cursor: SyncCursor): AsyncIterable<ImportUnit> {
    const started = this.clock();
    const perPage = this.settings.perPage ?? 200;
    const today = londonDate((this.settings.now ?? (() => new Date()))());
    const misIds = new Map<string, string>();
    this.known = misIds;
    const students = `${this.base}/students?${new URLSearchParams({ include: 'education_details', per_page: String(perPage) })}`;
    for await (const { n, body } of this.pages(students, studentsPage, 'Wonde students')) {
      const label = `wonde students page ${n}`;
      const pupils = body.data.map((s, i): PupilRecord => {
        const where = { unit: label, record: i + 1 };
        misIds.set(s.id, s.mis_id);
        // The UPN is in education_details; `upi` is Wonde's own hashed id and never a UPN.
        // A field the answer does not carry keeps what Doorstep knew (a fuller export's UPN or date
        // of birth — CTF files are matched by UPN); one it carries empty clears it.
        const carried = <K extends string, V>(key: K, present: boolean, value: V) =>
          (present ? { [key]: value } : {}) as Partial<Record<K, V>>;
        const { unusable: badUpn, ...upn } =
          s.education_details?.data != null
            ? upnOf(s.education_details.data.upn, 'education_details.upn')
            : {};
        const unusable = [...(badUpn ?? [])];
        // A date of birth in a shape or zone not read is not taken: left out, as one the answer does
        // not carry (the one Doorstep had stays — given as null, it was wiped), and said with the
        // pupil's other unusable fields. One that does not exist is unknown (null), as before.
        const dob = s.date_of_birth;
        let dobField: Pick<PupilRecord, 'dob'> = {};
        if (typeof dob === 'object' && dob !== null)
          unusable.push({ field: 'date_of_birth', expected: dob.unread });
        else dobField = carried('dob', dob !== undefined, dob ?? null);
        return {
          misId: s.mis_id,
          ...upn,
          ...carried('forename', s.forename !== undefined, s.forename ?? null),
          ...carried('surname', s.surname !== undefined, s.surname ?? null),
          ...dobField,
          ...(unusable.length ? { unusable } : {}),
          // Wonde's students are those on roll (leavers are `students-leaver`).
          onRoll: true,
          where,
        };
      });
      yield {
        label,
        batches: async function* () {
          if (pupils.length) yield { kind: 'pupils', pupils };
        },
      };
    }

    // Students who left the usual way (off roll, not deleted): Wonde moves them from `students` to
    // `students-leaver` (src/Endpoints/StudentLeavers.php). Each is marked off roll on the day it is
    // first seen there (the client names no leaving date) — a pack's missing-education check and the
    // retention of leavers rest on it; before, only a student deleted from the MIS ever left.
    // Read once, before the deletions (it also names the MIS id of a deletion that gives none, and a
    // leaver's marks below). A token without that permission, or a page that cannot be read, leaves
    // the leavers as they were, never the sync — and is said (a unit not read, below), not dropped.
    const leaverIds: { wondeId: string; misId: string }[] = [];
    let leaversNotRead: string | undefined;
    try {
      const url = `${this.base}/students-leaver?${new URLSearchParams({ per_page: String(perPage) })}`;
      for await (const { body } of this.pages(url, studentsPage, 'Wonde student leavers'))
        for (const l of body.data) leaverIds.push({ wondeId: l.id, misId: l.mis_id });
    } catch (err) {
      // A Doorstep error's words name the list and the status, never the token or a pupil's data;
      // anything else is a fault here, not the list's, and stops the sync.
      if (!(err instanceof DoorstepError)) throw err;
      // A token refused here was accepted for the students: the app lacks this list, not a credential.
      const words = safeText(err.message);
      const reason = isDoorstepError(err, 'MIS_AUTH')
        ? 'Wonde refused the token for this list (the students were read with it): ask the school to give the Doorstep app in Wonde access to leavers'
        : words;
      leaversNotRead = `Wonde students-leaver could not be read: ${reason}; pupils who left are not marked off roll until it can`;
    }
    const leaverMisIds = new Map(leaverIds.map((l) => [l.wondeId, l.misId]));

    // The MIS ids of the students on roll now (the students list), whatever their Wonde ids.
    const onRoll = new Set(misIds.values());
    const deletions = `${this.base}/deletions?${new URLSearchParams({ per_page: String(perPage) })}`;
    for await (const { n, body } of this.pages(deletions, deletionsPage, 'Wonde deletions')) {
      const label = `wonde deletions page ${n}`;
      const leavers = body.data
        .map((d, i) => ({ d, where: { unit: label, record: i + 1 } }))
        // A student deleted once and in the students list again (restored, re-admitted, or given a
        // new Wonde id for the same MIS record) is on roll.
        .filter(
          ({ d }) =>
            (d.type ?? '').toLowerCase() === 'student' &&
            !misIds.has(d.id) &&
            !(d.mis_id !== undefined && onRoll.has(d.mis_id)),
        )
        .map(({ d, where }): LeaverRecord => {
          // A deleted student is no longer in the students list: its MIS id comes with the deletion
          // (a string or a number, as the students list gives it), or from the leavers list.
          const misId = d.mis_id ?? leaverMisIds.get(d.id);
          // Named by neither, it cannot be matched to a pupil (Doorstep keeps no Wonde ids): said in
          // the import summary, never passed over quietly as a student the school never had.
          if (misId === undefined)
            return {
              misId: `${WONDE_HELD}${d.id}`,
              leftOn: today,
              unidentified: {
                field: 'mis_id',
                expected:
                  "the deleted student's MIS id (Wonde gave none, and its Wonde id is in none of Wonde's lists to look it up)",
              },
              where,
            };
          return {
            misId,
            leftOn: today,
            // Wonde gives every deletion the school ever had at every sync (years of them): one of a
            // student the school's pupils never held (deleted before Doorstep came) is passed over
            // quietly, as a leaver from `students-leaver` is — before, it was reported at every sync.
            fromFullList: true,
            undated: true,
            where,
          };
        });
      yield {
        label,
        batches: async function* () {
          if (leavers.length) yield { kind: 'leavers', leavers };
        },
      };
    }

    const offRoll = leaverIds.filter((l) => !misIds.has(l.wondeId) && !onRoll.has(l.misId));
    for (const l of leaverIds) if (!misIds.has(l.wondeId)) misIds.set(l.wondeId, l.misId);
    if (leaversNotRead !== undefined)
      yield {
        label: 'wonde students-leaver',
        batches: async function* () {},
        notRead: leaversNotRead,
      };
    else if (offRoll.length) {
      const label = 'wonde students-leaver';
      const leavers = offRoll.map(
        (l, i): LeaverRecord => ({
          misId: l.misId,
          leftOn: today,
          fromFullList: true,
          undated: true,
          where: { unit: label, record: i + 1 },
        }),
      );
      yield {
        label,
        batches: async function* () {
          yield { kind: 'leavers', leavers };
        },
      };
    }

    const q = new URLSearchParams({ include: 'attendance_code', per_page: String(perPage) });
    if (cursor.value) q.set('updated_after', cursor.value);
    let latest: string | undefined;
    // A student not in the students list (a leaver whose marks Wonde still sends): looked up once
    // among the leavers; one found nowhere is passed on under its Wonde id, so the import rejects
    // that row as an unknown pupil and applies the rest (a thrown page would stop every later sync).
    // Its mark is held under that id (`WONDE_HELD`): a later sync that lists the student (created in
    // the MIS after this one read the students) moves it to the student's MIS id and applies it.
    const misIdOf = async (wondeStudent: string): Promise<string> =>
      misIds.get(wondeStudent) ?? `${WONDE_HELD}${wondeStudent}`;
    for await (const { n, body, last } of this.pages(
      `${this.base}/attendance/session?${q}`,
      attendancePage,
      'Wonde session attendance',
    )) {
      const label = `wonde attendance page ${n}`;
      const marks: MarkRecord[] = [];
      for (const [i, r] of body.data.entries()) {
        const where = { unit: label, record: i + 1 };
        const session = r.session.toUpperCase();
        if (session !== 'AM' && session !== 'PM') throw malformed(where, 'session', 'expected AM or PM');
        const pupilMisId = await misIdOf(r.student);
        // An id in place of the included code: Wonde did not apply `include=attendance_code`, and no
        // row on the page has its code — the page is refused, the cursor left where it was.
        if (typeof r.attendance_code === 'string') {
          throw malformed(
            where,
            'attendance_code',
            'expected the included code ({data: {code}}), got an id: Wonde did not apply include=attendance_code',
          );
        }
        // A row Wonde gives no code (`null`, `{data: null}`): that row alone is rejected by the import
        // and reported, as an unknown pupil's is — refusing the page would stop every later sync on it.
        const code = r.attendance_code?.data?.code || null;
        // A change dated more than an hour ahead of this sync (a clock wrong at Wonde or the school, a
        // bad row) is not taken as the newest read; one dated less than that is, but the cursor is
        // still never later than this sync's start less the overlap (`cursorBefore`): set past it,
        // every mark changed before that date would go unread.
        if (
          r.updated_at &&
          (!latest || r.updated_at > latest) &&
          !(wondeTime(r.updated_at) > started + FUTURE_TOLERANCE_MS)
        )
          latest = r.updated_at;
        marks.push({
          pupilMisId,
          date: r.date,
          session,
          mark: code ?? '',
          minutesLate: r.minutes_late ?? null,
          ...(code === null
            ? { unreadable: { field: 'attendance_code', expected: 'a code (Wonde gave none)' } }
            : {}),
          where,
        });
      }
      // The cursor moves only with the last page (committed after every page before it), and to
      // before this sync began, on Wonde's clock and on Doorstep's: the pages come in no order, so a
      // later page may hold rows older than one already read, and a row changed while the pages were
      // read, or in the cursor's own second (`updated_after` is strict), is read again next time —
      // re-reading a mark changes nothing. A page that fails leaves the cursor where it was.
      const cursorAfter = last && latest ? cursorBefore(latest, this.clock() - started, started) : undefined;
      yield {
        label,
        batches: async function* () {
          if (marks.length) yield { kind: 'marks', marks };
        },
        holdsMarks: true,
        ...(cursorAfter ? { cursorAfter: () => cursorAfter } : {}),
      };
    }
  }

  heldPupilId(heldId: string): string | undefined {
    return heldId.startsWith(WONDE_HELD) ? this.known.get(heldId.slice(WONDE_HELD.length)) : undefined;
  }
}

/**
 * Where in a page a shape refusal is: a row's field as `record <n>, field <path>` (one-based, as
 * `describeWhere` names records), anything else by its path (`meta.pagination.next`).
 */
function placeInPage(path: readonly PropertyKey[]): string {
  const [list, row, ...field] = path;
  if (list !== 'data' || typeof row !== 'number') return path.map(String).join('.') || '(body)';
  return `record ${row + 1}${field.length ? `, field ${field.map(String).join('.')}` : ''}`;
}

/** The page a list link asks for (`page=<n>`), as a number; undefined when it names none. */
function pageParam(link: string, origin: string): number | undefined {
  const page = new URL(link, origin).searchParams.get('page');
  return page !== null && /^\d{1,9}$/.test(page) ? Number(page) : undefined;
}

/** How far ahead of Doorstep's clock a change may be dated and still count for the cursor. */
export const FUTURE_TOLERANCE_MS = 60 * 60_000;

/** A Wonde `updated_at` (`2025-01-13 13:20:00`, UTC) as epoch ms; NaN when it is not one. */
function wondeTime(text: string): number {
  return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)
    ? Date.parse(`${text.replace(' ', 'T')}Z`)
    : Number.NaN;
}

/** How far before the newest change read the cursor is set, beyond the sync's own length. */
export const CURSOR_OVERLAP_MS = 5 * 60_000;

/**
 * The newest `updated_at` read (`2025-01-13 13:20:00`, Wonde's clock), moved back by the sync's
 * length and the overlap, and never later than the overlap before `started` (when the sync began,
 * epoch ms, Doorstep's clock): no later than when the sync began by either clock. A change dated up
 * to `FUTURE_TOLERANCE_MS` ahead still counts as the newest, and without that bound would set the
 * cursor up to 55 minutes after the sync began — `updated_after` is strict, so a mark changed in that
 * gap would never be asked for again. Written as `wondeTime` reads a stamp (UTC): were Wonde's stamps
 * London time, in summer that is an hour earlier than London's, never later (read again, not lost).
 * Undefined when the timestamp is not one (the cursor then stays where it was: everything is read again).
 */
export function cursorBefore(newest: string, syncMs: number, started: number): string | undefined {
  const at = wondeTime(newest);
  if (Number.isNaN(at)) return undefined;
  return wondeStamp(Math.min(at - Math.max(0, syncMs), started) - CURSOR_OVERLAP_MS);
}

/** Epoch ms as a Wonde timestamp (`2025-01-13 13:20:00`, UTC, as `wondeTime` reads one). */
function wondeStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
