import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../../src/config/policy-packs.ts';
import { londonClock, londonDate } from '../../../src/domain/attendance/dates.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import { pupilChronology } from '../../../src/store/chronology.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { getVisit } from '../../../src/store/visits.ts';
import type { VisitDeps } from '../../../src/visits/change.ts';
import { assessRisk, requestVisit, signDayList } from '../../../src/visits/request.ts';
import { agreementsConfig } from '../../helpers/agreements.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * Thames View through the real HTTP app: 2.9's vehicle insurance at departure, and 3.4/3.5 at the
 * door — the parent's notice that they are running late recorded (by the office here), the wait then
 * 3.5's, the pages offered exactly what the server allows, and the cancellation's record, timeline and
 * notices saying the notice was given.
 */
const schema = uniqueName('tvdoor');
const config = agreementsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let deps: VisitDeps;
let now = new Date('2026-11-23T09:00:00Z');
const as = new Map<string, { cookie: string; csrf: string }>();
const users: Record<string, User> = {};
const MIN = 60_000;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['thames']);
  users.staff = await addUser(db, 'staff', ['visiting-staff'], {
    phone: '+447700900111',
    schools: ['thames'],
    displayName: 'Sam Staff',
  });
  users.partner = await addUser(db, 'partner', ['visiting-staff'], {
    phone: '+447700900222',
    schools: ['thames'],
  });
  users.colleague = await addUser(db, 'colleague', ['visiting-staff'], { schools: ['thames'] });
  users.head = await addUser(db, 'head', ['office'], { positions: ['headteacher'], schools: ['thames'] });
  users.sbm = await addUser(db, 'sbm', ['office'], { positions: ['business-manager'], schools: ['thames'] });
  users.office = await addUser(db, 'office', ['office'], {
    schools: ['thames'],
    displayName: 'Olive Office',
  });
  for (const [name, u] of Object.entries(users)) as.set(name, await sessionFor(db, u));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { cookie: as.get(who)!.cookie, 'x-csrf-token': as.get(who)!.csrf },
    ...(method === 'POST' ? { payload: (payload ?? {}) as object } : {}),
  });
const actions = async (who: string, id: string) =>
  (await call(who, 'GET', `/api/visits/${id}`)).json().actions as string[];

const CAR = { make: 'Ford', model: 'Fiesta', registration: 'AB12 CDE', colour: 'blue' };

/** A Thames View visit booked for now (appointment at this minute), assessed, on the signed list, the family told. */
async function booked(): Promise<string> {
  now = new Date(now.getTime() + 24 * 60 * MIN);
  const date = londonDate(now);
  const id = await requestVisit(deps, users.staff!, {
    schoolId: 'thames',
    pupilMisId: 'P1',
    reason: 'attendance below 90%',
    plannedFor: date,
    appointmentTime: londonClock(now),
  });
  await assessRisk(deps, users.sbm!, id, { level: 'low', reason: 'known family' });
  await signDayList(deps, users.head!, 'thames', date, [id]);
  await db.query(`UPDATE visits SET family_notice = $2 WHERE id = $1`, [
    id,
    JSON.stringify({
      method: 'written-confirmation',
      exemption: null,
      note: null,
      at: now,
      by: users.staff!.id,
    }),
  ]);
  return id;
}
const leaving = (vehicle: Record<string, unknown> | null) => ({
  expectedReturnAt: new Date(now.getTime() + 2 * 60 * MIN).toISOString(),
  partnerUserId: users.partner!.id,
  risksRead: true,
  identification: true,
  ...(vehicle ? { vehicle } : { onFoot: true }),
});

