import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The visit page's "Needed" list is the server's: the visit's answer and `departure-check` (the form
 * as filled in) run the same checks as leaving, so every reason leaving is refused for is on the list
 * first — training, experience, the fob, the risk assessment, the family notice, pairs, who is going —
 * not a shorter list the page worked out for itself.
 */
const schema = uniqueName('depcheck');
const prefix = uniqueName('depcheck');
const config = loadConfigFile('config/doorstep.example.yaml', {});
const now = new Date('2026-11-23T10:00:00Z');
const back = new Date(now.getTime() + 3_600_000).toISOString();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const u: Record<string, User> = {};

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn, now: () => now });
  u.office = await addUser(db, 'olive', ['office'], { schools: ['heath-lane'] });
  u.dsl = await addUser(db, 'dan', ['safeguarding', 'visiting-staff'], {
    schools: ['heath-lane'],
    positions: ['dsl'],
  });
  u.vera = await addUser(db, 'vera', ['visiting-staff'], {
    schools: ['heath-lane'],
    staffId: 'hl-staff-017',
    phone: '+447700900124',
  });
  u.wes = await addUser(db, 'wes', ['visiting-staff'], { schools: ['heath-lane'], phone: '+447700900125' });
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

interface Finding {
  level: string;
  rule: string;
  message: string;
}
const blocks = (f: Finding[]) => f.filter((x) => x.level === 'block');

/**
 * Leaving with `draft` is refused, and the refusal is exactly what the check listed: every block of a
 * "cannot leave yet" refusal, or the one refusal (who goes, risks read) that comes before the rest.
 */
async function expectRefusalListed(who: string, id: string, draft: Record<string, unknown>) {
  const full = { expectedReturnAt: back, ...draft };
  const check = (await call(who, 'POST', `/api/visits/${id}/departure-check`, full)).json() as {
    findings: Finding[];
  };
  const left = await call(who, 'POST', `/api/visits/${id}/depart`, full);
  expect(left.statusCode, left.body).toBeGreaterThanOrEqual(400);
  const refused = left.json().message as string;
  const listed = blocks(check.findings).map((b) => b.message);
  if (refused.startsWith('cannot leave yet: '))
    expect(refused.slice('cannot leave yet: '.length).split('; ')).toEqual(listed);
  else expect(listed).toContain(refused.replace(/^[a-zA-Z]+: /, ''));
  return check.findings;
}

