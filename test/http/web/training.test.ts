import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { staffCompetence } from '../../../src/store/visit-queries.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * Heath Lane's competence rules ("training and induction … prior to … first home visit"; "attend first
 * home visit accompanied by experienced member of staff") read training and experience from the
 * accounts. The data manager and the safeguarding team record them from the browser (the Accounts
 * and training page), for the visiting staff of their schools, audited with who and when — not for
 * their own account, not for another school's staff, and not the office. Then the example
 * configuration's Heath Lane visit leaves, end to end, as a newcomer would take it.
 */
const schema = uniqueName('training');
const prefix = uniqueName('training');
const config = loadConfigFile('config/doorstep.example.yaml', {});
const now = new Date('2026-11-23T10:00:00Z');
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const u: Record<string, User> = {};

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn, now: () => now });
  u.admin = await addUser(db, 'ada', ['admin', 'office'], { displayName: 'Ada Admin' });
  u.data = await addUser(db, 'dora', ['data-manager'], { schools: ['heath-lane'], displayName: 'Dora Data' });
  u.dsl = await addUser(db, 'dan', ['safeguarding', 'visiting-staff'], {
    schools: ['heath-lane'],
    positions: ['dsl'],
    displayName: 'Dan DSL',
    phone: '+447700900123',
  });
  u.office = await addUser(db, 'olive', ['office'], { schools: ['heath-lane'], displayName: 'Olive Office' });
  u.hamptonData = await addUser(db, 'hattie', ['data-manager'], { schools: ['hampton-infant'] });
  u.vera = await addUser(db, 'vera', ['visiting-staff'], {
    schools: ['heath-lane'],
    staffId: 'hl-staff-017',
    phone: '+447700900124',
    displayName: 'Vera Visit',
  });
  u.wes = await addUser(db, 'wes', ['visiting-staff'], {
    schools: ['heath-lane'],
    phone: '+447700900125',
    displayName: 'Wes Visit',
  });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath-lane', '9002', 'Kofi', 'Mensah', $1)`,
    [JSON.stringify({ line1: '7 Beck Side', town: 'Exampleton', postcode: 'EX1 2AB' })],
  );
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

async function call(who: string, method: 'GET' | 'POST', url: string, payload?: object) {
  const s = await sessionFor(db, u[who]!);
  return app.inject({
    method,
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    ...(method === 'POST' ? { payload: payload ?? {} } : {}),
  });
}

