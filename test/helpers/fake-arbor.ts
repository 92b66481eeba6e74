import nock from 'nock';
import { ArborSource } from '../../connectors/mis/arbor/source.ts';
import { Secret } from '../../src/core/secret.ts';

/**
 * A fake Arbor REST v2 host, serving what Arbor's published PHP client (arbor-education/sis-sdk-php)
 * reads and writes — field names exactly as its model constants, envelopes as its RestGateway:
 * retrieve answers `{ "<lcfirst type>": {…} }`, query `GET /rest-v2/{PluralType}` with
 * `filters.<prop>.equals` answers `{ "<lcfirst plural>": [ … ] }` paged by `page` / `page-size`, and
 * `GET /rest-v2/{plural-dashed}/changelog?from-revision=N` answers `{ changes: [ { changeType,
 * fromRevision, toRevision, changedObject } ] }` (at most `changelogChunk` changes an answer).
 * Notes are created as RestGateway::create sends them (see NOTE_MODELS). Written from those files,
 * not from Doorstep's wire.ts.
 */
export interface ArborChange {
  changeType: 'CREATE' | 'UPDATE' | 'DELETE';
  fromRevision: number;
  toRevision: number;
  changedObject: Record<string, unknown>;
}

export interface FakePupil {
  id: number;
  upn?: string;
  first: string;
  last: string;
  dob: string;
  cpPlan?: boolean;
  lac?: boolean;
  /** The DfE SEN provision code of a current SEN status (`E`: EHC plan, `K`: SEN support). */
  sen?: 'E' | 'K';
  youngCarer?: boolean;
  address?: { address1: string; address2?: string; postalTown: string; postalCode: string };
  guardians?: {
    first: string;
    last: string;
    type: string;
    priority: number;
    legal: boolean;
    phone?: string;
    email?: string;
  }[];
}

/**
 * Where the client's RestGateway::retrieve reads an object of `type`: `/rest-v2/{plural-dashed}/{id}`,
 * the plural by src/Arbor/Filter/PluralizeFilter.php, dashed by src/Arbor/Filter/CamelCaseToDash.php,
 * lower-cased (`UkDfe_UpnAssignment` → `/rest-v2/uk-dfe_upn-assignments/ID`).
 */
export function retrieveHref(type: string, id: number | string): string {
  const plural = type.endsWith('s')
    ? `${type.slice(0, -1)}ses`
    : type.endsWith('y') && !type.endsWith('ay')
      ? `${type.slice(0, -1)}ies`
      : `${type}s`;
  const dashed = plural
    .replace(/(?<=[A-Z])([A-Z]+)([A-Z][A-z])/g, '$1-$2')
    .replace(/(?<=[a-z0-9])([A-Z])/g, '-$1');
  return `/rest-v2/${dashed.toLowerCase()}/${id}`;
}

const ref = (entityType: string, path: string, id: number | string) => ({
  entityType,
  id,
  href: `/rest-v2/${path}/${id}`,
});

/** Arbor's own marks (src/Arbor/Model/AttendanceMark.php): `code` is Arbor's, `attendanceMark` the symbol. */
export const ARBOR_MARKS = {
  PRESENT_AM: {
    code: 'PRESENT_AM',
    attendanceMark: '/',
    markDescription: 'Present (AM)',
    isStatisticalPresent: true,
    isStatisticalAuthorizedAbsent: false,
    isStatisticalUnauthorizedAbsent: false,
    isStatisticalApprovedEducationalActivity: false,
    isStatisticalPossibleAttendance: true,
  },
  UNAUTH_N: {
    code: 'UNAUTH_N',
    attendanceMark: 'N',
    markDescription: 'No reason yet provided',
    isStatisticalPresent: false,
    isStatisticalAuthorizedAbsent: false,
    isStatisticalUnauthorizedAbsent: true,
    isStatisticalApprovedEducationalActivity: false,
    isStatisticalPossibleAttendance: true,
  },
  ILLNESS: {
    code: 'ILLNESS',
    attendanceMark: 'I',
    markDescription: 'Illness',
    isStatisticalPresent: false,
    isStatisticalAuthorizedAbsent: true,
    isStatisticalUnauthorizedAbsent: false,
    isStatisticalApprovedEducationalActivity: false,
    isStatisticalPossibleAttendance: true,
  },
  /** Set up wrongly in the school's Arbor: `I` counted as unauthorised. */
  ILLNESS_MISCOUNTED: {
    code: 'ILLNESS_MISCOUNTED',
    attendanceMark: 'I',
    markDescription: 'Illness',
    isStatisticalPresent: false,
    isStatisticalAuthorizedAbsent: false,
    isStatisticalUnauthorizedAbsent: true,
    isStatisticalApprovedEducationalActivity: false,
    isStatisticalPossibleAttendance: true,
  },
} as const;

