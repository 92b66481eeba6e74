import type * as z from 'zod';
import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import type { Category } from '../../../src/domain/attendance/codes.ts';
import { londonDate } from '../../../src/domain/attendance/dates.ts';
import { describeError } from '../../../src/errors.ts';
import { malformed } from '../errors.ts';
import { getJson, type HttpSettings } from '../http.ts';
import { safeText } from '../safe-text.ts';
import type {
  ImportUnit,
  LeaverRecord,
  MarkRecord,
  MisBatch,
  MisSource,
  PupilRecord,
  SyncCursor,
  Where,
} from '../types.ts';
import { upnOf } from '../upn.ts';
import { type ArborReader, anyCurrent, contactsOf, current, homeAddress, idOf } from './household.ts';
import {
  type AttendanceMarkWire,
  attendanceMark,
  attendanceRecord,
  attendanceRegisterType,
  changelogPage,
  childProtectionStatusAssignment,
  many,
  one,
  person,
  pluralOf,
  type QueryRow,
  queryRow,
  SAFE_HREF,
  senStatus,
  senStatusAssignment,
  session,
  statusAssignment,
  student,
  upnAssignment,
} from './wire.ts';

export interface ArborSettings {
  baseUrl: string;
  username: string;
  password: Secret;
  /** Rows per query page (`page-size`). */
  pageSize?: number;
  http?: Partial<HttpSettings>;
  /** The clock (tests); a leaver's date is the day the deletion is seen. */
  now?: () => Date;
}

/** Cursor: the last changelog revision applied, per resource. */
interface ArborCursor {
  students: number;
  attendanceRecords: number;
}

function parseCursor(value: string | null): ArborCursor {
  if (!value) return { students: 0, attendanceRecords: 0 };
  const c = JSON.parse(value) as Partial<ArborCursor>;
  return { students: c.students ?? 0, attendanceRecords: c.attendanceRecords ?? 0 };
}

/** Changelog rounds per resource and sync (each round is one unit); the rest waits for the next sync. */
const MAX_ROUNDS = 1000;
/**
 * Pages per query. Each query is filtered to one pupil or person (its UPN assignments, guardians,
 * phone numbers): a page or two. One still full after this many is an Arbor fault (a page parameter
 * ignored), and paging on would never end while every row is held in memory.
 */
const MAX_QUERY_PAGES = 20;

/**
 * The meaning Arbor gives a mark, from its AttendanceMark `isStatistical*` flags (never from the
 * letter). Null when the mark carries no flags at all; contradictory flags are an error.
 */
export function arborCategory(m: AttendanceMarkWire, where: Where): Category | null {
  const flags: [boolean | null | undefined, Category][] = [
    [m.isStatisticalPresent, 'present'],
    [m.isStatisticalApprovedEducationalActivity, 'approved_activity'],
    [m.isStatisticalAuthorizedAbsent, 'authorised_absence'],
    [m.isStatisticalUnauthorizedAbsent, 'unauthorised_absence'],
  ];
  const set = flags.filter(([v]) => v === true).map(([, c]) => c);
  if (set.length > 1) {
    throw malformed(where, 'attendanceMark', `Arbor mark ${m.code} has contradictory statistical flags`);
  }
  if (set.length === 1) return set[0]!;
  if (m.isStatisticalPossibleAttendance === false) return 'not_possible';
  return null;
}

/**
 * Arbor REST v2: HTTP Basic auth with the partner app's credentials; incremental sync from the
 * changelog revision (students first, then attendance records), one import unit per changelog
 * answer, so the stored cursor only moves past changes once they are committed. Each changed
 * student's Person, UPN, guardians, home address and child-protection status are read by id.
 */
export class ArborSource implements MisSource, ArborReader {
  readonly kind = 'arbor';
  private readonly base: string;
  private readonly http: HttpSettings;
  private readonly pageSize: number;
  private readonly now: () => Date;