describe('Thames View 2.9: the vehicle’s required up-to-date insurance, over HTTP', () => {
  it('a vehicle without the confirmation is listed as needed and refused at departure; confirmed, it is kept with the vehicle and shown with it', async () => {
    const id = await booked();
    const check = await call('staff', 'POST', `/api/visits/${id}/departure-check`, leaving(CAR));
    expect(
      (check.json().findings as { level: string; rule: string }[]).filter((f) => f.level === 'block'),
    ).toEqual([
      {
        level: 'block',
        rule: 'vehicle-insurance',
        message:
          'the vehicle’s insurance: confirm the vehicle has the required up-to-date insurance (for business use)',
      },
    ]);
    const refused = await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(CAR));
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().message).toBe(
      'cannot leave yet: the vehicle’s insurance: confirm the vehicle has the required up-to-date insurance (for business use)',
    );
    // The refusal names the rule and the field an API client must send.
    expect(refused.json().problems).toEqual([
      {
        rule: 'vehicle-insurance',
        field: 'vehicle.insuranceConfirmed',
        message:
          'the vehicle’s insurance: confirm the vehicle has the required up-to-date insurance (for business use)',
      },
    ]);
    expect((await getVisit(db, id))!.departedAt).toBeNull();
    const left = await call(
      'staff',
      'POST',
      `/api/visits/${id}/depart`,
      leaving({ ...CAR, insuranceConfirmed: true }),
    );
    expect(left.statusCode, left.body).toBe(200);
    expect((await getVisit(db, id))!.vehicle).toEqual({ ...CAR, insuranceConfirmed: true });
    // The office's view of the visit shows the vehicle with its insurance.
    expect((await call('office', 'GET', `/api/visits/${id}`)).json().visit.vehicle).toEqual({
      ...CAR,
      insuranceConfirmed: true,
    });
  });

  it('a refusal for several things names each by its rule, and its field where it has one', async () => {
    const id = await booked();
    const { identification: _, ...noId } = leaving(CAR);
    const refused = await call('staff', 'POST', `/api/visits/${id}/depart`, {
      ...noId,
      expectedReturnAt: new Date(now.getTime() - MIN).toISOString(),
    });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().code).toBe('DOORSTEP_POLICY');
    const problems = refused.json().problems as { rule: string; field?: string }[];
    expect(problems.map((p) => [p.rule, p.field])).toEqual([
      ['vehicle-insurance', 'vehicle.insuranceConfirmed'],
      ['identification', 'identification'],
      ['expected-return', 'expectedReturnAt'],
    ]);
    // A refusal with nothing to point at says nothing more than before.
    const conflict = await call('staff', 'POST', `/api/visits/${id}/no-answer`, {});
    expect(Object.keys(conflict.json()).sort()).toEqual(['code', 'message']);
  });

  it('on foot, no insurance is asked', async () => {
    const id = await booked();
    const left = await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(null));
    expect(left.statusCode, left.body).toBe(200);
    expect((await getVisit(db, id))!.vehicle).toBeNull();
  });
});

