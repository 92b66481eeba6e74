import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { tellFamily } from '../../src/visits/family-notice.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { changeVisitDate } from '../../src/visits/reschedule.ts';
import { startFakeChannels } from '../helpers/fake-channels.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * A visit moved Mon → Tue → Mon: the family's latest text names Tuesday, so Monday is texted again
 * (the once-a-day rule reads the latest text, not any text of the day).
 */
const schema = uniqueName('rvfam');
const prefix = uniqueName('rvfam');
let fakes: Awaited<ReturnType<typeof startFakeChannels>>;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: VisitDeps;
let staff: User;
let office: User;
const now = new Date('2026-11-23T10:00:00Z');

beforeAll(async () => {
  fakes = await startFakeChannels();
  const port = new URL(fakes.url).port;
  const config = visitSchoolsConfig(
    `    channels:
      sms: { baseUrl: "http://127.0.0.1:${port}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
    { SMS_TOKEN: 'tok' },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  };
  await addPupils(db, ['gomer', 'lime']);
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
     VALUES ('gomer', 'P1', 1, 'Mum', 'mother', '+447700900555', true)`,
  );
  staff = await addUser(db, 'dsl', ['visiting-staff', 'safeguarding'], {
    positions: ['dsl'],
    phone: '+447700900111',
  });
  office = await addUser(db, 'office', ['office']);
  await db.query(
    `UPDATE users SET home_visit_trained_on = '2026-01-01', safeguarding_trained_on = '2026-01-01'`,
  );
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
  fakes.close();
});

describe('family text after the visit moved away and back', () => {
  it('a visit moved Mon → Tue → Mon is texted about Monday again (the family was last told Tuesday)', async () => {
    const id = await requestVisit(deps, office, {
      schoolId: 'gomer',
      pupilMisId: 'P1',
      reason: 'attendance',
    });
    await db.query(`UPDATE visits SET status = 'authorised', risk_assessed_at = $2 WHERE id = $1`, [id, now]);
    const at = (s: number) => ({ ...deps, now: () => new Date(now.getTime() + s * 1000) });
    const sentAll = () =>
      db.query(`UPDATE notices SET status = 'sent', sent_at = now() WHERE kind = 'family'`);

    await tellFamily(at(1), staff, id, { method: 'sms' }); // "home visit on Monday 23 November"
    await sentAll();
    await changeVisitDate(at(2), staff, id, '2026-11-24');
    await tellFamily(at(3), staff, id, { method: 'sms' }); // "… on Tuesday 24 November"
    await sentAll();
    await changeVisitDate(at(4), staff, id, '2026-11-23');
    const { rows: before } = await db.query<{ text: string }>(
      `SELECT text FROM notices WHERE kind = 'family' AND visit_id = $1 ORDER BY id`,
      [id],
    );
    expect(before.at(-1)!.text).toMatch(/Tuesday 24 November/); // what the family last heard

    // Expected: texted anew (the day moved); actual: DOORSTEP_CONFLICT "already texted".
    await tellFamily(at(5), staff, id, { method: 'sms' });
    const { rows } = await db.query<{ text: string }>(
      `SELECT text FROM notices WHERE kind = 'family' AND visit_id = $1 ORDER BY id`,
      [id],
    );
    expect(rows.at(-1)!.text).toMatch(/Monday 23 November/);
  });
});