/**
 * The note models a school's records go to, as the client defines them: src/Arbor/Model/PastoralNote.php
 * (STUDENT, SUMMARY, CONTENT, NOTE_DATE) and src/Arbor/Model/SafeguardingNote.php (STUDENT, DATE_LOGGED,
 * SUMMARY, CONTENT). RestGateway::create posts to `/rest-v2/{plural-dashed}` the model as
 * Hydrator::extractArray writes it — `entityType`, related models as `{entityType, href}`, a DateTime as
 * `{"entityType":"date","date":"Y-m-d H:i:s"}` — under `{"request":{"<lcfirst type>":…}}`.
 */
const NOTE_MODELS = {
  'pastoral-notes': {
    type: 'PastoralNote',
    root: 'pastoralNote',
    props: ['student', 'summary', 'content', 'noteDate'],
    date: 'noteDate',
  },
  'safeguarding-notes': {
    type: 'SafeguardingNote',
    root: 'safeguardingNote',
    props: ['student', 'dateLogged', 'summary', 'content'],
    date: 'dateLogged',
  },
} as const;

/** Arbor's validation answer (RestGateway::sendRequest reads `response.errors[0]`). */
const invalid = (message: string): [number, unknown] => [
  422,
  {
    response: {
      code: 422,
      reason: 'Unprocessable Entity',
      errors: [{ exception: 'ValidationException', message, trace: [] }],
    },
  },
];

export class FakeArbor {
  /** Notes created through the API, as stored (with the id Arbor gave). */
  readonly notes: { type: 'PastoralNote' | 'SafeguardingNote'; note: Record<string, unknown> }[] = [];
  readonly studentChanges: ArborChange[] = [];
  readonly recordChanges: ArborChange[] = [];
  /** href → [root, object] */
  readonly objects = new Map<string, [string, Record<string, unknown>]>();
  /** Plural type → rows. */
  readonly lists = new Map<string, Record<string, unknown>[]>();
  /** Answered before the data, in order, for requests whose path matches. */
  readonly failures: { path: RegExp; status: number; headers?: Record<string, string>; body?: unknown }[] =
    [];
  readonly requests: string[] = [];
  changelogChunk = 100;
  /** Notes still to be made whose answer is then lost (504 after the note exists). */
  answersToLose = 0;
  /**
   * Listed rows as references only (`{entityType, id, href}`), their properties read at their href —
   * the form the client's ModelBase::getProperty is written for (a property a row lacks is refreshed:
   * src/Arbor/Model/ModelBase.php). Every listed row is also an object at its href, as in Arbor.
   */
  listsAsReferences = false;
  /** Changed students as references only (`{entityType, id, href}`): the student read at its href. */
  studentChangesAsReferences = false;
  /** A note read at its own href is refused (403): an app whose role may list notes but not open one. */
  refusesNoteReads = false;
  /**
   * How a query with no rows is answered: the list empty (`{"pastoralNotes":[]}`), or without it —
   * Arbor's success envelope alone (`{"response":{"code":200,…}}`) or nothing at all (`{}`), both of
   * which the client's RestGateway::query reads as no rows.
   */
  emptyListsAs: 'list' | 'envelope' | 'nothing' = 'list';
  private revision = 0;
  private nextId = 1000;

  readonly base: string;
  private readonly auth: string;

