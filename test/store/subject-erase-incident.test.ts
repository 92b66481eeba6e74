import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import { ERASED } from '../../src/domain/erasure.ts';
import type { Db } from '../../src/store/db.ts';
import { purgeSchool } from '../../src/store/retention.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { BACKENDS, DAY, findEverywhere, insert, type TestStore } from './dp-fixtures.ts';

/**
 * A worker pressed "I need help" on a home visit and was assaulted at the door: the alarm, resolved
 * as an incident, is the worker's lone-worker incident record, kept `alarmDays` (6 years, IRMS:
 * incidents about adults). Erasing the pupil visited (on request, or as a leaver) keeps it, cut from
 * the pupil — no visit, no position, none of the pupil's values in its words — and the retention's
 * `alarms` kind removes it once `alarmDays` have passed. The visit's other alarms go with the pupil.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
/** When the pupil is erased: a day after their visits were back safe (no longer to be undone). */
const ERASED_AT = new Date('2026-03-16T12:00:00Z');
const PUPIL = {
  misId: 'M4417',
  upn: 'Q801200004417',
  forename: 'Zephyrine',
  surname: 'Quillfeather',
  line1: '17 Marrowbone Lane',
  postcode: 'ZZ9 9QX',
  parent: 'Ottoline Quillfeather',
  phone: '+447700900999',
};

async function seed(db: Db) {
  const sam = await insert(db, 'users', {
    username: 'sam',
    display_name: 'Sam Staff',
    password_hash: 'x',
    roles: ['visiting-staff'],
    schools: ['alpha'],
  });
  await insert(db, 'pupils', {
    school_id: 'alpha',
    mis_id: PUPIL.misId,
    upn: PUPIL.upn,
    forename: PUPIL.forename,
    surname: PUPIL.surname,
    address: { line1: PUPIL.line1, postcode: PUPIL.postcode },
  });
  await insert(db, 'pupil_contacts', {
    school_id: 'alpha',
    pupil_mis_id: PUPIL.misId,
    priority: 1,
    name: PUPIL.parent,
    phone: PUPIL.phone,
  });
  const visit = await insert(db, 'visits', {
    school_id: 'alpha',
    pupil_mis_id: PUPIL.misId,
    reason: 'absence',
    address: { line1: PUPIL.line1, postcode: PUPIL.postcode },
    planned_for: '2026-03-15',
    status: 'completed',
    requested_by: sam,
    lead_user_id: sam,
    departed_at: NOW,
    returned_at: NOW,
  });
  const alarm = (extra: Record<string, unknown>) =>
    insert(db, 'alarms', {
      school_id: 'alpha',
      visit_id: visit,
      unknown_device: false,
      type: 'sos',
      status: 'resolved',
      raised_at: NOW,
      resolved_at: NOW,
      resolved_by: 'user:999',
      policy: {},
      ...extra,
    });
  // Raised by the worker's fob at the door (linked to the visit): its event holds the position too.
  const sos = await insert(db, 'fob_events', {
    school_id: 'alpha',
    device_id: 'RD-1',
    vendor_event_id: 'e-1',
    type: 'sos',
    occurred_at: NOW,
    received_at: NOW,
    staff_id: 's-1',
    location: { lat: 51.4321, lon: -0.9876, accuracyM: 5 },
    message: 'at the door now',
    voice_note_url: 'https://fob.invalid/voice/e-1.mp3',
    transport: 'mqtt',
    profile: 'peoplesafe-style',
    raw: JSON.stringify({ event_id: 'e-1', type: 'SOS', location: { lat: 51.4321, lon: -0.9876 } }),
  });
  const incident = await alarm({
    fob_event_id: sos,
    device_id: 'RD-1',
    staff_id: 's-1',
    dedup_key: `visit:${visit}:help:${sam}:p1`,
    resolution_reason: 'incident_with_dispatch',
    resolution_note: `Worker assaulted at the door of ${PUPIL.line1} by ${PUPIL.parent}; police attended`,
    location: { lat: 51.4321, lon: -0.9876, accuracyM: 10 },
  });
  await insert(db, 'alarm_timeline', {
    alarm_id: incident,
    at: NOW,
    event: 'alarm raised: sos — Sam Staff pressed "I need help" on the phone page',
    by_whom: `user:${sam}`,
  });
  await insert(db, 'alarm_timeline', {
    alarm_id: incident,
    at: NOW,
    event: `running late, back by 2026-03-15T13:00:00Z: ${PUPIL.forename}'s mum (${PUPIL.phone}) asked me to stay`,
    by_whom: `user:${sam}`,
  });
  const sent = await insert(db, 'notifications', {
    alarm_id: incident,
    step: 0,
    target: 'sms:on-call',
    status: 'sent',
  });
  await insert(db, 'notification_recipients', { notification_id: sent, recipient_key: 'h', receipt: 'SM1' });
  await insert(db, 'sms_replies', {
    message_sid: 'SM-reply',
    school_id: 'alpha',
    received_at: NOW,
    sender_hash: 'h',
    outcome: 'taken',
    alarm_id: incident,
  });
  const record = await insert(db, 'outbox', {
    school_id: 'alpha',
    kind: 'lone_worker_incident',
    pupil_ids: JSON.stringify([PUPIL.misId]),
    title: 'Lone-worker incident: sos — an incident, with police or ambulance dispatched',
    body: `On a home visit to: ${PUPIL.line1}, ${PUPIL.postcode}\nLocation: 51.43210, -0.98760`,
    occurred_at: NOW,
    sink: 'cpoms',
    idempotency_key: `incident:alpha:${incident}`,
    status: 'delivered',
    delivered_at: NOW,
    remote_id: 'cpoms-incident-1',
    source_type: 'alarm',
    source_id: incident,
  });
  // Not incidents: a false alarm, and a fob drill resolved as one (a TEST record).
  const falseAlarm = await alarm({ dedup_key: `visit:${visit}:overdue`, resolution_reason: 'false_alarm' });
  const drill = await alarm({
    dedup_key: `drill:${visit}`,
    resolution_reason: 'incident_without_dispatch',
    test: true,
  });
  for (const a of [falseAlarm, drill]) await insert(db, 'alarm_timeline', { alarm_id: a, event: 'raised' });
  return { incident, sos, record, falseAlarm, drill };
}

