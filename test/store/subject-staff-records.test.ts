import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSubject, resolveSubject } from '../../src/store/subject.ts';
import { BACKENDS, insert, type TestStore } from '../store/dp-fixtures.ts';

/**
 * A member of staff's subject access export holds what is about them in tables that name no account:
 * the lone-worker incident record about their alarm (their staff id, device, position, what happened
 * to them) and their fob's refused messages (which may hold a position). Neither table has a staff id
 * or *_by column, so the schema test cannot ask for them.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
let store: TestStore;
let alarm: string;
beforeAll(async () => {
  store = await BACKENDS[1]!.open();
  const db = store.db;
  await insert(db, 'users', {
    username: 'sam',
    display_name: 'Sam Staff',
    password_hash: 'x',
    roles: ['visiting-staff'],
    schools: ['alpha'],
    staff_id: 'st-9',
  });
  alarm = await insert(db, 'alarms', {
    school_id: 'alpha',
    device_id: 'PS-1',
    staff_id: 'st-9',
    unknown_device: false,
    type: 'sos',
    status: 'resolved',
    raised_at: NOW,
    resolved_at: NOW,
    resolved_by: 'user:1',
    resolution_reason: 'incident_with_dispatch',
    policy: {},
    dedup_key: 'd1',
  });
  await insert(db, 'outbox', {
    school_id: 'alpha',
    kind: 'lone_worker_incident',
    pupil_ids: [],
    title: 'Lone-worker incident',
    body: `Lone-worker alarm ${alarm}: sos from st-9 (device PS-1).\nLocation: 53.80123, -1.55123`,
    occurred_at: NOW,
    sink: 'preview',
    idempotency_key: `incident:alpha:${alarm}`,
    status: 'preview',
    source_type: 'alarm',
    source_id: alarm,
  });
  await insert(db, 'rejected_events', {
    school_id: 'alpha',
    transport: 'webhook',
    profile: 'generic',
    source: 'x',
    reason: 'signature',
    raw: '{"deviceId":"PS-1","staffId":"st-9","lat":53.80123,"lon":-1.55123}',
    received_at: NOW,
    raw_bytes: 60,
  });
  // Another wearer's message: a staff id that only begins like theirs is not theirs.
  await insert(db, 'rejected_events', {
    school_id: 'alpha',
    transport: 'webhook',
    profile: 'generic',
    source: 'y',
    reason: 'signature',
    raw: '{"deviceId":"PS-12","staffId":"st-99","lat":51.5,"lon":-0.1}',
    received_at: NOW,
    raw_bytes: 58,
  });
});
afterAll(async () => store.close());

describe("a member of staff's subject access export", () => {
  it('includes the lone-worker incident record written about their alarm', async () => {
    const s = (await resolveSubject(store.db, { kind: 'staff', schoolId: 'alpha', id: 'sam' }))!;
    const out = await exportSubject(store.db, s, NOW);
    expect(out.sections.find((x) => x.table === 'alarms')!.rows).toHaveLength(1);
    const outbox = out.sections.find((x) => x.table === 'outbox');
    expect(outbox?.rows.length ?? 0).toBe(1);
    // Its text is other people's too (the visit's address, the people told, the note on how it ended).
    expect(outbox!.rows[0]).toMatchObject({
      kind: 'lone_worker_incident',
      body: '[withheld: third-party data]',
    });
  });
  it('says which of the fob messages refused name them, never what another wearer’s said', async () => {
    const s = (await resolveSubject(store.db, { kind: 'staff', schoolId: 'alpha', id: 'sam' }))!;
    const out = await exportSubject(store.db, s, NOW);
    const rejected = out.sections.find((x) => x.table === 'rejected_events');
    expect(rejected?.rows.length ?? 0).toBe(1);
    expect(rejected!.rows[0]).toMatchObject({ reason: 'signature', raw: '[withheld: third-party data]' });
    expect(JSON.stringify(out)).not.toContain('51.5');
  });
});