  constructor(settings: ArborSettings) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.pageSize = settings.pageSize ?? 500;
    this.now = settings.now ?? (() => new Date());
    const basic = Buffer.from(`${settings.username}:${settings.password.reveal()}`).toString('base64');
    this.http = { authorization: `Basic ${basic}`, ...settings.http };
  }

  async check(): Promise<CheckResult> {
    try {
      const page = await getJson(
        `${this.base}/rest-v2/Students?page=1&page-size=1`,
        many('students', student),
        this.http,
        'Arbor students',
      );
      return {
        name: 'mis:arbor',
        ok: true,
        detail: `${this.base} accepted the credentials (${page.students?.length ? 'students visible' : 'no students visible'})`,
      };
    } catch (err) {
      return { name: 'mis:arbor', ok: false, detail: describeError(err) };
    }
  }

  async *pull(cursor: SyncCursor): AsyncIterable<ImportUnit> {
    const position = parseCursor(cursor.value);
    const today = londonDate(this.now());
    const lookups = new Map<string, Promise<unknown>>();
    yield* this.changelog(
      'students',
      position,
      student,
      async (live, deleted, label) => {
        const pupils: PupilRecord[] = [];
        for (const [i, s] of live.entries())
          pupils.push(await this.pupil(s, { unit: label, record: i + 1 }, today, lookups));
        // Deleted students are numbered on after the live ones (as removed attendance records are):
        // a student deleted since being changed is in both lists, and each row of the unit must
        // have its own record number for a report to point at it.
        const leavers = deleted.map(
          (s, i): LeaverRecord => ({
            misId: s.id,
            // Arbor's changelog says a student was deleted, not when they left.
            leftOn: today,
            undated: true,
            where: { unit: label, record: live.length + i + 1 },
          }),
        );
        const out: MisBatch[] = [];
        if (pupils.length) out.push({ kind: 'pupils', pupils });
        if (leavers.length) out.push({ kind: 'leavers', leavers });
        return out;
      },
      true,
    );
    const marksCache = new Map<string, Promise<unknown>>();
    yield* this.changelog(
      'attendanceRecords',
      position,
      attendanceRecord,
      async (live, deleted, label) => {
        const marks: MarkRecord[] = [];
        for (const [i, r] of live.entries()) {
          const where = { unit: label, record: i + 1 };
          const mark = await this.cached(
            marksCache,
            r.attendanceMark.href,
            'attendanceMark',
            attendanceMark,
            where,
          );
          if (!r.session)
            throw malformed(where, 'session', 'an attendance record without a session (AM or PM)');
          const sess = await this.cached(marksCache, r.session.href, 'session', session, where);
          const half = await this.halfOfDay(marksCache, sess, where);
          // A lesson's register (or any register that is not the morning's or the afternoon's) is
          // no statutory session: left out — it once refused the whole page, and every sync after.
          if (half === 'not-statutory') continue;
          marks.push({
            pupilMisId: idOf(r.student, where, 'student'),
            date: sess.startDatetime.slice(0, 10),
            session: half,
            mark: mark.attendanceMark ?? mark.code,
            minutesLate: r.minutesLate ?? null,
            vendorCategory: arborCategory(mark, where),
            recordId: r.id,
            where,
          });
        }
        // A deleted record names only its id: the session whose mark it gave (in an earlier sync)
        // loses it, unless a newer record gave that session its mark since.
        const removals = deleted.map((r, i) => ({
          recordId: r.id,
          where: { unit: label, record: live.length + i + 1 },
        }));
        const out: MisBatch[] = [];
        if (marks.length) out.push({ kind: 'marks', marks });
        if (removals.length) out.push({ kind: 'removals', removals });
        return out;
      },
      false,
    );
  }

  private async *changelog<T extends { id: string }>(
    resource: keyof ArborCursor,
    position: ArborCursor,
    schema: z.ZodType<T>,
    toBatches: (live: T[], deleted: { id: string }[], label: string) => Promise<MisBatch[]>,
    deletedStaysLive: boolean,
  ): AsyncIterable<ImportUnit> {
    const path = resource === 'students' ? 'students' : 'attendance-records';
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const from = position[resource];
      const url = `${this.base}/rest-v2/${path}/changelog${from > 0 ? `?from-revision=${from}` : ''}`;
      const label = `arbor ${path} changelog from revision ${from}`;
      const body = await getJson(url, changelogPage(schema), this.http, `Arbor ${path} changelog`);
      // A loop, not Math.max(...changes): a page of 200,000 changes is more arguments than a call takes.
      let top = from;
      for (const c of body.changes) if (c.toRevision > top) top = c.toRevision;
      // Nothing newer than the cursor: this resource is up to date.
      if (top === from) return;
      // An object changed more than once since the cursor is read as its last state (a mark corrected
      // between two syncs is one mark, the corrected one — not two lines for one session), and is
      // deleted when its last change deletes it (a student created and deleted is still a leaver).
      const fresh = body.changes
        .filter((c) => c.toRevision > from)
        .sort((a, b) => a.toRevision - b.toRevision);
      const live = new Map<string, T>();
      const gone = new Map<string, { id: string }>();
      for (const c of fresh) {
        const key = c.changedObject.id;
        if (c.deleted) {
          gone.set(key, c.changedObject);
          // A deleted attendance record gives no mark, even one it gave since the last sync (a
          // register corrected by a new record and the old one deleted would else be two marks for
          // one session, and refuse the page); a deleted student is still read, to be a leaver.
          if (!deletedStaysLive) live.delete(key);
        } else {
          gone.delete(key);
          live.delete(key);
          live.set(key, c.changedObject as T);
        }
      }
      const batches = await toBatches([...live.values()], [...gone.values()], label);
      const next = JSON.stringify({ ...position, [resource]: top });
      yield {
        label,
        batches: async function* () {
          yield* batches;
        },
        cursorAfter: () => next,
        holdsMarks: true,
      };
      position[resource] = top;
    }
  }

  /** One object by its link (`GET {href}`), the link checked to be a path on the school's Arbor. */
  async retrieve<T extends z.ZodType>(href: string, root: string, schema: T, where: Where) {
    if (!SAFE_HREF.test(href)) throw malformed(where, `${root}.href`, 'expected a /rest-v2/… path');
    const body = await getJson(`${this.base}${href}`, one(root, schema), this.http, `Arbor ${root}`);
    return body[root] as z.output<T>;
  }

  /**
   * Which statutory session a register's session is: its `attendanceRegisterType`'s `isMorning` /
   * `isAfternoon` (both false: not a statutory session); without one, or with one that does not say,
   * a lesson (an `academicUnit` or `lessonPlan`) is none, and a registration is told by its name
   * (AM… / PM…). Anything else cannot be told and refuses the page (never guessed).
   */
  private async halfOfDay(
    cache: Map<string, Promise<unknown>>,
    sess: z.output<typeof session>,
    where: Where,
  ): Promise<'AM' | 'PM' | 'not-statutory'> {
    if (sess.attendanceRegisterType) {
      const type = await this.cached(
        cache,
        sess.attendanceRegisterType.href,
        'attendanceRegisterType',
        attendanceRegisterType,
        where,
      );
      if (type.isMorning === true && type.isAfternoon !== true) return 'AM';
      if (type.isAfternoon === true && type.isMorning !== true) return 'PM';
      if (type.isMorning === true && type.isAfternoon === true)
        throw malformed(
          where,
          'session.attendanceRegisterType',
          'expected a register that is the morning or the afternoon, not both',
        );
      // Said to be neither (both false): no statutory session, whatever its name ("PM Football Club").
      if (type.isMorning === false && type.isAfternoon === false) return 'not-statutory';
      // A flag Arbor left empty: a registration named for its half of the day is that session (its
      // marks never left out); anything else (a lesson, a breakfast club) is none — never the page
      // refused, which would stop every later sync.
      return sess.academicUnit || sess.lessonPlan
        ? 'not-statutory'
        : (halfByName(sess.sessionName) ?? 'not-statutory');
    }
    if (sess.academicUnit || sess.lessonPlan) return 'not-statutory';
    const half = halfByName(sess.sessionName);
    if (half) return half;
    throw malformed(
      where,
      'session.sessionName',
      'expected a registration session named AM or PM, Morning or Afternoon (or one whose register type says which)',
    );
  }

  private cached<T extends z.ZodType>(
    cache: Map<string, Promise<unknown>>,
    href: string,
    root: string,
    schema: T,
    where: Where,
  ): Promise<z.output<T>> {
    let hit = cache.get(href);
    if (!hit) {
      hit = this.retrieve(href, root, schema, where);
      // A failed lookup is not remembered: the next sync asks again.
      hit.catch(() => cache.delete(href));
      cache.set(href, hit);
    }
    return hit as Promise<z.output<T>>;
  }

  /**
   * Every object of resource `type` a query selects (`GET /rest-v2/{PluralType}?filters…&page=N&page-size=M`,
   * as the client's RestGateway::query sends it), each whole: a row listed as a reference (or
   * lacking a property `schema` reads) is read at its href — a /rest-v2/ path on this host
   * (SAFE_HREF) — under its type's root, as the client's ModelBase::getProperty refreshes a model
   * (arbor-education/sis-sdk-php src/Arbor/Model/ModelBase.php; `queryRow` in wire.ts). Those reads
   * go one at a time through the same HTTP client (its retries, Retry-After and failure classes):
   * a page of references is at most `pageSize` GETs, a query at most MAX_QUERY_PAGES pages.
   */
  async query<T extends z.ZodObject>(
    type: string,
    filters: Record<string, string>,
    schema: T,
  ): Promise<z.output<T>[]> {
    const plural = pluralOf(type);
    const root = plural[0]!.toLowerCase() + plural.slice(1);
    const by = Object.entries(filters).map(([k, v]) => `${k}=${v}`);
    const where = { unit: `Arbor ${plural} query ${by.join('&')}`.trim() };
    const out: z.output<T>[] = [];
    for (let page = 1; ; page++) {
      if (page > MAX_QUERY_PAGES)
        throw malformed(where, 'page', `more than ${MAX_QUERY_PAGES} full pages of ${this.pageSize} rows`);
      const q = new URLSearchParams({ ...filters, page: String(page), 'page-size': String(this.pageSize) });
      const body = await getJson(
        `${this.base}/rest-v2/${plural}?${q}`,
        many(root, queryRow(schema)),
        this.http,
        `Arbor ${plural}`,
      );
      const rows = body[root] as QueryRow<z.output<T>>[];
      for (const row of rows)
        out.push(
          row.reference === undefined
            ? row.whole
            : await this.retrieve(row.reference, type[0]!.toLowerCase() + type.slice(1), schema, where),
        );
      if (rows.length < this.pageSize) return out;
    }
  }

  private async pupil(
    changed: z.output<typeof student>,
    where: Where,
    today: string,
    lookups: Map<string, Promise<unknown>>,
  ): Promise<PupilRecord> {
    const studentHref = `/rest-v2/students/${encodeURIComponent(changed.id)}`;
    // A changed student without its `person` (a reference only) is read whole, as the client's
    // ModelBase::getProperty refreshes it; still without one, its person is unknown and the names,
    // date of birth and address Doorstep had are kept (left out), never cleared.
    const s =
      changed.person === undefined ? await this.retrieve(studentHref, 'student', student, where) : changed;
    const p = s.person ? await this.retrieve(s.person.href, 'person', person, where) : null;
    const byStudent = { 'filters.student.equals': studentHref };
    const upn = upnFrom(await this.query('UkDfe_UpnAssignment', byStudent, upnAssignment), today);
    const cp = await this.query(
      'ChildProtectionStatusAssignment',
      byStudent,
      childProtectionStatusAssignment,
    );
    const inCare = await this.query('InCareStatusAssignment', byStudent, statusAssignment);
    const carer = await this.query('UkDfe_YoungCarerStatusAssignment', byStudent, statusAssignment);
    const sen = await this.query('SenStatusAssignment', byStudent, senStatusAssignment);
    // EHC plan: a current SEN status whose DfE code is E.
    let senEhcp = false;
    for (const a of sen.filter((a) => current(a.startDate, a.endDate, today))) {
      if (!a.senStatus) continue;
      const st = await this.cached(lookups, a.senStatus.href, 'senStatus', senStatus, where);
      if (st.d00229?.toUpperCase() === 'E') senEhcp = true;
    }
    // What Arbor's published models let Doorstep read; CIN has no model there (docs/attendance-in.md:
    // connector table), so it is left as it was.
    const flags = {
      cpPlan: anyCurrent(cp, today),
      lac: anyCurrent(inCare, today),
      senEhcp,
      youngCarer: anyCurrent(carer, today),
    };
    const address = s.person ? await homeAddress(this, s.person.href, where, today) : null;
    return {
      misId: s.id,
      ...upn,
      ...(s.person === undefined
        ? {}
        : {
            forename: p?.legalFirstName ?? null,
            surname: p?.legalLastName ?? null,
            preferredName: p?.preferredFirstName ?? null,
            dob: p?.dateOfBirth ? p.dateOfBirth.slice(0, 10) : null,
          }),
      ...(s.person === undefined ? {} : { address }),
      flags,
      contacts: await contactsOf(this, studentHref, where),
      where,
    };
  }
}