  constructor(base: string, auth: string) {
    this.base = base;
    this.auth = auth;
    this.put('session', ref('Session', 'sessions', 1).href, {
      startDatetime: '2025-01-13 08:40:00',
      sessionName: 'AM',
    });
    this.put('session', ref('Session', 'sessions', 2).href, {
      startDatetime: '2025-01-13 13:10:00',
      sessionName: 'PM',
    });
    for (const m of Object.values(ARBOR_MARKS))
      this.put('attendanceMark', `/rest-v2/attendance-marks/${m.code}`, m);
    for (const [code, name] of [
      ['E', 'Education, Health and Care Plan'],
      ['K', 'SEN Support'],
    ]) {
      this.put('senStatus', `/rest-v2/sen-statuses/${code}`, {
        code,
        d00229: code,
        senStatusName: name,
        active: true,
      });
    }
  }

  private put(root: string, href: string, obj: Record<string, unknown>) {
    const last = href.split('/').at(-1)!;
    const id = /^\d+$/.test(last) ? Number(last) : last;
    this.objects.set(href, [root, { entityType: root[0]!.toUpperCase() + root.slice(1), id, href, ...obj }]);
  }

  /** A row of a query's list, also retrievable whole at its own href (under its type's root). */
  private row(plural: string, row: Record<string, unknown> & { entityType: string }) {
    const rows = this.lists.get(plural) ?? [];
    const id = this.nextId++;
    const whole = { id, href: retrieveHref(row.entityType, id), ...row };
    rows.push(whole);
    this.lists.set(plural, rows);
    this.objects.set(whole.href, [row.entityType[0]!.toLowerCase() + row.entityType.slice(1), whole]);
  }

  addPupil(p: FakePupil, changeType: 'CREATE' | 'UPDATE' = 'CREATE'): void {
    const personId = p.id + 50_000;
    const personRef = ref('Person', 'people', personId);
    const studentRef = ref('Student', 'students', p.id);
    this.put('person', personRef.href, {
      id: personId,
      legalFirstName: p.first,
      legalLastName: p.last,
      preferredFirstName: null,
      dateOfBirth: p.dob,
    });
    if (p.upn) {
      this.row('UkDfe_UpnAssignments', {
        entityType: 'UkDfe_UpnAssignment',
        student: studentRef,
        upn: p.upn,
        startDatetime: '2019-09-01 00:00:00',
        endDatetime: null,
        isTemporary: false,
      });
    }
    if (p.cpPlan) {
      this.row('ChildProtectionStatusAssignments', {
        entityType: 'ChildProtectionStatusAssignment',
        student: studentRef,
        childProtectionStatus: ref('ChildProtectionStatus', 'child-protection-statuses', 'CPP'),
        startDate: '2024-11-01',
        endDate: null,
      });
    }
    if (p.lac) {
      this.row('InCareStatusAssignments', {
        entityType: 'InCareStatusAssignment',
        student: studentRef,
        inCareStatus: ref('InCareStatus', 'in-care-statuses', 'FOSTERED'),
        startDate: '2023-04-01',
        endDate: null,
      });
    }
    if (p.sen) {
      this.row('SenStatusAssignments', {
        entityType: 'SenStatusAssignment',
        student: studentRef,
        senStatus: ref('SenStatus', 'sen-statuses', p.sen),
        startDate: '2022-09-01',
        endDate: null,
      });
    }
    if (p.youngCarer) {
      this.row('UkDfe_YoungCarerStatusAssignments', {
        entityType: 'UkDfe_YoungCarerStatusAssignment',
        student: studentRef,
        identifiedBy: 'SCHOOL',
        startDate: '2024-01-10',
        endDate: null,
      });
    }
    // An ended CP status must not count.
    this.row('ChildProtectionStatusAssignments', {
      entityType: 'ChildProtectionStatusAssignment',
      student: studentRef,
      childProtectionStatus: ref('ChildProtectionStatus', 'child-protection-statuses', 'CPP'),
      startDate: '2021-01-01',
      endDate: '2021-06-30',
    });
    if (p.address) {
      const addressRef = ref('PostalAddress', 'postal-addresses', this.nextId++);
      this.put('postalAddress', addressRef.href, { address3: null, ...p.address });
      this.row('PostalAddressOccupancies', {
        entityType: 'PostalAddressOccupancy',
        postalAddress: addressRef,
        occupant: personRef,
        effectiveDate: '2020-01-01',
        endDate: null,
        postalAddressType: 'HOME',
        isCorrespondenceAddress: true,
      });
    }
    for (const g of p.guardians ?? []) {
      const gPersonRef = ref('Person', 'people', this.nextId++);
      const guardianRef = ref('Guardian', 'guardians', this.nextId++);
      this.put('person', gPersonRef.href, { legalFirstName: g.first, legalLastName: g.last });
      this.put('guardian', guardianRef.href, { person: gPersonRef, preferredContactMethod: 'PHONE' });
      this.row('StudentGuardianRelationships', {
        entityType: 'StudentGuardianRelationship',
        student: studentRef,
        guardian: guardianRef,
        guardianRelationshipType: ref('GuardianRelationshipType', 'guardian-relationship-types', g.type),
        isLegalGuardian: g.legal,
        isPrimaryGuardian: g.priority === 1,
        emergencyContactPriority: g.priority,
      });
      if (g.phone) {
        this.row('TelephoneNumbers', {
          entityType: 'TelephoneNumber',
          numberOwner: gPersonRef,
          telephoneNumberType: 'MOBILE',
          number: g.phone,
          telephoneNumberRanking: 1,
        });
      }
      if (g.email) {
        this.row('EmailAddresses', {
          entityType: 'EmailAddress',
          emailAddressOwner: gPersonRef,
          emailAddressType: 'HOME',
          emailAddress: g.email,
          dataOrder: 1,
        });
      }
    }
    this.put('student', studentRef.href, { person: personRef, studentNumber: `S${p.id}` });
    this.studentChanges.push({
      changeType,
      fromRevision: this.revision,
      toRevision: ++this.revision,
      changedObject: { ...studentRef, person: personRef, studentNumber: `S${p.id}` },
    });
  }

