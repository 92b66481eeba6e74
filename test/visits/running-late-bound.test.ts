import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { resolveAlarm } from '../../src/alarms/commands.ts';
import { decide } from '../../src/domain/visits/lifecycle.ts';
import { isDoorstepError } from '../../src/errors.ts';
import type { Db } from '../../src/store/db.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit, lifecycleOf } from '../../src/store/visits.ts';
import { actorOf } from '../../src/visits/access.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { arriveVisit, checkInVisit, returnVisit, runningLate } from '../../src/visits/while-out.ts';
import { visitWorld, WATCH_RUN } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser, sessionFor } from '../helpers/web.ts';

/**
 * Found by review: the 4-hour bound on a new return time counted from each new time, and the
 * comment that justified it ("told to the people the school names, so someone confirms the worker
 * is safe at least every 4 hours") held in one pack only — `notices.changed` names nobody by default.
 * In Hampton (and Lime Hills, King's Gomer, Heath Lane) the phone page could push the return on,
 * 4 hours at a time, for three days: no alarm, nobody told. Hampton's policy: a worker running late
 * "contact[s] the Office to advise of their expected return time". A worker's own new time goes no
 * further than 4 hours after someone else last confirmed them (the departure, or the office's
 * running late, check-in or arrival for them); past it the office sets it, after speaking to them.
 */
const w = visitWorld('late_bound', () => now);
let db: Db;
let app: FastifyInstance;
let vdeps: VisitDeps;
let jdeps: JobDeps;
let lead: User;
let partner: User;
let office: User;
let now = new Date('2026-11-23T10:00:00Z');
const MIN = 60_000;
const at = (hhmm: string) => new Date(`2026-11-23T${hhmm}:00Z`);

beforeAll(async () => {
  ({ db, app, vdeps, jdeps } = w);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office']);
});

/** Out from `hhmm`, expected back 4 hours on (the longest allowed). */
async function outAt(hhmm: string): Promise<string> {
  now = at(hhmm);
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 240 * MIN),
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}

/** `ok`, or the refusal's code and message. */
const attempt = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => {
      if (isDoorstepError(err)) return `${err.code}: ${err.message}`;
      throw err;
    },
  );

const openAlarms = async (id: string) =>
  (
    await db.query<{ type: string }>(`SELECT type FROM alarms WHERE visit_id = $1 AND status <> 'resolved'`, [
      id,
    ])
  ).rows.map((r) => r.type);

