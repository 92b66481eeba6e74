import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectHtml } from '../../src/cli/subject-page.ts';
import { isDoorstepError } from '../../src/errors.ts';
import { appendAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { correctField, exportSubject, resolveSubject, WITHHELD } from '../../src/store/subject.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { SECTIONS } from '../../src/store/subject-sections.ts';
import { BACKENDS, findEverywhere, insert, type TestStore } from './dp-fixtures.ts';

/**
 * Subject access and erasure. The export must hold a section for every table whose columns can
 * name a person (checked against the schema), and find the person's rows in each; an erased
 * pupil's values must be nowhere in the database afterwards (every text, JSON and array column).
 */
const NOW = new Date('2026-03-15T12:00:00Z');
/** When the pupil is erased: a day after their visits were back safe (no longer to be undone). */
const ERASED_AT = new Date('2026-03-16T12:00:00Z');

/** Columns that name a pupil, or a member of staff (their account or device-registry id). */
const PUPIL_COLUMN = /^(pupil_mis_id|pupil_ids|changed_pupils)$/;
const STAFF_COLUMN = /(^|_)staff_id$|(^|_)user_id$|_by$|^by_whom$|^actor$/;

const PERSONAL = {
  forename: 'Zephyrine',
  surname: 'Quillfeather',
  upn: 'Z801200001234',
  line1: '17 Marrowbone Lane',
  postcode: 'ZZ9 9QX',
  parent: 'Ottoline Quillfeather',
  phone: '+447700900999',
  email: 'ottoline@example.invalid',
  concern: 'Disclosed worry about neighbour Xanthippe',
};

async function seedPupil(db: Db, school: string, id: string, v: typeof PERSONAL) {
  const staff = await insert(db, 'users', {
    username: `staff-${school}-${id}`,
    display_name: 'Sam Staff',
    password_hash: 'scrypt$secret',
    roles: ['visiting-staff'],
    staff_id: `st-${school}-${id}`,
    phone: '+447700900111',
  });
  await insert(db, 'sessions', {
    token_hash: `tok-${school}-${id}`,
    user_id: staff,
    csrf_token: 'csrf',
    expires_at: NOW,
  });
  await insert(db, 'push_subscriptions', {
    user_id: staff,
    endpoint: `https://fcm.googleapis.com/fcm/send/${school}-${id}`,
    p256dh: 'BPublicKeyOfTheBrowser',
    auth: 'authSecret',
    vapid_public_key: 'BVapidPublicKey',
  });
  await insert(db, 'pupils', {
    school_id: school,
    mis_id: id,
    upn: v.upn,
    forename: v.forename,
    surname: v.surname,
    address: { line1: v.line1, postcode: v.postcode },
    flags: { cpPlan: true },
    manual_flags: { welfareConcern: { reason: v.concern, by: 'user:1', at: '2026-03-02T09:00:00Z' } },
  });
  await insert(db, 'pupil_contacts', {
    school_id: school,
    pupil_mis_id: id,
    priority: 1,
    name: v.parent,
    parental_responsibility: true,
    phone: v.phone,
    email: v.email,
  });
  await insert(db, 'attendance_marks', {
    school_id: school,
    pupil_mis_id: id,
    date: '2026-03-02',
    session: 'AM',
    code: 'N',
    category: 'unauthorised_absence',
    import_id: 1,
  });
  await insert(db, 'mark_records', {
    school_id: school,
    pupil_mis_id: id,
    date: '2026-03-02',
    session: 'AM',
    record_id: '4711',
    import_id: 1,
  });
  await insert(db, 'held_marks', {
    school_id: school,
    source: 'arbor',
    pupil_mis_id: id,
    date: '2026-03-09',
    session: 'AM',
    mark: 'N',
    record_id: '4712',
    why: 'future-date',
  });
  await insert(db, 'imports', {
    school_id: school,
    source: 'csv',
    unit: 'marks.csv',
    status: 'applied',
    started_at: NOW,
    changed_pupils: JSON.stringify([id, 'someone-else']),
    rejected: JSON.stringify([
      { where: `marks.csv line 3 pupil ${id}`, reason: 'future date', pupil: id },
      { where: 'marks.csv line 8 pupil someone-else', reason: 'future date', pupil: 'someone-else' },
    ]),
    calendar_problem_count: 2,
    calendar_problems: JSON.stringify([
      {
        where: 'marks.csv, line 4',
        pupil: id,
        date: '2026-01-05',
        session: 'AM',
        code: '/',
        closed: 'inset',
      },
      {
        where: 'marks.csv, line 9',
        pupil: 'someone-else',
        date: '2026-01-05',
        session: 'AM',
        code: '/',
        closed: 'inset',
      },
    ]),
    // The rejected rows by cause keep the first ids of each cause: the pupil's among them.
    rejected_causes: JSON.stringify([
      {
        cause: 'a pupil not on the school list',
        rows: 2,
        idKind: 'pupils',
        ids: 2,
        first: [id, 'someone-else'],
        firstAt: 'marks.csv, line 3',
      },
    ]),
  });
  await insert(db, 'leave_refusals', {
    school_id: school,
    pupil_mis_id: id,
    from_date: '2026-01-05',
    to_date: '2026-01-09',
    recorded_by: `user:${staff}`,
  });
  const episode = await insert(db, 'trigger_episodes', {
    school_id: school,
    pupil_mis_id: id,
    rule_key: 'statutory:n-unresolved',
    title: `N unresolved: ${v.forename} ${v.surname}`,
    action: 'home-visit',
    role: 'dsl',
    status: 'open',
    opened_on: '2026-03-09',
    explanation: `${v.forename} has N codes`,
    evidence: { name: v.surname },
  });
  // A phone call home recorded done by the member of staff: what was said is the family's, not theirs.
  const called = await insert(db, 'trigger_episodes', {
    school_id: school,
    pupil_mis_id: id,
    rule_key: 'heath-lane:first-day-call',
    title: `First day: ${v.forename}`,
    action: 'phone-call',
    role: 'attendance-coordinator',
    status: 'open',
    opened_on: '2026-03-09',
    explanation: 'absent',
    evidence: {},
  });
  await insert(db, 'trigger_actions', {
    school_id: school,
    episode_id: called,
    pupil_mis_id: id,
    action: 'phone-call',
    done_on: '2026-03-09',
    done_by: `user:${staff}`,
    note: `Spoke to ${v.parent} on ${v.phone}`,
    recorded_at: NOW,
  });
  const visit = await insert(db, 'visits', {
    school_id: school,
    pupil_mis_id: id,
    trigger_episode_id: episode,
    reason: `welfare check on ${v.forename}`,
    address: { line1: v.line1, postcode: v.postcode },
    planned_for: '2026-03-10',
    status: 'completed',
    requested_by: staff,
    lead_user_id: staff,
    departed_at: NOW,
    returned_at: NOW,
    outcome: { childSeen: true, spokeTo: v.parent, concerns: `${v.surname} family` },
    worker_phone: '+447700900111',
    risk_assessed_by: `user:${staff}`,
    safe_word: `bluebird-${id}`,
    vehicle: { registration: `WX${id}ABC`, make: 'Skoda' },
    risk_notes: `Risk note for ${id}: partner hostile to staff`,
    risk_assessed_flags: [424242],
  });
  await insert(db, 'visit_check_ins', { visit_id: visit, at: NOW, source: 'phone', by_user_id: staff });
  // A fob check-in counted for the visit: its event holds the position at the family's door.
  const checkInEvent = await insert(db, 'fob_events', {
    school_id: school,
    device_id: 'd1',
    vendor_event_id: `c-${id}`,
    type: 'check_in',
    occurred_at: NOW,
    received_at: NOW,
    staff_id: `st-${school}-${id}`,
    location: { lat: 51.4321, lon: -0.9876 },
    transport: 'mqtt',
    profile: 'generic',
    raw: JSON.stringify({ event_id: `c-${id}`, lat: 51.4321, lon: -0.9876, note: `door-of-${id}` }),
  });
  await insert(db, 'visit_check_ins', {
    visit_id: visit,
    at: NOW,
    source: 'fob',
    fob_event_id: checkInEvent,
  });
  await insert(db, 'follow_ups', {
    school_id: school,
    visit_id: visit,
    pupil_mis_id: id,
    action: `letter to ${v.parent}`,
    owner: 'office',
    done_by: staff,
    done_note: `${v.surname} family rang back`,
  });
  await insert(db, 'visit_return_changes', {
    visit_id: visit,
    at: NOW,
    by_user_id: staff,
    new_at: NOW,
    reason: `${v.parent} asked us to stay`,
  });
  await insert(db, 'notices', {
    school_id: school,
    kind: 'child-not-seen',
    visit_id: visit,
    target: 'email:dsl',
    subject: 'child not seen',
    text: `A child was not seen at ${v.line1}`,
  });
  // Staff safety data copied into free text: Hampton's visit-record copy, the incident notice.
  await insert(db, 'notices', {
    school_id: school,
    kind: 'incident',
    visit_id: visit,
    target: 'email:dsl',
    subject: 'lone-worker incident',
    text: `Resolved as an incident: the worker was threatened with a knife-${id}`,
    notice_key: `incident-${id}`,
  });
  const fob = await insert(db, 'fob_events', {
    school_id: school,
    device_id: 'd1',
    vendor_event_id: `e-${id}`,
    type: 'sos',
    occurred_at: NOW,
    received_at: NOW,
    staff_id: `st-${school}-${id}`,
    // The SOS at the family's door: its position, the payload as received and the worker's message.
    location: { lat: 51.4321, lon: -0.9876 },
    message: `shouting at the door-of-${id}`,
    transport: 'mqtt',
    profile: 'generic',
    raw: JSON.stringify({ event_id: `e-${id}`, lat: 51.4321, lon: -0.9876, message: `door-of-${id}` }),
  });
  const alarm = await insert(db, 'alarms', {
    school_id: school,
    fob_event_id: fob,
    visit_id: visit,
    device_id: 'd1',
    staff_id: `st-${school}-${id}`,
    unknown_device: false,
    type: 'sos',
    status: 'resolved',
    raised_at: NOW,
    acknowledged_by: `user:${staff}`,
    resolution_note: `at ${v.line1}`,
    location: { lat: 51.4321, lon: -0.9876 },
  });
  await insert(db, 'alarm_timeline', {
    alarm_id: alarm,
    event: `alarm raised: sos — Sam Staff-${id} pressed "I need help" on the phone page`,
    by_whom: `user:${staff}`,
  });
  const notification = await insert(db, 'notifications', {
    alarm_id: alarm,
    step: 0,
    target: 'sms:on-call',
    status: 'sent',
  });
  await insert(db, 'notification_recipients', {
    notification_id: notification,
    recipient_key: 'h',
    receipt: 'SM1',
  });
  await insert(db, 'sms_replies', {
    message_sid: `SM-${school}-${id}`,
    school_id: school,
    received_at: NOW,
    sender_hash: 'h',
    outcome: 'taken',
    alarm_id: alarm,
    user_id: staff,
  });
  const record = await insert(db, 'outbox', {
    school_id: school,
    kind: 'visit_outcome',
    pupil_ids: JSON.stringify([id]),
    title: `Visit: ${v.forename} ${v.surname}`,
    body: `Spoke to ${v.parent} at ${v.line1}, ${v.postcode}`,
    occurred_at: NOW,
    sink: 'cpoms',
    idempotency_key: `visit-outcome:${school}:${visit}`,
    status: 'delivered',
    remote_id: 'cpoms-77',
    source_type: 'visit',
    source_id: visit,
  });
  await insert(db, 'outbox', {
    school_id: school,
    kind: 'lone_worker_incident',
    pupil_ids: JSON.stringify([id]),
    title: 'Lone-worker incident: sos',
    body: `Location: 51.43210, -0.98760\nNote: the worker was threatened with a knife-${id}`,
    occurred_at: NOW,
    sink: 'cpoms',
    idempotency_key: `incident:${school}:${alarm}`,
    status: 'delivered',
    source_type: 'alarm',
    source_id: alarm,
  });
  // A refused message from the wearer's fob (it may hold a position): theirs to see.
  await insert(db, 'rejected_events', {
    school_id: school,
    transport: 'mqtt',
    profile: 'generic',
    source: `doorstep/${school}/fobs/d1/events`,
    reason: 'signature: does not verify',
    raw: `{"deviceId":"d1","staffId":"st-${school}-${id}","lat":51.4321,"lon":-0.9876}`,
    received_at: NOW,
  });
  await insert(db, 'board_events', { school_id: school, type: 'visit.updated', payload: { visitId: visit } });
  await insert(db, 'board_events', { school_id: school, type: 'alarm.raised', payload: { alarmId: alarm } });
  await insert(db, 'board_events', {
    school_id: school,
    type: 'trigger.raised',
    payload: { pupilMisId: id },
  });
  await insert(db, 'address_flags', {
    school_id: school,
    postcode: 'ZZ99QX',
    level: 'caution',
    note: `Man at ${school}-${id} threatens callers`,
    created_by: `user:${staff}`,
  });
  await insert(db, 'alerts', {
    school_id: school,
    kind: 'delivery_failed',
    message: 'x',
    acknowledged_by: `user:${staff}`,
  });
  // Audit entries about the pupil and their things, with personal values in before/after.
  await appendAudit(db, {
    actor: `user:${staff}`,
    action: 'visit.requested',
    schoolId: school,
    entityType: 'visit',
    entityId: visit,
    after: { address: { line1: v.line1 }, pupil: `${v.forename} ${v.surname}` },
  });
  await appendAudit(db, {
    actor: 'system:triggers',
    action: 'trigger.raised',
    schoolId: school,
    entityType: 'trigger_episode',
    entityId: episode,
    after: { title: v.surname },
  });
  await appendAudit(db, {
    actor: 'system:outbox',
    action: 'outbox.delivered',
    schoolId: school,
    entityType: 'outbox',
    entityId: record,
    before: { body: v.phone },
  });
  await appendAudit(db, {
    actor: `user:${staff}`,
    action: 'alarm.acknowledged',
    schoolId: school,
    entityType: 'alarm',
    entityId: alarm,
    after: { at: v.postcode },
  });
  return { staff, visit, alarm };
}

describe.each(BACKENDS)('subject access and erasure on $name', ({ open }) => {
  let store: TestStore;
  let db: Db;
  let other: typeof PERSONAL;

  beforeAll(async () => {
    store = await open();
    db = store.db;
    await seedPupil(db, 'alpha', 'P9', PERSONAL);
    other = {
      forename: 'Bartholomew',
      surname: 'Ashdown',
      upn: 'A801200009999',
      line1: '3 Nettlebed Row',
      postcode: 'AB1 2CD',
      parent: 'Philippa Ashdown',
      phone: '+447700900222',
      email: 'philippa@example.invalid',
      concern: 'Seen with bruising Tuesday',
    };
    await seedPupil(db, 'alpha', 'P10', other);
  });
  afterAll(async () => store.close());

  it('has a section for every table whose columns can name a pupil or a member of staff', async () => {
    const { rows } = await db.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'`,
      [store.schema],
    );
    const needPupil = new Set(rows.filter((r) => PUPIL_COLUMN.test(r.column_name)).map((r) => r.table_name));
    needPupil.add('pupils');
    const needStaff = new Set(rows.filter((r) => STAFF_COLUMN.test(r.column_name)).map((r) => r.table_name));
    needStaff.add('users');
    // Foreign keys to users name a member of staff too.
    const fks = await db.query<{ table_name: string }>(
      `SELECT tc.table_name FROM information_schema.table_constraints tc
         JOIN information_schema.constraint_column_usage cu ON cu.constraint_name = tc.constraint_name
          AND cu.constraint_schema = tc.constraint_schema
       WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = $1 AND cu.table_name = 'users'`,
      [store.schema],
    );
    for (const r of fks.rows) needStaff.add(r.table_name);
    const has = (kind: 'pupil' | 'staff') =>
      new Set(SECTIONS.filter((s) => s[kind] !== undefined).map((s) => s.storedIn ?? s.table));
    expect([...needPupil].filter((t) => !has('pupil').has(t)).sort()).toEqual([]);
    expect([...needStaff].filter((t) => !has('staff').has(t)).sort()).toEqual([]);
  });

  it("exports every table holding the pupil's id, with their rows only, as JSON and readable HTML", async () => {
    const subject = (await resolveSubject(db, { kind: 'pupil', schoolId: 'alpha', id: 'P9' }))!;
    const x = await exportSubject(db, subject, NOW);
    const byTable = Object.fromEntries(x.sections.map((s) => [s.table, s.rows]));
    for (const s of SECTIONS.filter((s) => s.pupil))
      expect({ table: s.table, rows: byTable[s.table]?.length ?? 0 }).not.toEqual({
        table: s.table,
        rows: 0,
      });
    expect(JSON.stringify(x)).not.toContain('Ashdown');
    // An import lists every pupil its file touched: the export gives this pupil's entries only, the
    // import's own facts whole (other children's ids and marks are not the family's to see).
    expect(JSON.stringify(x)).not.toContain('someone-else');
    expect(byTable.imports).toEqual([
      expect.objectContaining({
        unit: 'marks.csv',
        calendar_problem_count: 2,
        changed_pupils: ['P9'],
        rejected: [{ where: 'marks.csv line 3 pupil P9', reason: 'future date', pupil: 'P9' }],
        calendar_problems: [expect.objectContaining({ pupil: 'P9', date: '2026-01-05' })],
        rejected_causes: [expect.objectContaining({ first: ['P9'], rows: 2, ids: 2 })],
      }),
    ]);
    expect(x.withheld).toContainEqual({
      table: 'imports',
      columns: ['changed_pupils', 'calendar_problems', 'rejected', 'rejected_causes'],
      as: 'third-party',
    });
    expect(byTable.outbox![0]).toMatchObject({ remote_id: 'cpoms-77' });
    expect(byTable.audit_entries!.length).toBe(4);
    const html = subjectHtml(x);
    expect(html).toContain('Quillfeather');
    expect(html).not.toContain('<script');
  });

  it("exports a member of staff's account, visits, device events and audit, withholding secrets", async () => {
    const subject = (await resolveSubject(db, { kind: 'staff', schoolId: 'alpha', id: 'staff-alpha-P9' }))!;
    const x = await exportSubject(db, subject, NOW);
    const byTable = Object.fromEntries(x.sections.map((s) => [s.table, s.rows]));
    for (const s of SECTIONS.filter((s) => s.staff))
      expect({ table: s.table, rows: byTable[s.table]?.length ?? 0 }).not.toEqual({
        table: s.table,
        rows: 0,
      });
    expect(byTable.users![0]!.password_hash).toBe('[withheld]');
    expect(byTable.sessions![0]!.token_hash).toBe('[withheld]');
    expect(byTable.push_subscriptions![0]!.endpoint).toBe('[withheld]');
    expect(JSON.stringify(x)).not.toContain('scrypt$secret');
  });

  it("withholds from a pupil's export the lone worker's safe word, phone, vehicle, position and risk notes, saying why", async () => {
    const subject = (await resolveSubject(db, { kind: 'pupil', schoolId: 'alpha', id: 'P9' }))!;
    const x = await exportSubject(db, subject, NOW);
    const text = JSON.stringify(x);
    for (const staffData of [
      'bluebird-P9',
      '+447700900111',
      'WXP9ABC',
      'partner hostile',
      '51.4321',
      'knife-P9',
      'Sam Staff-P9',
    ])
      expect({ staffData, found: text.includes(staffData) }).toEqual({ staffData, found: false });
    // The alarm's timeline names the worker and who acted: when each entry was made is given.
    const timeline = x.sections.find((s) => s.table === 'alarm_timeline')!.rows[0]!;
    expect(timeline).toMatchObject({ event: WITHHELD['third-party'], by_whom: WITHHELD['third-party'] });
    expect(timeline.at).toBeInstanceOf(Date);
    const visit = x.sections.find((s) => s.table === 'visits')!.rows[0]!;
    expect(visit.safe_word).toBe(WITHHELD.secret);
    expect(visit.worker_phone).toBe(WITHHELD['third-party']);
    // Which staff-safety flags on the address the risk was weighed with: never the family's to read.
    expect(visit.risk_assessed_flags).toBe(WITHHELD['third-party']);
    // The pupil's own data is still there.
    expect(visit.address).toEqual({ line1: PERSONAL.line1, postcode: PERSONAL.postcode });
    expect(x.withheld).toContainEqual({ table: 'visits', columns: ['safe_word'], as: 'secret' });
    expect(x.withheld).toContainEqual(expect.objectContaining({ table: 'alarms', as: 'third-party' }));
    expect(x.withheld).toContainEqual(expect.objectContaining({ table: 'notices', as: 'third-party' }));
    expect(x.withheld).toContainEqual(expect.objectContaining({ table: 'outbox', as: 'third-party' }));
    // The pupil's own record's words are given: the visit outcome.
    expect(text).toContain(`Spoke to ${PERSONAL.parent}`);
    expect(x.withheldWhy['third-party']).toMatch(/Art\. 15\(4\).*Sch\. 2 Part 3 para 16/);
    expect(subjectHtml(x)).toContain('What is withheld, and why');
  });

  it("gives a member of staff their own data and the records' ids, withholding pupils', families' and others' data", async () => {
    const subject = (await resolveSubject(db, { kind: 'staff', schoolId: 'alpha', id: 'staff-alpha-P9' }))!;
    const x = await exportSubject(db, subject, NOW);
    const text = JSON.stringify(x);
    // Nothing seeded about either pupil or their family: names, addresses, concerns, notes, audit values.
    for (const v of [...Object.values(PERSONAL), ...Object.values(other), 'Quillfeather family'])
      expect({ v, found: text.includes(v) }).toEqual({ v, found: false });
    expect(text).not.toContain('partner hostile');
    expect(text).not.toContain('threatens callers');
    expect(text).not.toContain('bluebird');
    const byTable = Object.fromEntries(x.sections.map((s) => [s.table, s.rows]));
    const visit = byTable.visits![0]!;
    // What identifies the record and what they did; their own phone as the lead worker.
    expect(visit).toMatchObject({
      planned_for: expect.anything(),
      status: 'completed',
      worker_phone: '+447700900111',
    });
    expect(visit.pupil_mis_id).toBe(WITHHELD['third-party']);
    expect(visit.address).toBe(WITHHELD['third-party']);
    expect(visit.outcome).toBe(WITHHELD['third-party']);
    expect(byTable.users![0]).toMatchObject({ display_name: 'Sam Staff', phone: '+447700900111' });
    const written = byTable.audit_entries!.find((e) => e.action === 'visit.requested')!;
    expect(written).toMatchObject({ entity_type: 'visit', after: WITHHELD['third-party'] });
    expect(byTable.address_flags![0]).toMatchObject({ level: 'caution', note: WITHHELD['third-party'] });
    expect(x.withheld).toContainEqual(
      expect.objectContaining({
        table: 'visits',
        as: 'third-party',
        columns: expect.arrayContaining(['address', 'outcome']),
      }),
    );
    expect(x.withheld).toContainEqual(
      expect.objectContaining({ table: 'audit_entries', as: 'third-party', columns: ['after'] }),
    );
    expect(x.withheldWhy['third-party']).toMatch(/Art\. 15\(4\).*Sch\. 2 Part 3 para 16/);
  });

  it("withholds from a pupil's export the head of school's words approving the worker's way to or from work", async () => {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM visits WHERE school_id = 'alpha' AND pupil_mis_id = 'P9'`,
    );
    await appendAudit(db, {
      actor: 'user:1',
      action: 'visit.commute-approved',
      schoolId: 'alpha',
      entityType: 'visit',
      entityId: String(rows[0]!.id),
      before: { commute: 'from-work', approved: false },
      after: { commute: 'from-work', approved: true, note: 'she drives home past Wellbeck Close' },
    });
    const subject = (await resolveSubject(db, { kind: 'pupil', schoolId: 'alpha', id: 'P9' }))!;
    const x = await exportSubject(db, subject, NOW);
    const entry = x.sections
      .find((s) => s.table === 'audit_entries')!
      .rows.find((e) => e.action === 'visit.commute-approved')!;
    expect(entry.after).toBe(WITHHELD['third-party']);
    expect(JSON.stringify(x)).not.toContain('Wellbeck Close');
  });

  it('gives the head of school the visits they approved on the way to or from work', async () => {
    const hos = await insert(db, 'users', {
      username: 'hos-alpha',
      display_name: 'Hana Head',
      password_hash: 'x',
      roles: ['office'],
      positions: ['head-of-school'],
      schools: ['alpha'],
    });
    await db.query(
      `UPDATE visits SET commute = 'to-work', commute_approved_by = $1, commute_approved_at = $2
       WHERE school_id = 'alpha' AND pupil_mis_id = 'P10'`,
      [hos, NOW],
    );
    const subject = (await resolveSubject(db, { kind: 'staff', schoolId: 'alpha', id: 'hos-alpha' }))!;
    const x = await exportSubject(db, subject, NOW);
    const visits = x.sections.find((s) => s.table === 'visits')?.rows ?? [];
    expect(visits.map((v) => String(v.commute_approved_by))).toEqual([String(hos)]);
  });

  it("gives the lead the fobs recorded for them and the partner theirs, neither the other's nor the family", async () => {
    const pat = await insert(db, 'users', {
      username: 'pat-alpha',
      display_name: 'Pat Partner',
      password_hash: 'x',
      roles: ['visiting-staff'],
      schools: ['alpha'],
    });
    await db.query(
      `UPDATE visits SET partner_user_id = $1, fob_device_id = 'FOB-L', fob_device_ids = '{FOB-L}',
         partner_fob_device_ids = '{FOB-P}' WHERE school_id = 'alpha' AND pupil_mis_id = 'P9'`,
      [pat],
    );
    const visitOf = async (subject: Parameters<typeof resolveSubject>[1]) => {
      const x = await exportSubject(db, (await resolveSubject(db, subject))!, NOW);
      return x.sections.find((s) => s.table === 'visits')!.rows[0]!;
    };
    const fobs = (v: Record<string, unknown>) => ({
      lead: v.fob_device_ids,
      partner: v.partner_fob_device_ids,
    });
    const hidden = WITHHELD['third-party'];
    expect(fobs(await visitOf({ kind: 'staff', schoolId: 'alpha', id: 'staff-alpha-P9' }))).toEqual({
      lead: ['FOB-L'],
      partner: hidden,
    });
    expect(fobs(await visitOf({ kind: 'staff', schoolId: 'alpha', id: 'pat-alpha' }))).toEqual({
      lead: hidden,
      partner: ['FOB-P'],
    });
    expect(fobs(await visitOf({ kind: 'pupil', schoolId: 'alpha', id: 'P9' }))).toEqual({
      lead: hidden,
      partner: hidden,
    });
  });

  it('finds a member of staff only at a school their account covers; corrects them only there', async () => {
    const bob = await insert(db, 'users', {
      username: 'bob-beta',
      display_name: 'Bob Beta',
      password_hash: 'x',
      roles: ['visiting-staff'],
      schools: ['beta'],
      staff_id: 'st-bob',
      phone: '+447700900222',
    });
    expect(await resolveSubject(db, { kind: 'staff', schoolId: 'alpha', id: 'bob-beta' })).toBeUndefined();
    expect(await resolveSubject(db, { kind: 'staff', schoolId: 'alpha', id: 'st-bob' })).toBeUndefined();
    expect(await resolveSubject(db, { kind: 'staff', schoolId: 'beta', id: 'bob-beta' })).toMatchObject({
      key: bob,
    });
    await expect(
      correctField(
        db,
        { kind: 'staff', schoolId: 'alpha', key: bob, staffId: 'st-bob' },
        'phone',
        '+447700900999',
        'user:1',
      ),
    ).rejects.toThrow(/no staff .* at alpha/);
    const { rows } = await db.query<{ phone: string }>('SELECT phone FROM users WHERE id = $1', [bob]);
    expect(rows[0]!.phone).toBe('+447700900222');
  });

  it('corrects a field, audited with the old and new value in the forgettable details', async () => {
    const subject = (await resolveSubject(db, { kind: 'pupil', schoolId: 'alpha', id: 'P9' }))!;
    expect(await correctField(db, subject, 'surname', 'Quilfeather', 'user:1')).toBe(true);
    expect(await correctField(db, subject, 'surname', 'Quilfeather', 'user:1')).toBe(false);
    expect(await correctField(db, subject, 'postcode', 'ZZ9 9QY', 'user:1')).toBe(true);
    const { rows } = await db.query<{ before: unknown; after: unknown }>(
      `SELECT before, after FROM audit_log WHERE action = 'subject.corrected' AND entity_id = 'P9' ORDER BY id`,
    );
    expect(rows[0]).toEqual({
      before: { field: 'surname', value: 'Quillfeather' },
      after: { field: 'surname', value: 'Quilfeather' },
    });
    const p = await db.query<{ surname: string; postcode: string }>(
      `SELECT surname, address->>'postcode' AS postcode FROM pupils WHERE mis_id = 'P9'`,
    );
    expect(p.rows[0]).toEqual({ surname: 'Quilfeather', postcode: 'ZZ9 9QY' });
  });

  it('erases a pupil: none of their values is left in any text, JSON or array column; the audit entries stay', async () => {
    const entriesBefore = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    const removed = await erasePupilAudited(db, 'alpha', 'P9', 'user:1', ERASED_AT);
    expect(removed.pupils).toBe(1);
    expect(removed.attendance_marks).toBe(1); // its one mark, on both backends
    expect(removed.mark_records).toBe(1);
    expect(removed.held_marks).toBe(1);
    const values = [...Object.values(PERSONAL), 'Quilfeather', 'ZZ9 9QY'];
    for (const v of values)
      expect({ value: v, found: await findEverywhere(db, store.schema, v) }).toEqual({ value: v, found: [] });
    // The fob events of the alarm and the check-in it deleted stay (the device's log), but hold nothing
    // of the family's door: no position, payload or message (as for a kept incident's).
    expect(await findEverywhere(db, store.schema, 'door-of-P9')).toEqual([]);
    const events = await db.query(
      `SELECT type, location, raw, message, voice_note_url FROM fob_events
       WHERE vendor_event_id IN ('e-P9', 'c-P9') ORDER BY type`,
    );
    expect(events.rows).toEqual([
      { type: 'check_in', location: null, raw: '', message: null, voice_note_url: null },
      { type: 'sos', location: null, raw: '', message: null, voice_note_url: null },
    ]);
    // The other pupil's are untouched.
    expect(await findEverywhere(db, store.schema, 'door-of-P10')).not.toEqual([]);
    // The audit entries stay (and the erasure's own is added), referring to the pupil without their id.
    const entriesAfter = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    expect(entriesAfter.rows[0]!.n).toBe(entriesBefore.rows[0]!.n + 1);
    // The other pupil is untouched.
    for (const v of Object.values(other))
      expect((await findEverywhere(db, store.schema, v)).length).toBeGreaterThan(0);
    const imports = await db.query<{
      changed: (string | null)[];
      closed: { pupil: string }[];
      n: number;
      causes: { first: string[]; rows: number }[];
    }>(
      `SELECT changed_pupils AS changed, calendar_problems AS closed, calendar_problem_count AS n,
              rejected_causes AS causes FROM imports ORDER BY id`,
    );
    // The pupil's place in the changed pupils stays, empty: the import's evaluation chunks keep theirs.
    expect(imports.rows[0]!.changed).toEqual([null, 'someone-else']);
    // The rejected rows by cause: the pupil's id leaves the first ids, the counts stay.
    expect(imports.rows[0]!.causes).toEqual([expect.objectContaining({ first: ['someone-else'], rows: 2 })]);
    // Marks on closed days: the pupil's entries leave the list, the count stays.
    expect(imports.rows[0]!.closed.map((c) => c.pupil)).toEqual(['someone-else']);
    expect(imports.rows[0]!.n).toBe(2);
  });

  it("takes a CTF pupil's id, the UPN, out of the audit entries about them: they refer to the erasure instead", async () => {
    const UPN = 'A123456789012';
    await insert(db, 'pupils', {
      school_id: 'alpha',
      mis_id: UPN,
      upn: UPN,
      forename: 'Ada',
      surname: 'Zed',
    });
    const since = (await db.query<{ id: string }>('SELECT max(id)::text AS id FROM audit_entries')).rows[0]!
      .id;
    // An ordinary entry about the pupil (a welfare flag set by hand) and one about a mark of theirs.
    await appendAudit(db, {
      actor: 'user:1',
      action: 'pupil.flag-set',
      schoolId: 'alpha',
      entityType: 'pupil',
      entityId: UPN,
      after: { welfareConcern: true },
    });
    await appendAudit(db, {
      actor: 'user:1',
      action: 'attendance.mark.corrected',
      schoolId: 'alpha',
      entityType: 'attendance_mark',
      entityId: `${UPN}/2026-03-02/AM`,
    });
    // Not by any other way than erasure: the entries are append-only.
    await expect(
      db.query(`UPDATE audit_entries SET entity_id = 'erased:x' WHERE entity_id = $1`, [UPN]),
    ).rejects.toThrow(/append-only/);
    await erasePupilAudited(db, 'alpha', UPN, 'user:1', ERASED_AT);
    expect(await findEverywhere(db, store.schema, UPN)).toEqual([]);
    const { rows } = await db.query<{ action: string; entity_id: string }>(
      'SELECT action, entity_id FROM audit_entries WHERE id > $1::bigint ORDER BY id',
      [since],
    );
    const reference = rows[0]!.entity_id;
    expect(reference).toMatch(/^erased:[0-9a-f-]{36}$/);
    expect(rows).toEqual([
      { action: 'pupil.flag-set', entity_id: reference },
      { action: 'attendance.mark.corrected', entity_id: `${reference}/2026-03-02/AM` },
      { action: 'subject.erased', entity_id: reference },
    ]);
    // Still append-only once erased: no other change, and none outside an erasure.
    await expect(
      db.query(`UPDATE audit_entries SET actor = 'evil' WHERE entity_id = $1`, [reference]),
    ).rejects.toThrow(/append-only/);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('doorstep.erasing', 'on', true)`);
        await tx.query(`UPDATE audit_entries SET actor = 'evil' WHERE entity_id = $1`, [reference]);
      }),
    ).rejects.toThrow(/append-only/);
    // Nor, inside one, any rewrite of an entry's id but the erasure's own: not of an entry about
    // anything but a pupil or their mark, not of one already erased, not to anything but a reference
    // (a mark's keeping its date and session).
    const other = 'erased:00000000-0000-4000-8000-000000000000';
    await appendAudit(db, {
      actor: 'user:1',
      action: 'visit.created',
      schoolId: 'alpha',
      entityType: 'visit',
      entityId: '77',
    });
    await appendAudit(db, {
      actor: 'user:1',
      action: 'pupil.flag-set',
      schoolId: 'alpha',
      entityType: 'pupil',
      entityId: 'P77',
    });
    await appendAudit(db, {
      actor: 'user:1',
      action: 'attendance.mark.corrected',
      schoolId: 'alpha',
      entityType: 'attendance_mark',
      entityId: 'P77/2026-03-02/AM',
    });
    const rewrite = (sql: string, params: unknown[]) =>
      db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('doorstep.erasing', 'on', true)`);
        await tx.query(sql, params);
      });
    for (const [sql, params] of [
      [`UPDATE audit_entries SET entity_id = $1 WHERE entity_type = 'visit' AND entity_id = '77'`, [other]],
      [`UPDATE audit_entries SET entity_id = $1 WHERE entity_id = $2`, [other, reference]],
      [`UPDATE audit_entries SET entity_id = 'P78' WHERE entity_id = 'P77'`, []],
      [`UPDATE audit_entries SET entity_id = 'erased:P77' WHERE entity_id = 'P77'`, []],
      [`UPDATE audit_entries SET entity_id = $1 || '/x' WHERE entity_id = 'P77'`, [other]],
      [`UPDATE audit_entries SET entity_id = $1 WHERE entity_id = 'P77/2026-03-02/AM'`, [other]],
      [
        `UPDATE audit_entries SET entity_id = $1 || '/2026-03-09/AM' WHERE entity_id = 'P77/2026-03-02/AM'`,
        [other],
      ],
      [`UPDATE audit_entries SET entity_id = $1, actor = 'evil' WHERE entity_id = 'P77'`, [other]],
    ] as [string, unknown[]][])
      await expect({ sql, err: await rewrite(sql, params).catch((e: Error) => e.message) }).toEqual({
        sql,
        err: expect.stringMatching(/append-only/),
      });
    // The erasure's own rewrite is allowed.
    await rewrite(`UPDATE audit_entries SET entity_id = $1 WHERE entity_id = 'P77'`, [other]);
    await rewrite(
      `UPDATE audit_entries SET entity_id = $1 || '/2026-03-02/AM' WHERE entity_id = 'P77/2026-03-02/AM'`,
      [other],
    );
  });

  it('refuses to erase a pupil while a visit to them is out', async () => {
    await db.query(`UPDATE visits SET returned_at = NULL, status = 'departed' WHERE pupil_mis_id = 'P10'`);
    const err = await erasePupilAudited(db, 'alpha', 'P10', 'user:1', ERASED_AT).catch((e: unknown) => e);
    expect(isDoorstepError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toMatch(/^this pupil has a visit out now/);
    // Never the pupil's id (a CTF school's is the UPN): the leavers' erasure's failures reach logs.
    expect((err as Error).message).not.toContain('P10');
  });

  it('refuses to erase a pupil while an alarm on a visit to them is not resolved (its ladder still runs)', async () => {
    const { rows } = await db.query<{ id: string }>(
      `UPDATE visits SET returned_at = $1, status = 'returned' WHERE pupil_mis_id = 'P10' RETURNING id`,
      [NOW],
    );
    const visitId = rows[0]!.id;
    const sos = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, visit_id, dedup_key, unknown_device, type, status, raised_at)
       VALUES ('alpha', $1::bigint, 'visit:' || $1::text || ':help', false, 'sos', 'open', now()) RETURNING id`,
      [visitId],
    );
    const err = await erasePupilAudited(db, 'alpha', 'P10', 'user:1', ERASED_AT).catch((e: unknown) => e);
    expect(isDoorstepError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`^this pupil: alarm ${sos.rows[0]!.id} on a visit to them is not resolved`),
    );
    expect((err as Error).message).not.toContain('P10');
    expect((await db.query('SELECT 1 FROM alarms WHERE id = $1', [sos.rows[0]!.id])).rows).toHaveLength(1);
  });
});
