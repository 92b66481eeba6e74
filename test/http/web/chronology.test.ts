import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/** One chronology per pupil: trigger → visit → alarm → notice → record, in time order, for safeguarding only. */
const schema = uniqueName('chrono');
const config = configWith({});
let db: Db;
let app: FastifyInstance;
let conn: Awaited<ReturnType<typeof connectRedis>>;
const as = new Map<string, { cookie: string; csrf: string }>();

async function insert(table: string, row: Record<string, unknown>): Promise<string> {
  const cols = Object.keys(row);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    cols.map((c) => {
      const v = row[c];
      return v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v;
    }),
  );
  return String(rows[0]!.id);
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  const sg = await addUser(db, 'sg', ['safeguarding']);
  const office = await addUser(db, 'office', ['office']);
  as.set('sg', await sessionFor(db, sg));
  as.set('office', await sessionFor(db, office));
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('alpha', 'p1', 'Ann', '<b>Okafor</b>')`,
  );
  const episode = await insert('trigger_episodes', {
    school_id: 'alpha',
    pupil_mis_id: 'p1',
    rule_key: 'statutory:absent-3',
    title: 'Absent three days',
    action: 'home-visit',
    role: 'safeguarding',
    status: 'closed',
    opened_on: '2026-03-09',
    closed_on: '2026-03-12',
    explanation: 'three days absent',
    evidence: { days: ['2026-03-05', '2026-03-06', '2026-03-09'] },
  });
  const visit = await insert('visits', {
    school_id: 'alpha',
    pupil_mis_id: 'p1',
    trigger_episode_id: episode,
    reason: 'absent three days',
    address: { line1: '1 Road', postcode: 'AB1 2CD' },
    planned_for: '2026-03-10',
    status: 'completed',
    requested_by: sg.id,
    requested_at: '2026-03-09T15:00:00Z',
    lead_user_id: sg.id,
    departed_at: '2026-03-10T10:00:00Z',
    returned_at: '2026-03-10T11:00:00Z',
    outcome: { childSeen: false, noOneHome: true, recordedAt: '2026-03-10T11:05:00Z', recordedBy: sg.id },
  });
  const alarm = await insert('alarms', {
    school_id: 'alpha',
    visit_id: visit,
    dedup_key: `visit:${visit}:overdue`,
    type: 'overdue_visit',
    unknown_device: false,
    status: 'resolved',
    raised_at: '2026-03-10T10:50:00Z',
  });
  await insert('alarm_timeline', {
    alarm_id: alarm,
    at: '2026-03-10T10:50:00Z',
    event: 'alarm raised: visit overdue',
  });
  await insert('notices', {
    school_id: 'alpha',
    kind: 'child-not-seen',
    visit_id: visit,
    target: 'email:dsl',
    subject: 's',
    text: 't',
    status: 'sent',
    created_at: '2026-03-10T11:05:01Z',
  });
  await insert('outbox', {
    school_id: 'alpha',
    kind: 'visit_outcome',
    pupil_ids: ['p1'],
    title: 'Home visit outcome',
    body: 'b',
    occurred_at: '2026-03-10T10:00:00Z',
    sink: 'cpoms',
    idempotency_key: `visit-outcome:alpha:${visit}`,
    status: 'delivered',
    remote_id: 'cp-991',
    source_type: 'visit',
    source_id: visit,
    created_at: '2026-03-10T11:05:02Z',
  });
});
afterAll(async () => {
  await app.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const get = (who: string, url: string) => app.inject({ url, headers: { cookie: as.get(who)!.cookie } });

describe('a pupil’s chronology', () => {
  it('puts trigger, visit steps, alarm, notice and record in time order, with the sink’s id', async () => {
    const r = await get('sg', '/api/pupils/p1/chronology?school=alpha');
    expect(r.statusCode).toBe(200);
    const entries = r.json().entries as { source: string; what: string; at: string }[];
    expect(entries.map((e) => `${e.source}: ${e.what.replace(/^alarm \d+ /, 'alarm N ')}`)).toEqual([
      'trigger: trigger raised: Absent three days',
      'visit: visit requested: absent three days',
      'visit: left for the visit',
      'alarm: alarm N (overdue visit): alarm raised: visit overdue',
      'visit: back safe',
      'visit: outcome: no one home, child not seen',
      'notice: notice (child-not-seen) to email:dsl: sent',
      'record: visit outcome to cpoms: delivered (cp-991)',
      'trigger: trigger closed: Absent three days',
    ]);
    const dates = entries.map((e) => e.at);
    expect([...dates].sort()).toEqual(dates);
    const audit = await db.query(
      `SELECT 1 FROM audit_log WHERE action = 'pupil.chronology-read' AND entity_id = 'p1'`,
    );
    expect(audit.rows).toHaveLength(1);
  });

  it('prints as a page with every value escaped, for safeguarding only', async () => {
    const page = await get('sg', '/pupils/p1/chronology?school=alpha');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('&#60;b&#62;Okafor&#60;/b&#62;');
    expect(page.body).not.toContain('<b>Okafor</b>');
    expect((await get('office', '/api/pupils/p1/chronology?school=alpha')).statusCode).toBe(403);
    expect((await get('office', '/pupils/p1/chronology?school=alpha')).statusCode).toBe(403);
  });
});