describe('Thames View 3.4/3.5 at the door, over HTTP', () => {
  it('the office records the parent’s notice; the wait is then 3.5’s — no "no answer", cancelled only over 30 minutes, saying the notice was given', async () => {
    const id = await booked();
    const appointment = now.getTime();
    expect((await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(null))).statusCode).toBe(200);
    // Offered to the people on the visit and the office; a colleague not on it is not told of it.
    expect(await actions('staff', id)).toContain('parent-running-late');
    expect(await actions('office', id)).toContain('parent-running-late');
    expect((await call('colleague', 'POST', `/api/visits/${id}/parent-running-late`)).statusCode).toBe(404);
    now = new Date(appointment + 5 * MIN);
    const said = await call('office', 'POST', `/api/visits/${id}/parent-running-late`);
    expect(said.statusCode, said.body).toBe(200);
    const v = (await call('staff', 'GET', `/api/visits/${id}`)).json();
    expect(v.parentLateNotice).toEqual({ at: now.toISOString(), byName: 'Olive Office' });
    expect(v.actions).not.toContain('parent-running-late');
    // Once.
    const again = await call('staff', 'POST', `/api/visits/${id}/parent-running-late`);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/already recorded/);
    expect((await call('staff', 'POST', `/api/visits/${id}/arrive`)).statusCode).toBe(200);
    // 25 minutes past the arranged time: the worker waits on (no "no answer"), nothing to cancel yet.
    now = new Date(appointment + 25 * MIN);
    for (const who of ['staff', 'office']) {
      const offered = await actions(who, id);
      expect(offered, who).not.toContain('no-answer');
      expect(offered, who).not.toContain('parent-late-cancel');
    }
    const noAnswer = await call('staff', 'POST', `/api/visits/${id}/no-answer`, {});
    expect(noAnswer.statusCode).toBe(409);
    expect(noAnswer.json().message).toMatch(/said they are running late — do not go in until they arrive/);
    // Over 30 minutes late: cancelled, with the notice in its reason.
    now = new Date(appointment + 31 * MIN);
    expect(await actions('partner', id)).toContain('parent-late-cancel');
    expect(await actions('office', id)).toContain('parent-late-cancel');
    expect(await actions('staff', id)).not.toContain('no-answer');
    const cancelled = await call('partner', 'POST', `/api/visits/${id}/parent-late-cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const row = (await getVisit(db, id))!;
    expect(row.status).toBe('cancelled');
    expect(row.returnedAt).toBeNull(); // still watched until back safe
    const reason = `The parent/carer gave notice they were running late (recorded by Olive Office at ${londonClock(new Date(appointment + 5 * MIN))}) and was over 30 minutes late`;
    expect(row.cancelReason).toContain(reason);
    expect(row.cancelReason).toMatch(/3\.5/);
    // The 2.7 cancellation record (CPOMS) and the headteacher's notice say so.
    const records = await db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE kind = 'visit_appointment' AND source_id = $1 AND sink = 'cpoms' ORDER BY id`,
      [id],
    );
    expect(records.rows.at(-1)!.body).toContain(`Cancelled: ${reason}`);
    const notices = await db.query<{ text: string }>(
      `SELECT text FROM notices WHERE visit_id = $1 AND kind = 'cancelled'`,
      [id],
    );
    expect(notices.rows.map((n) => n.text).join('\n')).toContain(reason);
    // The pupil's chronology: the notice, who recorded it, and the cancellation saying it was given.
    const timeline = (await pupilChronology(db, 'thames', 'P1')).filter((e) => e.visitId === id);
    expect(timeline.map((e) => e.what)).toEqual(
      expect.arrayContaining([
        'the parent/carer said they were running late (recorded by Olive Office)',
        expect.stringContaining(`visit cancelled: ${reason}`),
      ]),
    );
  });

  it('without notice, 3.4 exactly as before: "no answer" from 20 minutes, no cancellation for lateness; notice after the 20 minutes is refused', async () => {
    const id = await booked();
    const appointment = now.getTime();
    expect((await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(null))).statusCode).toBe(200);
    expect((await call('staff', 'POST', `/api/visits/${id}/arrive`)).statusCode).toBe(200);
    now = new Date(appointment + 31 * MIN);
    const offered = await actions('staff', id);
    expect(offered).toContain('no-answer');
    expect(offered).not.toContain('parent-late-cancel');
    expect(offered).not.toContain('parent-running-late');
    const late = await call('staff', 'POST', `/api/visits/${id}/parent-late-cancel`);
    expect(late.statusCode).toBe(409);
    expect(late.json().message).toMatch(/nobody recorded that the parent\/carer said they are running late/);
    const tooLate = await call('office', 'POST', `/api/visits/${id}/parent-running-late`);
    expect(tooLate.statusCode).toBe(409);
    expect(tooLate.json().message).toMatch(/wait at the door is over/);
    expect((await call('staff', 'POST', `/api/visits/${id}/no-answer`, {})).statusCode).toBe(200);
  });
});

