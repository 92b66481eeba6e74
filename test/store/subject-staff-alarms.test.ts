import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSubject, resolveSubject, WITHHELD } from '../../src/store/subject.ts';
import { BACKENDS, insert, type TestStore } from './dp-fixtures.ts';

/**
 * A member of staff's subject access export holds the alarms about them: a worker with no fob (the
 * phone page only, so no staff id) leads a visit with a partner who has one. Sam presses "I need
 * help" (no staff id on the alarm), Pat presses it too (Pat's staff id), and the watcher raises an
 * overdue alarm for the visit (the lead's staff id: none). Each of them gets every alarm of the visit
 * they were out on — with its timeline, notifications, receipts, board events and incident record —
 * and their own position only, never the other's.
 */
const NOW = new Date('2026-03-15T12:00:00Z');

async function seed(store: TestStore) {
  const db = store.db;
  const user = (username: string, staffId: string | null) =>
    insert(db, 'users', {
      username,
      display_name: username,
      password_hash: 'x',
      roles: ['visiting-staff'],
      schools: ['alpha'],
      staff_id: staffId,
    });
  const sam = await user('sam', null);
  const pat = await user('pat', 'st-pat');
  const visit = (lead: string, partner: string | null) =>
    insert(db, 'visits', {
      school_id: 'alpha',
      pupil_mis_id: 'p1',
      reason: 'absence',
      address: { line1: '1 Road', postcode: 'ZZ1 1ZZ' },
      planned_for: '2026-03-15',
      status: 'returned',
      requested_by: lead,
      lead_user_id: lead,
      partner_user_id: partner,
      departed_at: NOW,
      returned_at: NOW,
    });
  const theirs = await visit(sam, pat);
  const alarm = (visitId: string, dedupKey: string, extra: Record<string, unknown> = {}) =>
    insert(db, 'alarms', {
      school_id: 'alpha',
      visit_id: visitId,
      unknown_device: false,
      type: 'sos',
      status: 'resolved',
      raised_at: NOW,
      resolved_at: NOW,
      resolved_by: 'user:999',
      resolution_reason: 'false_alarm',
      policy: {},
      dedup_key: dedupKey,
      ...extra,
    });
  const samHelp = await alarm(theirs, `visit:${theirs}:help:${sam}:p1`, {
    resolution_reason: 'incident_with_dispatch',
    location: { lat: 53.80123, lon: -1.55123, accuracyM: 10 },
  });
  const patHelp = await alarm(theirs, `visit:${theirs}:help:${pat}:p2`, {
    staff_id: 'st-pat',
    location: { lat: 53.70456, lon: -1.45456, accuracyM: 12 },
  });
  const overdue = await alarm(theirs, `visit:${theirs}:overdue:1`, { type: 'overdue_visit' });
  // Someone else's visit, on which neither was out: not theirs.
  const other = await user('olive', null);
  const notTheirs = await alarm(await visit(other, null), 'visit:x:overdue:1', { type: 'overdue_visit' });
  await insert(db, 'alarm_timeline', {
    alarm_id: samHelp,
    event: 'alarm raised: sos',
    by_whom: `user:${sam}`,
  });
  await insert(db, 'alarm_timeline', { alarm_id: overdue, event: 'alarm raised: visit overdue' });
  const sent = await insert(db, 'notifications', {
    alarm_id: samHelp,
    step: 0,
    target: 'sms:on-call',
    status: 'sent',
  });
  await insert(db, 'notification_recipients', { notification_id: sent, recipient_key: 'h', receipt: 'SM1' });
  await insert(db, 'board_events', {
    school_id: 'alpha',
    type: 'alarm.raised',
    payload: { alarmId: samHelp },
  });
  const record = await insert(db, 'outbox', {
    school_id: 'alpha',
    kind: 'lone_worker_incident',
    pupil_ids: JSON.stringify(['p1']),
    title: 'Lone-worker incident: sos',
    body: 'On a home visit to: 1 Road',
    occurred_at: NOW,
    sink: 'preview',
    idempotency_key: `incident:alpha:${samHelp}`,
    status: 'preview',
    source_type: 'alarm',
    source_id: samHelp,
  });
  return { samHelp, patHelp, overdue, notTheirs, sent, record };
}

describe.each(BACKENDS)("a lone worker's own alarms in their subject access export on $name", ({ open }) => {
  let store: TestStore;
  let ids: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    store = await open();
    ids = await seed(store);
  });
  afterAll(async () => store.close());

  const exportOf = async (who: string) => {
    const s = (await resolveSubject(store.db, { kind: 'staff', schoolId: 'alpha', id: who }))!;
    const x = await exportSubject(store.db, s, NOW);
    return (table: string) => x.sections.find((t) => t.table === table)?.rows ?? [];
  };
  const idsOf = (rows: Record<string, unknown>[], column = 'id') => rows.map((r) => String(r[column])).sort();

  it('holds every alarm of a visit they led with no fob, and what follows from them', async () => {
    const rows = await exportOf('sam');
    expect(idsOf(rows('alarms'))).toEqual([ids.samHelp, ids.patHelp, ids.overdue].sort());
    expect(idsOf(rows('alarm_timeline'), 'alarm_id')).toEqual([ids.samHelp, ids.overdue].sort());
    expect(idsOf(rows('notifications'))).toEqual([ids.sent]);
    expect(rows('notification_recipients')).toHaveLength(1);
    expect(rows('board_events').map((e) => (e.payload as { alarmId: string }).alarmId)).toEqual([
      ids.samHelp,
    ]);
    expect(idsOf(rows('outbox'))).toEqual([ids.record]);
  });

  it("gives each their own phone's position on their own help press, never the other's", async () => {
    const location = (rows: Record<string, unknown>[], id: string) =>
      rows.find((r) => String(r.id) === id)!.location;
    const sam = (await exportOf('sam'))('alarms');
    expect(location(sam, ids.samHelp)).toMatchObject({ lat: 53.80123 });
    expect(location(sam, ids.patHelp)).toBe(WITHHELD['third-party']);
    const pat = await exportOf('pat');
    expect(idsOf(pat('alarms'))).toEqual([ids.samHelp, ids.patHelp, ids.overdue].sort());
    expect(location(pat('alarms'), ids.patHelp)).toMatchObject({ lat: 53.70456 });
    expect(location(pat('alarms'), ids.samHelp)).toBe(WITHHELD['third-party']);
  });
});