describe.each(BACKENDS)("erasing a pupil keeps the worker's lone-worker incident on $name", ({ open }) => {
  let store: TestStore;
  let ids: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    store = await open();
    ids = await seed(store.db);
    await erasePupilAudited(store.db, 'alpha', PUPIL.misId, 'user:1', ERASED_AT);
  });
  afterAll(async () => store.close());

  it('keeps the incident alarm, its timeline, notifications and replies, cut from the pupil', async () => {
    const db = store.db;
    const { rows } = await db.query<{ visit_id: string | null; location: unknown; resolution_note: string }>(
      'SELECT visit_id, location, resolution_note FROM alarms WHERE id = $1',
      [ids.incident],
    );
    expect(rows).toEqual([
      {
        visit_id: null,
        location: null,
        resolution_note: `Worker assaulted at the door of ${ERASED} by ${ERASED}; police attended`,
      },
    ]);
    const timeline = await db.query<{ event: string }>(
      'SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY id',
      [ids.incident],
    );
    expect(timeline.rows.map((t) => t.event)).toEqual([
      'alarm raised: sos — Sam Staff pressed "I need help" on the phone page',
      `running late, back by 2026-03-15T13:00:00Z: ${ERASED}'s mum (${ERASED}) asked me to stay`,
    ]);
    const count = async (sql: string) => (await db.query(sql, [ids.incident])).rows.length;
    expect({
      notifications: await count('SELECT 1 FROM notifications WHERE alarm_id = $1'),
      recipients: await count(
        'SELECT 1 FROM notification_recipients r JOIN notifications n ON n.id = r.notification_id WHERE n.alarm_id = $1',
      ),
      replies: await count('SELECT 1 FROM sms_replies WHERE alarm_id = $1'),
    }).toEqual({ notifications: 1, recipients: 1, replies: 1 });
  });

  it("keeps the fob SOS's event (when and which device) without the position at the door, its payload, message or voice note", async () => {
    const { rows } = await store.db.query(
      'SELECT device_id, type, location, raw, message, voice_note_url FROM fob_events WHERE id = $1',
      [ids.sos],
    );
    expect(rows).toEqual([
      { device_id: 'RD-1', type: 'sos', location: null, raw: '', message: null, voice_note_url: null },
    ]);
  });

  it('keeps its incident record (the CPOMS reference) without the pupil id or its text', async () => {
    const { rows } = await store.db.query<{ pupil_ids: string[]; body: string; remote_id: string }>(
      'SELECT pupil_ids, body, remote_id FROM outbox WHERE id = $1',
      [ids.record],
    );
    expect(rows).toEqual([{ pupil_ids: [], body: '', remote_id: 'cpoms-incident-1' }]);
  });

  it("deletes the visit's other alarms (not incidents), and leaves none of the pupil's values anywhere", async () => {
    const left = await store.db.query('SELECT id FROM alarms WHERE id = ANY($1::bigint[])', [
      [ids.falseAlarm, ids.drill],
    ]);
    expect(left.rows).toEqual([]);
    const { misId, ...values } = PUPIL;
    for (const v of Object.values(values))
      expect({ v, found: await findEverywhere(store.db, store.schema, v) }).toEqual({ v, found: [] });
    // Nor their id: the erasure's own audit entry refers to the erasure, not to the pupil's id.
    expect(await findEverywhere(store.db, store.schema, misId)).toEqual([]);
  });

  it("is removed by the retention's alarms kind once alarmDays have passed, not before", async () => {
    const plan = (days: number) => ({
      schoolId: 'alpha',
      now: new Date(NOW.getTime() + days * DAY),
      periods: { ...RETENTION_DEFAULTS },
      trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
      batchSize: 100,
      maxRowsPerRun: 10_000,
    });
    const alarmLeft = async () =>
      (await store.db.query('SELECT 1 FROM alarms WHERE id = $1', [ids.incident])).rows.length;
    await purgeSchool(store.db, plan(RETENTION_DEFAULTS.alarmDays - 1));
    expect(await alarmLeft()).toBe(1);
    await purgeSchool(store.db, plan(RETENTION_DEFAULTS.alarmDays + 1));
    expect(await alarmLeft()).toBe(0);
    const timeline = await store.db.query('SELECT 1 FROM alarm_timeline WHERE alarm_id = $1', [ids.incident]);
    expect(timeline.rows).toEqual([]);
  });
});