describe('the departure checks the visit page lists', () => {
  it('as the page opens: every block leaving has, not only the family notice', async () => {
    const id = (
      await call('office', 'POST', '/api/visits', {
        school: 'heath-lane',
        pupilMisId: '9002',
        reason: 'absent',
      })
    ).json().id as string;
    const office = (await call('office', 'GET', `/api/visits/${id}`)).json();
    expect(blocks(office.findings).map((f: Finding) => f.rule)).toEqual([
      'risks-read',
      'lead',
      'family-notice',
      'risk-assessment',
      'identification',
      'expected-return',
    ]);
    // A DSL who is visiting staff leads it by default: their own training, experience and fob count.
    const dsl = (await call('dsl', 'GET', `/api/visits/${id}`)).json();
    expect(blocks(dsl.findings).map((f: Finding) => f.rule)).toEqual([
      'risks-read',
      'family-notice',
      'risk-assessment',
      'training',
      'experience',
      'phone',
      'fob',
      'identification',
      'expected-return',
    ]);
  });

  it('an estimated arrival given is read and checked as leaving checks it: not already past, not after the return', async () => {
    const id = (
      await call('office', 'POST', '/api/visits', {
        school: 'heath-lane',
        pupilMisId: '9002',
        reason: 'absent',
      })
    ).json().id as string;
    const past = new Date(now.getTime() - 10 * 60_000).toISOString();
    const late = new Date(now.getTime() + 2 * 3_600_000).toISOString();
    for (const estimatedArrivalAt of [past, late]) {
      const found = await expectRefusalListed('office', id, {
        risksRead: true,
        leadUserId: u.wes!.id,
        estimatedArrivalAt,
      });
      expect(blocks(found).map((f) => f.rule)).toContain('arrival-estimate');
    }
    const soon = new Date(now.getTime() + 20 * 60_000).toISOString();
    const check = (
      await call('office', 'POST', `/api/visits/${id}/departure-check`, {
        expectedReturnAt: back,
        estimatedArrivalAt: soon,
      })
    ).json() as { findings: Finding[] };
    expect(check.findings.map((f) => f.rule)).not.toContain('arrival-estimate');
    const bad = await call('office', 'POST', `/api/visits/${id}/departure-check`, {
      estimatedArrivalAt: 'soon',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/estimated arrival time/);
  });

  it('as the form is filled in, each refusal of leaving is on the list first', async () => {
    const id = (
      await call('office', 'POST', '/api/visits', {
        school: 'heath-lane',
        pupilMisId: '9002',
        reason: 'absent',
      })
    ).json().id as string;
    await expectRefusalListed('office', id, { risksRead: false });
    await expectRefusalListed('office', id, { risksRead: true });
    const wes = await expectRefusalListed('office', id, { risksRead: true, leadUserId: u.wes!.id });
    expect(blocks(wes).map((f) => f.rule)).toEqual([
      'family-notice',
      'risk-assessment',
      'training',
      'experience',
      'fob',
      'identification',
    ]);
    const same = await expectRefusalListed('office', id, {
      risksRead: true,
      leadUserId: u.vera!.id,
      partnerUserId: u.vera!.id,
    });
    expect(same.find((f) => f.rule === 'partner')?.message).toBe('the partner must be someone else');

    // The risk assessed as minor (Heath Lane: two staff), the family texted from a school phone.
    await call('dsl', 'POST', `/api/visits/${id}/assess-risk`, {
      level: 'minor',
      reason: 'dog at the address',
    });
    await call('office', 'POST', `/api/visits/${id}/family-notice`, { method: 'sms', sentBy: 'staff' });
    const alone = await expectRefusalListed('office', id, { risksRead: true, leadUserId: u.vera!.id });
    expect(blocks(alone).map((f) => f.rule)).toEqual(['pairs', 'training', 'experience', 'identification']);
    await db.query(`UPDATE users SET home_visit_trained_on = '2026-09-01'`);
    await db.query(`UPDATE users SET home_visit_experienced_on = '2026-11-01' WHERE id = $1`, [u.wes!.id]);
    // "Have academy ID visible": confirmed on the form.
    const pair = { risksRead: true, leadUserId: u.vera!.id, partnerUserId: u.wes!.id, identification: true };
    const ready = (
      await call('office', 'POST', `/api/visits/${id}/departure-check`, { ...pair, expectedReturnAt: back })
    ).json();
    expect(blocks(ready.findings)).toEqual([]);
    const left = await call('office', 'POST', `/api/visits/${id}/depart`, {
      ...pair,
      expectedReturnAt: back,
    });
    expect(left.statusCode, left.body).toBe(200);

    // While Vera and Wes are out, leaving on another visit says so (a warning: siblings at one address
    // are one trip) — and the visit they are out on is not yet experience (a visit made is one come
    // back from).
    const second = (
      await call('office', 'POST', '/api/visits', {
        school: 'heath-lane',
        pupilMisId: '9002',
        reason: 'again',
      })
    ).json().id as string;
    const twice = await expectRefusalListed('office', second, { risksRead: true, leadUserId: u.vera!.id });
    expect(blocks(twice).map((f) => f.rule)).toContain('experience');
    expect(twice.find((f) => f.rule === 'already-out')).toEqual({
      level: 'warn',
      rule: 'already-out',
      message: `someone going is still out on visit #${id}: unless it is the same trip (a brother or sister at this address), record Back safe on it first`,
    });
    expect((await call('office', 'POST', `/api/visits/${id}/back-safe`, {})).statusCode).toBe(200);
    const after = (
      await call('office', 'POST', `/api/visits/${second}/departure-check`, {
        risksRead: true,
        leadUserId: u.vera!.id,
        expectedReturnAt: back,
      })
    ).json();
    const rules = (after.findings as Finding[]).map((f) => f.rule);
    expect(rules).not.toContain('already-out');
    expect(rules).not.toContain('experience');
  });

  it('an assessment names the address flags the page showed: one recorded since is refused (409), to be read first', async () => {
    const id = (
      await call('office', 'POST', '/api/visits', {
        school: 'heath-lane',
        pupilMisId: '9002',
        reason: 'absent',
      })
    ).json().id as string;
    const opened = (await call('dsl', 'GET', `/api/visits/${id}`)).json();
    expect(opened.addressFlags).toEqual([]);
    try {
      const flagged = await call('dsl', 'POST', '/api/address-flags', {
        school: 'heath-lane',
        postcode: 'EX1 2AB',
        level: 'caution',
        note: 'large dog',
      });
      expect(flagged.statusCode, flagged.body).toBe(201);
      const assess = (flagsSeen: unknown) =>
        call('dsl', 'POST', `/api/visits/${id}/assess-risk`, { level: 'minor', reason: 'dog', flagsSeen });
      const stale = await assess([]);
      expect(stale.statusCode).toBe(409);
      expect(stale.json().message).toMatch(/flagged since the page was opened \(CAUTION by .+\)/);
      expect((await assess(['not-an-id'])).statusCode).toBe(400);
      const reopened = (await call('dsl', 'GET', `/api/visits/${id}`)).json();
      const shown = reopened.addressFlags.map((f: { id: string }) => f.id);
      expect(shown).toHaveLength(1);
      expect((await assess(shown)).statusCode).toBe(200);
      const after = (await call('dsl', 'GET', `/api/visits/${id}`)).json();
      expect(after.findings.map((f: Finding) => f.rule)).not.toContain('risk-assessment');
    } finally {
      await db.query(`DELETE FROM address_flags WHERE school_id = 'heath-lane'`);
    }
  });

  it('is for those who may see the visit only', async () => {
    // Asked for by the DSL, who leads it: visiting staff see their own visits only.
    const id = (
      await call('dsl', 'POST', '/api/visits', { school: 'heath-lane', pupilMisId: '9002', reason: 'absent' })
    ).json().id as string;
    expect((await call('dsl', 'POST', `/api/visits/${id}/departure-check`, {})).statusCode).toBe(200);
    expect((await call('wes', 'POST', `/api/visits/${id}/departure-check`, {})).statusCode).toBe(404);
    expect((await call('office', 'POST', `/api/visits/${id}/departure-check`, { bogus: 1 })).statusCode).toBe(
      400,
    );
  });
});
