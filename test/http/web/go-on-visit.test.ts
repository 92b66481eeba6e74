import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The newcomer walk: the DSL asked for a visit nobody leads and assessed it; Sam (visiting staff)
 * opened it and read "Pupil flags: shown to the people going on the visit once it is authorised or
 * its risk assessed" above "Risk level: LOW — assessed". The only way to be going was the departure
 * form's "Who is going: Sam (me)": Sam ticked "I have read the risk notes and address flags" and left,
 * and only then was shown the pupil's child protection plan. Now Sam says "I'll go on this visit"
 * first (`go-on-visit`, by the departure form's rules for who is going): the flags and the family's
 * contacts are shown at once, and the departure form starts with Sam as its lead.
 */
const schema = uniqueName('goonvisit');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T09:00:00Z');
const users: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['lime', 'hampton']);
  await db.query(`UPDATE pupils SET flags = '{"cpPlan": true}'::jsonb WHERE mis_id = 'P1'`);
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
     VALUES ('lime', 'P1', 1, 'Ngozi Okonkwo', 'MOTHER', '+447700900123', true),
            ('hampton', 'P1', 1, 'Ngozi Okonkwo', 'MOTHER', '+447700900123', true)`,
  );
  for (const [name, roles, school] of [
    ['sam', ['visiting-staff'], 'lime'],
    ['kim', ['visiting-staff'], 'lime'],
    ['office', ['office'], 'lime'],
    ['dsl', ['safeguarding'], 'lime'],
    ['hsam', ['visiting-staff'], 'hampton'],
    ['hoffice', ['office'], 'hampton'],
  ] as const) {
    users[name] = await addUser(db, `${school}.${name}`, [...roles], { schools: [school] });
    as.set(name, await sessionFor(db, users[name]!));
  }
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object) => {
  const s = as.get(who)!;
  return app.inject({
    method,
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    ...(payload ? { payload } : {}),
  });
};
const view = async (who: string, id: string) => {
  const res = await call(who, 'GET', `/api/visits/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