describe.each(BACKENDS)('erasing a pupil whose MIS id is a number, on $name', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store.close());

  it("keeps the dates and times in the incident's note and timeline, and takes the id where it stands alone", async () => {
    const db = store.db;
    const sam = await insert(db, 'users', {
      username: 'sam',
      display_name: 'Sam Staff',
      password_hash: 'x',
      roles: ['visiting-staff'],
      schools: ['alpha'],
    });
    await insert(db, 'pupils', {
      school_id: 'alpha',
      mis_id: '2026',
      forename: 'Zephyrine',
      surname: 'Quillfeather',
    });
    const visit = await insert(db, 'visits', {
      school_id: 'alpha',
      pupil_mis_id: '2026',
      reason: 'absence',
      address: { line1: '17 Marrowbone Lane', postcode: 'ZZ9 9QX' },
      planned_for: '2026-03-15',
      status: 'completed',
      requested_by: sam,
      lead_user_id: sam,
      departed_at: NOW,
      returned_at: NOW,
    });
    const alarm = await insert(db, 'alarms', {
      school_id: 'alpha',
      visit_id: visit,
      dedup_key: `visit:${visit}:help:${sam}:p1`,
      unknown_device: false,
      type: 'sos',
      status: 'resolved',
      raised_at: NOW,
      resolved_at: NOW,
      resolved_by: 'user:999',
      resolution_reason: 'incident_with_dispatch',
      resolution_note: 'Threatened at the door (pupil 2026) at 12:05 on 2026-03-15; police attended',
      policy: {},
    });
    await insert(db, 'alarm_timeline', {
      alarm_id: alarm,
      at: NOW,
      event: 'running late, back by 2026-03-15T13:00:00Z: family asked me to stay',
    });
    await erasePupilAudited(db, 'alpha', '2026', 'user:1', ERASED_AT);
    const a = await db.query('SELECT resolution_note FROM alarms WHERE id = $1', [alarm]);
    expect(a.rows).toEqual([
      { resolution_note: `Threatened at the door (pupil ${ERASED}) at 12:05 on 2026-03-15; police attended` },
    ]);
    const t = await db.query('SELECT event FROM alarm_timeline WHERE alarm_id = $1', [alarm]);
    expect(t.rows).toEqual([
      { event: 'running late, back by 2026-03-15T13:00:00Z: family asked me to stay' },
    ]);
  });
});