  removePupil(id: number): void {
    this.studentChanges.push({
      changeType: 'DELETE',
      fromRevision: this.revision,
      toRevision: ++this.revision,
      changedObject: ref('Student', 'students', id),
    });
  }

  /** A registration session (ids 1 and 2 are 2025-01-13 AM and PM). */
  addSession(id: number, startDatetime: string, sessionName: 'AM' | 'PM'): void {
    this.put('session', ref('Session', 'sessions', id).href, { startDatetime, sessionName });
  }

  /**
   * A session as Session.php has it with its register's type (AttendanceRegisterType.php: `isMorning`,
   * `isAfternoon`) — a lesson's register is neither — and optionally the lesson's academic unit.
   */
  addRegisterSession(
    id: number,
    startDatetime: string,
    sessionName: string,
    register: { code: string; isMorning: boolean | null; isAfternoon: boolean | null } | null,
    academicUnit?: number,
  ): void {
    const type = register ? ref('AttendanceRegisterType', 'attendance-register-types', id) : null;
    if (type && register) this.put('attendanceRegisterType', type.href, { ...register, active: true });
    this.put('session', ref('Session', 'sessions', id).href, {
      startDatetime,
      sessionName,
      ...(type ? { attendanceRegisterType: type } : {}),
      ...(academicUnit ? { academicUnit: ref('AcademicUnit', 'academic-units', academicUnit) } : {}),
    });
  }

  /** A record with one of ARBOR_MARKS, or a code set up with `addAttendanceMark`. */
  addMark(
    recordId: number,
    studentId: number,
    session: number,
    markCode: string,
    deleted = false,
    changeType: 'CREATE' | 'UPDATE' = 'CREATE',
  ) {
    this.recordChanges.push({
      changeType: deleted ? 'DELETE' : changeType,
      fromRevision: this.revision,
      toRevision: ++this.revision,
      changedObject: {
        ...ref('AttendanceRecord', 'attendance-records', recordId),
        student: ref('Student', 'students', studentId),
        attendanceMark: {
          entityType: 'AttendanceMark',
          id: markCode,
          href: `/rest-v2/attendance-marks/${markCode}`,
        },
        session: ref('Session', 'sessions', session),
        // The record's own times: a late arrival's, not the register's; AM/PM is the session's.
        startDatetime: session === 1 ? '2025-01-13 12:10:00' : session === 2 ? '2025-01-13 13:10:00' : null,
        endDatetime: null,
        minutesLate: null,
      },
    });
  }