/** Asked for by the office (nobody leads it), and authorised with its risk by the DSL (Lime Hills). */
const authorisedUnled = async () => {
  const res = await call('office', 'POST', '/api/visits', {
    school: 'lime',
    pupilMisId: 'P1',
    reason: 'Absent five days',
    plannedFor: '2026-11-23',
    riskLevel: 'low',
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id as string;
  const auth = await call('dsl', 'POST', `/api/visits/${id}/authorise`, {
    risk: { level: 'low', reason: 'known family, no concerns at the door' },
  });
  expect(auth.statusCode, auth.body).toBe(200);
  return id;
};

describe("I'll go on this visit", () => {
  it('shows the lead the pupil’s flags and the contacts before the departure form, which starts with them', async () => {
    const id = await authorisedUnled();
    const before = await view('sam', id);
    expect(before.pupilDetailsWithheld).toBe(true);
    expect(before.contacts).toEqual([]);
    expect(before.actions).toContain('go-on-visit');
    // Said now, they would be shown at once (the visit is cleared to go).
    expect(before.pupilDetailsIfGoing).toBe(true);

    const go = await call('sam', 'POST', `/api/visits/${id}/go-on-visit`, {});
    expect(go.statusCode, go.body).toBe(200);
    expect(go.json()).toEqual({ ok: true, leadUserId: users.sam!.id });

    const after = await view('sam', id);
    expect(after.visit.leadUserId).toBe(users.sam!.id);
    expect(after.pupilDetailsWithheld).toBe(false);
    expect(after.pupil.flags).toEqual({ cpPlan: true });
    expect(after.contacts[0].phone).toBe('+447700900123');
    expect(after.actions).toContain('depart');
    expect(after.actions).toContain('not-going');
    expect(after.actions).not.toContain('go-on-visit');
    // The departure's check, with nobody named in the form: Sam leads it.
    const check = await call('sam', 'POST', `/api/visits/${id}/departure-check`, { risksRead: true });
    expect(check.statusCode, check.body).toBe(200);
    expect(check.json().findings.map((f: { rule: string }) => f.rule)).not.toContain('lead');

    // Now Sam's: another member of the visiting staff no longer opens it, nor takes it.
    expect((await call('kim', 'GET', `/api/visits/${id}`)).statusCode).toBe(404);
    expect((await call('kim', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(404);
    // Audited, with who.
    const { rows } = await db.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE entity_type = 'visit' AND entity_id = $1 AND action = 'visit.lead-named'`,
      [id],
    );
    expect(rows).toEqual([{ action: 'visit.lead-named', actor: `user:${users.sam!.id}` }]);
  });

  it('leaving is not theirs until they say they go: the departure is refused, the page offers "I\'ll go" first', async () => {
    const id = await authorisedUnled();
    const before = await view('sam', id);
    // No departure form for Sam (the server does not let Sam leave), but "I'll go" and then it.
    expect(before.actions).not.toContain('depart');
    expect(before.actions).toContain('go-on-visit');
    expect(before.departsIfGoing).toBe(true);
    // Straight from the API, the risks "read" that were never shown: refused, saying what to do.
    const go = {
      expectedReturnAt: new Date(now.getTime() + 3_600_000).toISOString(),
      risksRead: true,
      onFoot: true,
      identification: true,
    };
    for (const body of [go, { ...go, leadUserId: users.sam!.id }]) {
      const left = await call('sam', 'POST', `/api/visits/${id}/depart`, body);
      expect(left.statusCode, left.body).toBe(403);
      expect(left.json().message).toBe(
        "nobody leads this visit yet: say you are going on it first (I'll go on this visit), and read the pupil's flags and the family's contacts, before you leave",
      );
    }
    const still = await view('office', id);
    expect(still.visit).toMatchObject({ status: 'authorised', leadUserId: null, departedAt: null });
    // The office, who sees every visit's details, records a departure naming who goes.
    expect(still.actions).toContain('depart');
    expect(still.departsIfGoing).toBe(false);

    expect((await call('sam', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(200);
    const after = await view('sam', id);
    expect(after.actions).toContain('depart');
    expect(after.departsIfGoing).toBe(false);
  });

  it('is refused once someone leads it, and says why', async () => {
    const id = await authorisedUnled();
    expect((await call('sam', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(200);
    const again = await call('office', 'POST', `/api/visits/${id}/go-on-visit`, {
      leadUserId: users.kim!.id,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/^cannot say who goes on the visit: /);
  });

  it('by the departure form’s rules: visiting staff take it themselves, the office names who goes', async () => {
    const id = await authorisedUnled();
    const named = await call('sam', 'POST', `/api/visits/${id}/go-on-visit`, { leadUserId: users.kim!.id });
    expect(named.statusCode).toBe(403);
    expect(named.json().message).toMatch(/^leadUserId: you take a visit nobody leads as its lead yourself/);
    // The office is no worker to watch: it names one.
    const office = await call('office', 'POST', `/api/visits/${id}/go-on-visit`, {});
    expect(office.statusCode).toBe(422);
    expect(office.json().message).toMatch(/^leadUserId: nobody leads this visit: name who is going/);
    const bad = await call('office', 'POST', `/api/visits/${id}/go-on-visit`, { leadUserId: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^leadUserId: expected a user id/);
    const ok = await call('office', 'POST', `/api/visits/${id}/go-on-visit`, { leadUserId: users.kim!.id });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await view('kim', id)).pupilDetailsWithheld).toBe(false);
  });

  it('is undone by the lead who is not going after all: nobody leads it, and the details are withheld again', async () => {
    const id = await authorisedUnled();
    expect((await call('sam', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(200);
    const off = await call('sam', 'POST', `/api/visits/${id}/not-going`, {});
    expect(off.statusCode, off.body).toBe(200);
    const v = await view('sam', id);
    expect(v.visit.leadUserId).toBeNull();
    expect(v.pupilDetailsWithheld).toBe(true);
    expect(v.actions).toContain('go-on-visit');
    // Someone else's lead is not a colleague's to take off.
    expect((await call('kim', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(200);
    expect((await call('sam', 'POST', `/api/visits/${id}/not-going`, {})).statusCode).toBe(404);
  });

  it('before it is cleared to go: shown once it is authorised, not at once', async () => {
    const res = await call('office', 'POST', '/api/visits', {
      school: 'lime',
      pupilMisId: 'P1',
      reason: 'Absent five days',
      plannedFor: '2026-11-23',
      riskLevel: 'low',
    });
    const id = res.json().id as string;
    const before = await view('sam', id);
    expect(before.actions).toContain('go-on-visit');
    expect(before.pupilDetailsIfGoing).toBe(false);
    // Nor could it leave yet, whoever went: the page says nothing of leaving.
    expect(before.departsIfGoing).toBe(false);
    expect((await call('sam', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(200);
    expect((await view('sam', id)).pupilDetailsWithheld).toBe(true);
    const auth = await call('dsl', 'POST', `/api/visits/${id}/authorise`, {
      risk: { level: 'low', reason: 'known family' },
    });
    expect(auth.statusCode, auth.body).toBe(200);
    expect((await view('sam', id)).pupilDetailsWithheld).toBe(false);
  });

  it('where the policy lets a visit leave neither authorised nor assessed (Hampton), shows them at once', async () => {
    const res = await call('hoffice', 'POST', '/api/visits', {
      school: 'hampton',
      pupilMisId: 'P1',
      reason: 'Induction visit',
      plannedFor: '2026-11-23',
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    const before = await view('hsam', id);
    expect(before.visit.riskAssessedAt).toBeNull();
    expect(before.pupilDetailsWithheld).toBe(true);
    expect(before.pupilDetailsIfGoing).toBe(true);
    expect((await call('hsam', 'POST', `/api/visits/${id}/go-on-visit`, {})).statusCode).toBe(200);
    const after = await view('hsam', id);
    expect(after.pupil.flags).toEqual({ cpPlan: true });
    expect(after.contacts).toHaveLength(1);
  });
});