describe('recording training and experience from the browser', () => {
  it('the data manager and the safeguarding team open the page; the office does not', async () => {
    for (const who of ['data', 'dsl', 'admin']) {
      expect((await call(who, 'GET', '/users')).statusCode, who).toBe(200);
      expect((await call(who, 'GET', '/api/training')).statusCode, who).toBe(200);
    }
    expect((await call('office', 'GET', '/api/training')).statusCode).toBe(403);
    expect(
      (await call('office', 'POST', `/api/users/${u.vera!.id}/training`, { homeVisitExperienced: true }))
        .statusCode,
    ).toBe(403);
    // The accounts themselves stay the admins'.
    expect((await call('data', 'GET', '/api/users')).statusCode).toBe(403);
  });

  it("lists the school's visiting staff with what Heath Lane's policy asks", async () => {
    const t = (await call('data', 'GET', '/api/training')).json();
    expect(t.staff.map((s: { displayName: string }) => s.displayName)).toEqual([
      'Dan DSL',
      'Vera Visit',
      'Wes Visit',
    ]);
    expect(t.policies).toEqual([
      expect.objectContaining({
        school: 'heath-lane',
        homeVisitTraining: true,
        firstVisitWithExperienced: true,
      }),
    ]);
    expect(t.staff.find((s: { id: string }) => s.id === u.vera!.id)).toMatchObject({
      homeVisitTrainedOn: null,
      homeVisitExperiencedOn: null,
      visitsMade: 0,
      lastRecorded: null,
      mayRecord: true,
    });
    // Another school's data manager sees none of them.
    expect((await call('hamptonData', 'GET', '/api/training')).json().staff).toEqual([]);
  });

  it('records training and experience, audited with who and when', async () => {
    const r = await call('data', 'POST', `/api/users/${u.vera!.id}/training`, {
      homeVisitTrainedOn: '2026-09-01',
      homeVisitExperienced: true,
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(
      (await call('dsl', 'POST', `/api/users/${u.wes!.id}/training`, { homeVisitTrainedOn: '2026-09-02' }))
        .statusCode,
    ).toBe(200);
    const vera = (await call('dsl', 'GET', '/api/training'))
      .json()
      .staff.find((s: { id: string }) => s.id === u.vera!.id);
    expect(vera.username).toBeUndefined(); // sign-in names are for admins
    expect(vera).toMatchObject({
      homeVisitTrainedOn: '2026-09-01',
      homeVisitExperiencedOn: '2026-11-23',
      lastRecorded: { at: expect.any(String), by: 'Dora Data' },
    });
    const { rows } = await db.query<{ actor: string; before: object; after: object }>(
      `SELECT actor, before, after FROM audit_log WHERE action = 'user.training-recorded' AND entity_id = $1`,
      [u.vera!.id],
    );
    expect(rows).toEqual([
      {
        actor: `user:${u.data!.id}`,
        before: { homeVisitTrainedOn: null, homeVisitExperiencedOn: null },
        after: { homeVisitTrainedOn: '2026-09-01', homeVisitExperiencedOn: '2026-11-23' },
      },
    ]);
    // The form saved again unchanged by someone else is no new record by them; an empty one is refused.
    const again = await call('dsl', 'POST', `/api/users/${u.vera!.id}/training`, {
      homeVisitTrainedOn: '2026-09-01',
      safeguardingTrainedOn: null,
      homeVisitExperienced: true,
    });
    expect(again.statusCode, again.body).toBe(200);
    const empty = await call('dsl', 'POST', `/api/users/${u.vera!.id}/training`, {});
    expect(empty.statusCode).toBe(400);
    expect(
      (await call('dsl', 'GET', '/api/training'))
        .json()
        .staff.find((s: { id: string }) => s.id === u.vera!.id).lastRecorded,
    ).toMatchObject({ by: 'Dora Data' });
    const { rows: after } = await db.query(
      `SELECT 1 FROM audit_log WHERE action = 'user.training-recorded' AND entity_id = $1`,
      [u.vera!.id],
    );
    expect(after).toHaveLength(1);
  });

  it('experience recorded by someone going on the visit does not count for it (Heath Lane: a first visit with someone experienced)', async () => {
    // Dan (safeguarding, who may record training) marks Wes experienced; neither has made a visit.
    expect(
      (await call('dsl', 'POST', `/api/users/${u.wes!.id}/training`, { homeVisitExperienced: true }))
        .statusCode,
    ).toBe(200);
    const [, wesWithDan] = await staffCompetence(db, [u.dsl!.id, u.wes!.id], '0');
    expect(wesWithDan!.experienced).toBe(false); // Dan's word cannot make his own first visit's partner
    const [, wesWithVera] = await staffCompetence(db, [u.vera!.id, u.wes!.id], '0');
    expect(wesWithVera!.experienced).toBe(true); // with anyone else going, it counts
    expect(
      (await call('data', 'POST', `/api/users/${u.wes!.id}/training`, { homeVisitExperienced: false }))
        .statusCode,
    ).toBe(200);
  });

  it('refuses their own account, another school’s staff, a future date', async () => {
    const own = await call('dsl', 'POST', `/api/users/${u.dsl!.id}/training`, { homeVisitExperienced: true });
    expect(own.statusCode).toBe(404);
    expect(own.json().message).toMatch(/your own is recorded by a colleague/);
    expect(
      (
        await call('hamptonData', 'POST', `/api/users/${u.vera!.id}/training`, {
          homeVisitExperienced: false,
        })
      ).statusCode,
    ).toBe(404);
    const future = await call('data', 'POST', `/api/users/${u.wes!.id}/training`, {
      homeVisitTrainedOn: '2026-12-01',
    });
    expect(future.statusCode).toBe(400);
    expect(future.json().message).toBe('homeVisitTrainedOn: expected a date that has passed');
    expect(
      (await call('dsl', 'GET', '/api/training'))
        .json()
        .staff.find((s: { id: string }) => s.id === u.dsl!.id),
    ).toMatchObject({ mayRecord: false, homeVisitExperiencedOn: null });
  });
});

describe("the example configuration's Heath Lane visit, end to end through the pages' routes", () => {
  it('a novice leads with an experienced partner: the risk assessed, the family texted from a school phone, and it leaves', async () => {
    const asked = await call('office', 'POST', '/api/visits', {
      school: 'heath-lane',
      pupilMisId: '9002',
      reason: 'absent four days',
    });
    expect(asked.statusCode, asked.body).toBe(201);
    const id = asked.json().id as string;
    expect(
      (
        await call('dsl', 'POST', `/api/visits/${id}/assess-risk`, {
          level: 'low',
          reason: 'no concerns known',
        })
      ).statusCode,
    ).toBe(200);
    const page = (await call('office', 'GET', `/api/visits/${id}`)).json();
    expect(page.familyText).toEqual({
      doorstepSends: false,
      text: expect.stringContaining('Heath Lane Academy'),
    });
    expect(
      (
        await call('office', 'POST', `/api/visits/${id}/family-notice`, {
          method: 'sms',
          sentBy: 'staff',
        })
      ).statusCode,
    ).toBe(200);
    // Wes (trained, no visit yet) leads; Vera (trained, experience recorded) goes with him, with her fob.
    const leave = (lead: User, partner: User | null) =>
      call('office', 'POST', `/api/visits/${id}/depart`, {
        leadUserId: lead.id,
        ...(partner ? { partnerUserId: partner.id } : {}),
        expectedReturnAt: new Date(now.getTime() + 3_600_000).toISOString(),
        risksRead: true,
        identification: true, // "have academy ID visible"
      });
    const alone = await leave(u.wes!, null);
    expect(alone.statusCode).toBe(422);
    expect(alone.json().message).toBe(
      'cannot leave yet: a first home visit is made with an experienced member of staff; the policy asks you to carry a lone-worker fob registered to you',
    );
    const left = await leave(u.vera!, u.wes!);
    expect(left.statusCode, left.body).toBe(200);
    expect((await call('office', 'GET', `/api/visits/${id}`)).json().visit.status).toBe('departed');
  });
});
