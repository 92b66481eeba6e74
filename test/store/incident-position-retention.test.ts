import { afterAll, beforeAll, expect, it } from 'vitest';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import { renderLoneWorkerIncident } from '../../src/records/templates/lone-worker-incident.ts';
import { purgeSchool } from '../../src/store/retention.ts';
import { BACKENDS, DAY, insert, type TestStore } from './dp-fixtures.ts';

/**
 * fobEventDays (31): an event an alarm refers to loses its position. The lone-worker incident record
 * copies that position ("Location: lat, lon") into its outbox body; at a school on the preview sink
 * (not yet live) the row stays a preview — its text is stripped after deliveredRecordBodyDays as a
 * delivered record's is, never kept to recordDays (366).
 */
function defaultsFor(schoolId: string, now: Date) {
  const { dropFileDays: _d, ...periods } = RETENTION_DEFAULTS as Record<string, number>;
  return {
    schoolId,
    now,
    periods: periods as never,
    trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
    batchSize: 1000,
    maxRowsPerRun: 200_000,
  };
}
const NOW = new Date('2026-03-15T12:00:00Z');
let store: TestStore;
beforeAll(async () => {
  store = await BACKENDS[1]!.open();
});
afterAll(async () => store.close());

it("a worker's fob position leaves every copy once fobEventDays have passed", async () => {
  const db = store.db;
  const then = new Date(NOW.getTime() - 40 * DAY);
  const fob = await insert(db, 'fob_events', {
    school_id: 'alpha',
    device_id: 'PS-1',
    vendor_event_id: 'v1',
    type: 'sos',
    occurred_at: then,
    received_at: then,
    staff_id: 'st-9',
    location: { lat: 53.80123, lon: -1.55123 },
    raw: '{"lat":53.80123,"lon":-1.55123}',
    transport: 'webhook',
    profile: 'generic',
    content_hash: 'h1',
  });
  const alarm = await insert(db, 'alarms', {
    school_id: 'alpha',
    fob_event_id: fob,
    device_id: 'PS-1',
    staff_id: 'st-9',
    unknown_device: false,
    type: 'sos',
    status: 'resolved',
    raised_at: then,
    resolved_at: then,
    resolved_by: 'user:1',
    resolution_reason: 'incident_with_dispatch',
    policy: {},
    dedup_key: 'd1',
  });
  const record = renderLoneWorkerIncident({
    alarmId: alarm,
    staff: 'st-9',
    deviceId: 'PS-1',
    type: 'sos',
    raisedAt: then,
    location: { lat: 53.80123, lon: -1.55123 },
    timeline: [],
    resolution: { reason: 'incident_with_dispatch', by: 'user:1', at: then },
    pupils: [],
  });
  expect(record.body).toContain('53.80123');
  await insert(db, 'outbox', {
    school_id: 'alpha',
    kind: 'lone_worker_incident',
    pupil_ids: [],
    title: record.title,
    body: record.body,
    occurred_at: then,
    sink: 'preview',
    idempotency_key: `incident:alpha:${alarm}`,
    status: 'preview',
    source_type: 'alarm',
    source_id: alarm,
    created_at: then,
    updated_at: then,
  });
  await purgeSchool(db, defaultsFor('alpha', NOW));
  const ev = await db.query<{ location: unknown }>('SELECT location FROM fob_events WHERE id = $1', [fob]);
  expect(ev.rows[0]!.location).toBeNull();
  const { rows } = await db.query<{ body: string }>('SELECT body FROM outbox');
  expect(rows[0]!.body).not.toContain('53.80123');
}, 60_000);