describe('Thames View 3.5: the parent’s warning given before the visit leaves', () => {
  it('the parent phones the school an hour before: the office records it, the wait at the door is then 3.5’s', async () => {
    const id = await booked();
    const appointment = now.getTime();
    now = new Date(appointment - 60 * MIN);
    // Offered before leaving, on the planned day, to the office and the worker going.
    expect(await actions('office', id)).toContain('parent-running-late');
    expect(await actions('staff', id)).toContain('parent-running-late');
    const said = await call('office', 'POST', `/api/visits/${id}/parent-running-late`);
    expect(said.statusCode, said.body).toBe(200);
    const page = (await call('staff', 'GET', `/api/visits/${id}`)).json();
    expect(page.parentLateNotice).toEqual({ at: now.toISOString(), byName: 'Olive Office' });
    expect(page.actions).not.toContain('parent-running-late');
    // The pair leave and wait at the door: no "no answer" at 25 minutes, the cancellation over 30.
    now = new Date(appointment);
    expect((await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(null))).statusCode).toBe(200);
    expect((await call('staff', 'POST', `/api/visits/${id}/arrive`)).statusCode).toBe(200);
    now = new Date(appointment + 25 * MIN);
    expect(await actions('staff', id)).not.toContain('no-answer');
    now = new Date(appointment + 31 * MIN);
    expect(await actions('staff', id)).toContain('parent-late-cancel');
  });

  it('not before the visit’s day: refused in plain words', async () => {
    const id = await booked();
    const appointment = now.getTime();
    now = new Date(appointment - 24 * 60 * MIN);
    expect(await actions('office', id)).not.toContain('parent-running-late');
    const early = await call('office', 'POST', `/api/visits/${id}/parent-running-late`);
    expect(early.statusCode).toBe(409);
    expect(early.json().message).toBe(
      'cannot record that the parent/carer is running late yet: the visit is planned for a later day — record it on the day of the visit',
    );
    now = new Date(appointment);
  });

  it('a new time for the appointment withdraws it (the warning was about the old time)', async () => {
    const id = await booked();
    const appointment = now.getTime();
    now = new Date(appointment - 60 * MIN);
    expect((await call('office', 'POST', `/api/visits/${id}/parent-running-late`)).statusCode).toBe(200);
    // The same time again changes nothing.
    const same = await call('office', 'POST', `/api/visits/${id}/appointment`, {
      time: londonClock(new Date(appointment)),
    });
    expect(same.statusCode, same.body).toBe(200);
    expect((await getVisit(db, id))!.parentLateNoticeAt).not.toBeNull();
    const moved = await call('office', 'POST', `/api/visits/${id}/appointment`, {
      time: londonClock(new Date(appointment + 60 * MIN)),
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const row = (await getVisit(db, id))!;
    expect(row.parentLateNoticeAt).toBeNull();
    expect(row.parentLateNoticeBy).toBeNull();
    expect((await call('office', 'GET', `/api/visits/${id}`)).json().parentLateNotice).toBeNull();
    const audit = await db.query<{ after: Record<string, unknown> }>(
      `SELECT d.after FROM audit_entries e JOIN audit_details d ON d.audit_id = e.id
       WHERE e.action = 'visit.appointment-set' AND e.entity_id = $1 ORDER BY e.id DESC LIMIT 1`,
      [id],
    );
    expect(audit.rows[0]!.after.parentLateNoticeWithdrawn).toBe(true);
    // It may be given again for the new time.
    expect(await actions('office', id)).toContain('parent-running-late');
    now = new Date(appointment);
  });

  it('a new day withdraws it too', async () => {
    const id = await booked();
    const appointment = now.getTime();
    now = new Date(appointment - 60 * MIN);
    expect((await call('office', 'POST', `/api/visits/${id}/parent-running-late`)).statusCode).toBe(200);
    const tomorrow = londonDate(new Date(appointment + 24 * 60 * MIN));
    const moved = await call('office', 'POST', `/api/visits/${id}/date`, { date: tomorrow });
    expect(moved.statusCode, moved.body).toBe(200);
    const row = (await getVisit(db, id))!;
    expect(row.plannedFor).toBe(tomorrow);
    expect(row.parentLateNoticeAt).toBeNull();
    expect(row.parentLateNoticeBy).toBeNull();
    now = new Date(appointment);
  });
});

describe('Thames View 3.5: the parent’s warning on the office board', () => {
  const card = async (id: string) =>
    (
      (await call('office', 'GET', '/api/board?school=thames')).json().visits as Record<string, unknown>[]
    ).find((v) => v.id === id)!;

  it('the visit’s card says who recorded it and when, and the lateness limit — before leaving and on the way', async () => {
    const id = await booked();
    const appointment = now.getTime();
    now = new Date(appointment - 60 * MIN);
    expect((await card(id)).parentLateNotice).toBeNull();
    expect((await call('office', 'POST', `/api/visits/${id}/parent-running-late`)).statusCode).toBe(200);
    const told = { at: now.toISOString(), by: 'Olive Office', cancelAfterMinutes: 30 };
    expect((await card(id)).parentLateNotice).toEqual(told);
    now = new Date(appointment);
    expect((await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(null))).statusCode).toBe(200);
    expect((await card(id)).parentLateNotice).toEqual(told);
  });

  it('recorded by the worker on the way, the card says so too', async () => {
    const id = await booked();
    expect((await call('staff', 'POST', `/api/visits/${id}/depart`, leaving(null))).statusCode).toBe(200);
    expect((await call('staff', 'POST', `/api/visits/${id}/parent-running-late`)).statusCode).toBe(200);
    expect((await card(id)).parentLateNotice).toEqual({
      at: now.toISOString(),
      by: 'Sam Staff',
      cancelAfterMinutes: 30,
    });
  });
});