  /** A record deleted in Arbor: the change names it only, as a deleted student is named. */
  deleteMark(recordId: number): void {
    this.recordChanges.push({
      changeType: 'DELETE',
      fromRevision: this.revision,
      toRevision: ++this.revision,
      changedObject: ref('AttendanceRecord', 'attendance-records', recordId),
    });
  }

  /** An AttendanceMark of the school's own (e.g. a symbol Doorstep does not know). */
  addAttendanceMark(mark: { code: string; attendanceMark: string } & Record<string, unknown>): void {
    this.put('attendanceMark', `/rest-v2/attendance-marks/${mark.code}`, mark);
  }

  /** Intercepts every GET, and POSTs of notes, to the base URL until `nock.cleanAll()`. */
  install(): void {
    nock(this.base, { reqheaders: { authorization: this.auth } })
      .persist()
      .get(() => true)
      .query(true)
      .reply((req: unknown) => this.answer(typeof req === 'string' ? req : (req as Request).url))
      .post(() => true)
      .reply(async (req: Request) => this.create(req.url, await req.json().catch(() => null)));
    // Any other credentials: refused, as Arbor refuses them.
    nock(this.base)
      .persist()
      .get(() => true)
      .query(true)
      .reply(401, { response: { code: 401, reason: 'Unauthorized' } })
      .post(() => true)
      .reply(401, { response: { code: 401, reason: 'Unauthorized' } });
  }

  /** RestGateway::create of a note: the envelope and every property checked against the model. */
  private create(uri: string, body: unknown): [number, unknown, Record<string, string>?] {
    const url = new URL(uri, this.base);
    this.requests.push(`POST ${url.pathname}`);
    const failure = this.failures.findIndex((f) => f.path.test(url.pathname));
    if (failure >= 0) {
      const f = this.failures.splice(failure, 1)[0]!;
      return [f.status, f.body ?? '', f.headers ?? {}];
    }
    const path = /^\/rest-v2\/([a-z-]+)$/.exec(url.pathname)?.[1];
    const model = path && path in NOTE_MODELS ? NOTE_MODELS[path as keyof typeof NOTE_MODELS] : null;
    if (!model) return [404, { response: { code: 404, reason: 'Not Found' } }];
    const request = (body as { request?: unknown } | null)?.request;
    if (!request || typeof request !== 'object' || Object.keys(request).join() !== model.root)
      return invalid(`expected {"request":{"${model.root}":{…}}}`);
    const note = (request as Record<string, unknown>)[model.root] as Record<string, unknown>;
    if (!note || typeof note !== 'object') return invalid(`${model.root}: expected an object`);
    for (const k of Object.keys(note))
      if (k !== 'entityType' && !(model.props as readonly string[]).includes(k))
        return invalid(`${model.type} has no property ${k}`);
    if (note.entityType !== undefined && note.entityType !== model.type)
      return invalid(`entityType: expected ${model.type}`);
    const student = note.student as { entityType?: unknown; href?: unknown } | undefined;
    const studentId =
      typeof student?.href === 'string' ? /^\/rest-v2\/students\/(\d+)$/.exec(student.href)?.[1] : null;
    if (student?.entityType !== 'Student' || !studentId)
      return invalid('student: expected a Student reference');
    if (!this.studentChanges.some((c) => c.changedObject.id === Number(studentId)))
      return invalid(`student: no Student ${studentId}`);
    if (typeof note.summary !== 'string' || note.summary.length === 0 || note.summary.length > 255)
      return invalid('summary: expected text of at most 255 characters');
    if (typeof note.content !== 'string') return invalid('content: expected text');
    const date = note[model.date] as { entityType?: unknown; date?: unknown } | undefined;
    if (
      date?.entityType !== 'date' ||
      typeof date.date !== 'string' ||
      !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(date.date)
    )
      return invalid(`${model.date}: expected {"entityType":"date","date":"Y-m-d H:i:s"}`);
    const id = this.nextId++;
    const stored = { ...note, entityType: model.type, id, href: `/rest-v2/${path}/${id}` };
    this.notes.push({ type: model.type, note: stored });
    this.objects.set(stored.href, [model.root, stored]);
    // Listed where RestGateway::query reads them (`/rest-v2/PastoralNotes`, …).
    const list = `${model.type}s`;
    this.lists.set(list, [...(this.lists.get(list) ?? []), stored]);
    // The note is made, but its answer never reaches the caller (a timeout, a dropped connection).
    if (this.answersToLose > 0) {
      this.answersToLose--;
      return [504, ''];
    }
    // RestGateway::create reads the created object at the top level of the answer.
    return [201, { [model.root]: stored }];
  }