/** Most records a conflict between current UPN assignments names. */
const MAX_UPN_RECORDS_NAMED = 5;

/**
 * The pupil's UPN from their current UPN assignments (permanent ones first, temporary only when
 * there is none). Two different UPNs of the kind taken cannot be told apart — which one came first
 * is only the API's row order, and a CTF matches pupils by UPN — so none is taken (the UPN Doorstep
 * had is kept) and the assignments are named as unusable; the same UPN listed twice is one UPN.
 *
 * No current one clears the UPN only when some assignment carries a UPN, every one that does has
 * ended, and no current assignment carries none. A current assignment whose `upn` is null, blank or
 * left out (read whole, as `current` in household.ts says) is the one thing here that stays unknown:
 * the pupil holds a UPN Arbor does not say, so it is not cleared. With none listed, none carrying a
 * UPN, or a current one carrying none, the UPN is left out — kept as Doorstep had it (a CTF matches
 * pupils by it), never sent as null.
 */
function upnFrom(
  listed: {
    upn?: string | null | undefined;
    isTemporary?: boolean | null | undefined;
    startDatetime?: string | null | undefined;
    endDatetime?: string | null | undefined;
    id?: unknown;
  }[],
  today: string,
): Pick<PupilRecord, 'upn' | 'unusable'> {
  const carrying = listed.filter((u) => u.upn?.trim());
  const upns = carrying
    .filter((u) => current(u.startDatetime, u.endDatetime, today))
    .sort((a, b) => Number(a.isTemporary ?? false) - Number(b.isTemporary ?? false));
  if (upns.length === 0) {
    const unsaid = listed.some((u) => !u.upn?.trim() && current(u.startDatetime, u.endDatetime, today));
    return carrying.length > 0 && !unsaid ? upnOf(null, 'upn') : {};
  }
  const taken = upns.filter((u) => (u.isTemporary ?? false) === (upns[0]?.isTemporary ?? false));
  const byUpn = new Map<string, (typeof upns)[number]>();
  for (const u of taken) if (!byUpn.has(u.upn!.trim())) byUpn.set(u.upn!.trim(), u);
  if (byUpn.size < 2) return upnOf(upns[0]?.upn, 'upn');
  // Named by record id, never by UPN (personal data), in a stable order whatever order Arbor listed them in.
  const ids = [...byUpn.values()]
    .map((u) =>
      typeof u.id === 'number' || typeof u.id === 'string' ? safeText(String(u.id).slice(0, 64)) : '(no id)',
    )
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const named =
    ids.length > MAX_UPN_RECORDS_NAMED
      ? [...ids.slice(0, MAX_UPN_RECORDS_NAMED), `${ids.length - MAX_UPN_RECORDS_NAMED} more`]
      : ids;
  const kind = upns[0]?.isTemporary ? 'temporary' : 'permanent';
  return {
    unusable: [
      {
        field: `upn (UkDfe_UpnAssignments ${named.slice(0, -1).join(', ')} and ${named.at(-1)}: ${byUpn.size} different current ${kind} UPNs)`,
        expected: `one current ${kind} UPN (which is the pupil's cannot be told: end the wrong assignment in Arbor)`,
      },
    ],
  };
}

/** A registration session's half of the day by its name: AM… / Morning…, PM… / Afternoon…. */
function halfByName(sessionName: string | null | undefined): 'AM' | 'PM' | null {
  const name = (sessionName ?? '').trim().toUpperCase();
  if (/^(AM|MORNING)\b/.test(name)) return 'AM';
  if (/^(PM|AFTERNOON)\b/.test(name)) return 'PM';
  return null;
}
