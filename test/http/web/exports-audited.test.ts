import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import { appendAudit } from '../../../src/store/audit.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The bulk exports of personal data are audited as the register's is (`register.exported`: who, which
 * school, which dates, how many lines): the audit trail as CSV (every entry's before/after values —
 * addresses, names, numbers) and the printable day list (pupils, addresses, parents and their
 * numbers, attendance). The entry holds the filter and the count, never a value exported.
 */
const schema = uniqueName('exportaudit');
const config = configWith({});
let db: Db;
let conn: Awaited<ReturnType<typeof connectRedis>>;
let app: FastifyInstance;
let admin: { cookie: string; csrf: string };
let adminId: string;
let office: { cookie: string; csrf: string };
let officeId: string;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  const ada = await addUser(db, 'ada', ['admin'], { displayName: 'Ada' });
  adminId = String(ada.id);
  admin = await sessionFor(db, ada);
  const olu = await addUser(db, 'olu', ['office'], { displayName: 'Olu' });
  officeId = String(olu.id);
  office = await sessionFor(db, olu);
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('alpha', 'p1', 'Amelia', 'Okafor')`,
  );
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, phone)
     VALUES ('alpha', 'p1', 1, 'Grace Okafor', '07700 900001')`,
  );
  await appendAudit(db, {
    actor: 'user:1',
    action: 'subject.corrected',
    schoolId: 'alpha',
    entityType: 'pupil',
    entityId: 'p1',
    before: { addressLine1: '14 Rosebank Terrace' },
    after: { addressLine1: '15 Rosebank Terrace' },
  });
});
afterAll(async () => {
  await app.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const entriesOf = async (action: string) =>
  (
    await db.query(
      `SELECT actor, school_id, entity_type, entity_id, after FROM audit_log WHERE action = $1 ORDER BY id`,
      [action],
    )
  ).rows;

describe('bulk exports of personal data leave an audit entry', () => {
  it('GET /api/audit.csv: who, the school, dates and action filter, how many rows — no value exported', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/audit.csv?school=alpha&action=subject.&from=2020-01-01',
      headers: { cookie: admin.cookie },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('14 Rosebank Terrace');
    const entries = await entriesOf('audit.exported');
    expect(entries).toEqual([
      {
        actor: `user:${adminId}`,
        school_id: 'alpha',
        entity_type: 'audit-trail',
        entity_id: '2020-01-01..',
        after: { action: 'subject.', heartbeats: false, rows: 1 },
      },
    ]);
    expect(JSON.stringify(entries)).not.toContain('Rosebank');
    // The JSON page an admin reads on screen is not an export.
    await app.inject({ method: 'GET', url: '/api/audit', headers: { cookie: admin.cookie } });
    expect(await entriesOf('audit.exported')).toHaveLength(1);
  });

  it('GET /visits/list: who, the school, the day, how many visits — no pupil, address or number', async () => {
    await db.query(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by)
       VALUES ('alpha', 'p1', 'absent', '{"line1":"14 Rosebank Terrace","postcode":"LS6 2QT"}', '2026-03-10', 'requested', $1)`,
      [officeId],
    );
    const res = await app.inject({
      method: 'GET',
      url: '/visits/list?school=alpha&date=2026-03-10',
      headers: { cookie: office.cookie, accept: 'text/html' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('07700 900001');
    const entries = await entriesOf('visit-list.exported');
    expect(entries).toEqual([
      {
        actor: `user:${officeId}`,
        school_id: 'alpha',
        entity_type: 'visit-list',
        entity_id: '2026-03-10',
        after: { visits: 1 },
      },
    ]);
    for (const v of ['Okafor', 'Rosebank', '07700'])
      expect({ v, found: JSON.stringify(entries).includes(v) }).toEqual({ v, found: false });
    // A day or school refused is not an export.
    const refused = await app.inject({
      method: 'GET',
      url: '/visits/list?school=nowhere&date=2026-03-10',
      headers: { cookie: office.cookie, accept: 'text/html' },
    });
    expect(refused.statusCode).toBe(404);
    expect(await entriesOf('visit-list.exported')).toHaveLength(1);
  });
});