  private answer(uri: string): [number, unknown, Record<string, string>?] {
    const url = new URL(uri, this.base);
    this.requests.push(url.pathname + url.search);
    const failure = this.failures.findIndex((f) => f.path.test(url.pathname));
    if (failure >= 0) {
      const f = this.failures.splice(failure, 1)[0]!;
      return [f.status, f.body ?? '', f.headers ?? {}];
    }
    const changelog = /^\/rest-v2\/(students|attendance-records)\/changelog$/.exec(url.pathname);
    if (changelog) {
      const from = Number(url.searchParams.get('from-revision') ?? 0);
      const all = changelog[1] === 'students' ? this.studentChanges : this.recordChanges;
      const changes = all.filter((c) => c.toRevision > from).slice(0, this.changelogChunk);
      if (changelog[1] === 'students' && this.studentChangesAsReferences) {
        const bare = ({ entityType, id, href }: Record<string, unknown>) => ({ entityType, id, href });
        return [200, { changes: changes.map((c) => ({ ...c, changedObject: bare(c.changedObject) })) }];
      }
      return [200, { changes }];
    }
    const object = this.objects.get(url.pathname);
    if (object && this.refusesNoteReads && this.notes.some((n) => n.note.href === url.pathname))
      return [403, { response: { code: 403, reason: 'Forbidden' } }];
    if (object) return [200, { [object[0]]: object[1] }];
    const plural = /^\/rest-v2\/([A-Za-z_]+)$/.exec(url.pathname)?.[1];
    if (plural && (this.lists.has(plural) || /^[A-Z]/.test(plural))) {
      let rows = this.lists.get(plural) ?? [];
      for (const [k, v] of url.searchParams) {
        const m = /^filters\.(\w+)\.equals$/.exec(k);
        if (m) rows = rows.filter((r) => (r[m[1]!] as { href?: string } | undefined)?.href === v);
        // `from` on a date property (Query::OPERATOR_FROM): on or after the given date and time.
        const from = /^filters\.(\w+)\.from$/.exec(k);
        if (from)
          rows = rows.filter((r) => String((r[from[1]!] as { date?: string } | undefined)?.date ?? '') >= v);
      }
      const page = Number(url.searchParams.get('page') ?? 1);
      const size = Number(url.searchParams.get('page-size') ?? 100);
      const root = plural[0]!.toLowerCase() + plural.slice(1);
      const shown = rows.slice((page - 1) * size, page * size);
      if (shown.length === 0 && this.emptyListsAs !== 'list')
        return [200, this.emptyListsAs === 'envelope' ? { response: { code: 200, reason: 'OK' } } : {}];
      return [
        200,
        {
          [root]: this.listsAsReferences
            ? shown.map(({ entityType, id, href }) => ({ entityType, id, href }))
            : shown,
        },
      ];
    }
    return [404, { response: { code: 404, reason: 'Not Found' } }];
  }
}

/** The partner app's credentials the Arbor sync tests use, as the fake checks them. */
export const FAKE_ARBOR_AUTH = `Basic ${Buffer.from('doorstep-app:s3cret').toString('base64')}`;

/** Doorstep's Arbor source against a fake at `base` with those credentials, its clock, no waiting. */
export function fakeArborSource(base: string, now: () => Date): ArborSource {
  return new ArborSource({
    baseUrl: base,
    username: 'doorstep-app',
    password: new Secret('s3cret', 'env:T'),
    now,
    http: { sleep: async () => {} },
  });
}