describe('running late from the phone, again and again (Hampton: nobody named for changes)', () => {
  it('keeps no worker out past 4 hours with nobody told: they are overdue, and the office sets the new time', async () => {
    const id = await outAt('10:00');
    // A minute before each deadline the worker pushes it on by 4 hours, as long as they are let.
    const pushes: string[] = [];
    for (let i = 0; i < 18; i++) {
      now = new Date((await getVisit(db, id))!.expectedReturnAt!.getTime() - MIN);
      await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
      const r = await attempt(
        runningLate(vdeps, lead, id, new Date(now.getTime() + 240 * MIN), 'still here'),
      );
      pushes.push(r);
      if (r !== 'ok') break;
    }
    // The first deadline (14:00) is already 4 hours after leaving: the first push is refused.
    expect(pushes).toEqual([expect.stringMatching(/^DOORSTEP_BAD_REQUEST: expectedReturnAt: 17:59 is more/)]);
    expect(pushes[0]).toMatch(
      /after 10:00, when someone other than you last confirmed you safe .*: set one no later than 14:00, or call the office on 01632 960123: they set your new return time after speaking to you$/,
    );
    // So at 14:00 they are overdue, and the alarm stands until someone speaks to them.
    now = at('14:01');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
    expect(await openAlarms(id)).toEqual(['overdue_visit']);
    // The worker's partner cannot push it on either.
    expect(await attempt(runningLate(vdeps, partner, id, at('15:00'), 'still here'))).toMatch(
      /you have been out more than 4 hours since 10:00.*call the office/,
    );
    expect(await openAlarms(id)).toEqual(['overdue_visit']);
    // The office, on the phone with them: a new time, 4 hours from now at most; the alarm stands down.
    now = at('14:05');
    expect(await attempt(runningLate(vdeps, office, id, at('18:05'), 'spoke to Sam: parent late'))).toBe(
      'ok',
    );
    expect(await openAlarms(id)).toEqual([]);
    // From then the worker may set their own, up to 4 hours after the office's call.
    now = at('18:00');
    expect(await attempt(runningLate(vdeps, lead, id, at('18:06'), 'nearly done'))).toMatch(
      /no later than 18:05/,
    );
    expect(await attempt(runningLate(vdeps, lead, id, at('18:05'), 'nearly done'))).toBe('ok');
    await returnVisit(vdeps, lead, id);
  });

  it('counts the office’s check-in and arrival for the worker as a confirmation, never the worker’s own', async () => {
    const id = await outAt('10:00');
    // The worker's own check-in and arrival confirm nothing to anyone else.
    now = at('11:00');
    await arriveVisit(vdeps, lead, id);
    now = at('12:00');
    await checkInVisit(vdeps, partner, id);
    expect(await attempt(runningLate(vdeps, lead, id, at('14:30'), 'x'))).toMatch(/no later than 14:00/);
    // The office checks in for them at 13:00 (it phoned them): 4 hours from then.
    now = at('13:00');
    await checkInVisit(vdeps, office, id);
    expect(await attempt(runningLate(vdeps, lead, id, at('17:01'), 'x'))).toMatch(/no later than 17:00/);
    expect(await attempt(runningLate(vdeps, lead, id, at('17:00'), 'x'))).toBe('ok');
    await returnVisit(vdeps, lead, id);

    // The arrival recorded by the office (the worker phoned it in) at 10:30.
    const other = await outAt('10:00');
    now = at('10:30');
    await arriveVisit(vdeps, office, other);
    now = at('11:00');
    expect(await attempt(runningLate(vdeps, partner, other, at('14:31'), 'x'))).toMatch(
      /no later than 14:30/,
    );
    expect(await attempt(runningLate(vdeps, partner, other, at('14:30'), 'x'))).toBe('ok');
    await returnVisit(vdeps, lead, other);
  });

  it('counts the office resolving the overdue alarm after speaking to the worker (from the board, or an SMS reply) as a confirmation', async () => {
    const id = await outAt('10:00');
    now = at('14:01');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM alarms WHERE visit_id = $1 AND type = 'overdue_visit' AND status <> 'resolved'`,
      [id],
    );
    expect(rows).toHaveLength(1);
    // The office phones them and resolves it on the board: "the worker is safe: the office spoke to them".
    now = at('14:05');
    expect(
      await resolveAlarm(
        db,
        w.config,
        String(rows[0]!.id),
        `user:${office.id}`,
        'worker_safe_contacted',
        null,
        now,
      ),
    ).toBe('resolved');
    // The worker may now set their own new time, up to 4 hours after that call.
    now = at('14:10');
    expect(await attempt(runningLate(vdeps, lead, id, at('18:06'), 'parent late'))).toMatch(
      /no later than 18:05/,
    );
    expect(await attempt(runningLate(vdeps, lead, id, at('18:05'), 'parent late'))).toBe('ok');
    await returnVisit(vdeps, lead, id);
  });

  it('does not count an alarm resolved without speaking to the worker (a false alarm)', async () => {
    const id = await outAt('10:00');
    now = at('14:01');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM alarms WHERE visit_id = $1 AND type = 'overdue_visit' AND status <> 'resolved'`,
      [id],
    );
    now = at('14:05');
    await resolveAlarm(db, w.config, String(rows[0]!.id), `user:${office.id}`, 'false_alarm', null, now);
    now = at('14:10');
    expect(await attempt(runningLate(vdeps, lead, id, at('14:40'), 'x'))).toMatch(
      /you have been out more than 4 hours since 10:00/,
    );
    await returnVisit(vdeps, lead, id);
  });

  it('does not count a missed check-in resolved as a false alarm, an incident or a test, nor by the lead (with the office role too): the check-in clock restarts all the same', async () => {
    // Found by review: every missed check-in resolved re-armed the clock with a check-in "by the
    // office" that counted as someone else confirming the worker, whatever the reason and whoever
    // resolved it — a false alarm at 11:05 let the lead push their own return to 15:05.
    const hourly = async () => {
      const id = await outAt('10:00');
      await db.query('UPDATE visits SET check_in_minutes = 60 WHERE id = $1', [id]);
      now = at('11:01');
      await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM alarms WHERE visit_id = $1 AND type = 'missed_check_in' AND status <> 'resolved'`,
        [id],
      );
      expect(rows).toHaveLength(1);
      return { id, alarmId: String(rows[0]!.id) };
    };
    const leadWithOffice = await addUser(db, 'lead-office', ['visiting-staff', 'office']);
    for (const [by, reason] of [
      [office, 'false_alarm'],
      [office, 'incident_without_dispatch'],
      [office, 'test'],
      [leadWithOffice, 'worker_safe_contacted'],
    ] as const) {
      const { id, alarmId } = await hourly();
      // The lead who also has the office role resolves their own alarm.
      const worker = by === leadWithOffice ? leadWithOffice : lead;
      await db.query('UPDATE visits SET lead_user_id = $2 WHERE id = $1', [id, worker.id]);
      now = at('11:05');
      expect(await resolveAlarm(db, w.config, alarmId, `user:${by.id}`, reason, null, now)).toBe('resolved');
      // The clock restarts (else the next missed check-in would never be raised), as the resolver's.
      const restarted = await db.query<{ source: string; by_user_id: string | null }>(
        'SELECT source, by_user_id::text FROM visit_check_ins WHERE visit_id = $1',
        [id],
      );
      expect(restarted.rows).toEqual([{ source: 'resolution', by_user_id: by.id }]);
      expect((await getVisit(db, id))!.lastCheckInAt).toEqual(at('11:05'));
      for (const hhmm of ['11:50', '12:45', '13:40']) {
        now = at(hhmm);
        await checkInVisit(vdeps, partner, id);
      }
      now = at('13:55');
      expect(
        await attempt(runningLate(vdeps, worker, id, at('15:05'), 'still here')),
        `resolved ${reason} by ${by.username}`,
      ).toMatch(/15:05 is more than 4 hours after 10:00/);
      await returnVisit(vdeps, worker, id);
    }
    // Resolved by the office after speaking to them: it does count.
    const { id, alarmId } = await hourly();
    now = at('11:05');
    await resolveAlarm(db, w.config, alarmId, `user:${office.id}`, 'worker_safe_contacted', null, now);
    now = at('13:55');
    expect(await attempt(runningLate(vdeps, lead, id, at('15:05'), 'still here'))).toBe('ok');
    await returnVisit(vdeps, lead, id);
  });

  it('keeps the overdue re-arm as a change of the return time, which confirms nothing by itself', async () => {
    const id = await outAt('10:00');
    now = at('14:01');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM alarms WHERE visit_id = $1 AND type = 'overdue_visit' AND status <> 'resolved'`,
      [id],
    );
    now = at('14:05');
    await resolveAlarm(db, w.config, String(rows[0]!.id), `user:${office.id}`, 'false_alarm', null, now);
    const changes = await db.query<Record<string, unknown>>(
      `SELECT by_user_id::text, previous_at, new_at, source, reason FROM visit_return_changes WHERE visit_id = $1`,
      [id],
    );
    expect(changes.rows).toEqual([
      {
        by_user_id: office.id,
        previous_at: at('14:00'),
        new_at: at('14:20'),
        source: 'resolution',
        reason: expect.stringMatching(
          /^overdue alarm resolved \(a false alarm\): expected back within 15 minutes/,
        ),
      },
    ]);
    expect((await getVisit(db, id))!.expectedReturnAt).toEqual(at('14:20'));
    // A false alarm confirms nobody: the worker's own time is still closed (4 hours since leaving).
    now = at('14:10');
    expect(await attempt(runningLate(vdeps, lead, id, at('14:40'), 'x'))).toMatch(
      /you have been out more than 4 hours since 10:00/,
    );
    await returnVisit(vdeps, lead, id);
  });

  it('the phone page offers the worker running late only while the server takes their own time, and says until when', async () => {
    const id = await outAt('10:00');
    const page = async (who: User) => {
      const s = await sessionFor(db, who);
      const r = await app.inject({
        method: 'GET',
        url: `/api/visits/${id}`,
        headers: { cookie: s.cookie },
      });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as { actions: string[]; lateSelfUntil: string | null };
    };
    const list = async (who: User) => {
      const s = await sessionFor(db, who);
      const r = await app.inject({
        method: 'GET',
        url: '/api/visits?school=hampton&date=2026-11-23',
        headers: { cookie: s.cookie },
      });
      const v = (r.json() as { visits: { id: string; actions: string[] }[] }).visits.find((x) => x.id === id);
      return v!.actions;
    };
    // 13:59: a time of their own is still taken (up to 14:00), and the page is told the bound.
    now = at('13:59');
    expect(await page(lead)).toMatchObject({
      actions: expect.arrayContaining(['running-late']),
      lateSelfUntil: at('14:00').toISOString(),
    });
    expect(await list(partner)).toContain('running-late');
    // 14:00: none is (a new one must be after now and no later than 14:00): not offered to either of
    // them — in the page or the register — while the office still may set one; "I need help",
    // check-in and back safe stay.
    now = at('14:00');
    expect(await attempt(runningLate(vdeps, lead, id, at('14:01'), 'x'))).toMatch(/call the office/);
    for (const who of [lead, partner]) {
      const p = await page(who);
      expect(p.actions).not.toContain('running-late');
      expect(p.actions).toEqual(expect.arrayContaining(['help', 'check-in', 'back-safe']));
      expect(p.lateSelfUntil).toBe(at('14:00').toISOString());
      expect(await list(who)).not.toContain('running-late');
    }
    const forOffice = await page(office);
    expect(forOffice.actions).toContain('running-late');
    expect(forOffice.lateSelfUntil).toBeNull();
    // The office sets one after speaking to them: the worker's own is open again, for 4 hours from then.
    now = at('14:05');
    await runningLate(vdeps, office, id, at('15:00'), 'spoke to Sam: parent late');
    expect(await page(lead)).toMatchObject({
      actions: expect.arrayContaining(['running-late']),
      lateSelfUntil: at('18:05').toISOString(),
    });
    await returnVisit(vdeps, lead, id);
    // The lifecycle, asked directly: the people on the visit are told to call the office, whatever
    // other role they hold; the office may still set it.
    const closed = {
      ...lifecycleOf((await getVisit(db, id))!, now),
      returnedAt: null,
      ownReturnTimeClosed: true,
    };
    const rules = vdeps.rulesFor('hampton');
    const asOffice = { ...actorOf(lead), roles: ['visiting-staff', 'office'] };
    expect(decide('running-late', closed, asOffice, rules)).toEqual({
      ok: false,
      why: 'who',
      message: expect.stringMatching(/out more than 4 hours since someone other than you .*call the office/),
    });
    expect(decide('running-late', closed, actorOf(office), rules).ok).toBe(true);
  });

  it('the phone page is told why, on the field, in a 400', async () => {
    const id = await outAt('10:00');
    now = at('13:30');
    const s = await sessionFor(db, lead);
    const r = await app.inject({
      method: 'POST',
      url: `/api/visits/${id}/running-late`,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      payload: { expectedReturnAt: at('15:00').toISOString(), reason: 'parent late' },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      code: 'DOORSTEP_BAD_REQUEST',
      message: expect.stringMatching(
        /^expectedReturnAt: 15:00 is more than 4 hours after 10:00.*call the office/,
      ),
    });
    await returnVisit(vdeps, lead, id);
  });
});
