import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { acknowledgeAlarm, resolveAlarm } from '../../src/alarms/commands.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { londonClock, londonDate } from '../../src/domain/attendance/dates.ts';
import { decideStep, type EscalationPolicy } from '../../src/domain/escalation/ladder.ts';
import { RESUME_WATCH_MINUTES } from '../../src/domain/visits/lifecycle.ts';
import { MAX_RETURN_AHEAD_MINUTES } from '../../src/domain/visits/return-time.ts';
import { nextVisitCheck } from '../../src/domain/visits/watch.ts';
import { isDoorstepError } from '../../src/errors.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db, Queryable } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { REARM_AFTER_RESOLUTION_MINUTES } from '../../src/store/visit-changes.ts';
import { getVisit } from '../../src/store/visits.ts';
import { setAppointment } from '../../src/visits/appointment.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { cancelParentLate, cancelVisit, recordNoAnswer, recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { resumeWatch } from '../../src/visits/resume-watch.ts';
import {
  arriveVisit,
  checkInVisit,
  recordParentRunningLate,
  returnVisit,
  runningLate,
} from '../../src/visits/while-out.ts';
import { raceBehindLock } from '../helpers/races.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold } from '../helpers/visits.ts';
import { until } from '../helpers/wait.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Model-based test of the visit register, its watcher and its escalation ladders (fast-check
 * commands): random sequences of what workers, their partners and the office do (the office's check-in,
 * arrival and back safe for the worker, "I am still out" after a back safe, resolutions as the worker
 * safe, a false alarm or an incident), and of the clock moving on, through
 * the real service, the real watcher, the real escalation step and PostgreSQL. Two packs: Thames View
 * (the day's list signed first; an arrival call within 20 minutes, then a check-in at least every 20;
 * at the door, "no answer" from 20 minutes — unless the parent said they are running late, recorded by
 * the worker, the partner or the office before the 20 minutes are over: then the wait goes on and the
 * late-parent cancellation comes past 30, only then) and Hampton (no
 * authorisation, no check-ins: the expected return is the only deadline). Departures with and without
 * a check-in interval of their own; return times anywhere in the 4-hour bound (short ones the clock
 * passes at once) and outside it (refused); running late to any time, refused outside the bound.
 *
 * The model keeps, from what the policies say, when each deadline falls (an event model: not the
 * watcher's arithmetic). After every step (the watcher, then every escalation step whose time has
 * come, having run):
 *  - the register's visit is what the model says: status, expected return (running late stores the
 *    new time, exactly), out or not;
 *  - a worker out is always watched: the overdue alarm exists exactly from the expected return, the
 *    missed check-in exactly from the check-in the model expects, none before; and past a deadline
 *    its alarm stands (not resolved: open or acknowledged) until something re-arms the deadline,
 *    while before every deadline the watcher has one to come (`nextVisitCheck`, no later than the
 *    model's earliest) — counting alarms raised, not standing, let an overdue worker's check-in
 *    stand their only alarm down unseen, nothing to come;
 *  - a worker's own new return time goes no further than 4 hours after someone else last confirmed
 *    them (leaving, the office's running late, check-in or arrival for them, its "still out — watch
 *    again", the office resolving any of their alarms after speaking to them — a missed check-in, an
 *    overdue — but never a false alarm or an incident);
 *  - a check-in or an arrival, the worker's, the partner's or the office's, never stands an overdue
 *    alarm down: only running late or back safe does;
 *  - back safe said by mistake is undone within 12 hours ("I am still out"), and the worker is
 *    watched again from then exactly as after leaving;
 *  - nothing is raised after back safe, and back safe stands every alarm down;
 *  - every alarm still standing has its ladder going (a next step scheduled, its last step told at
 *    least one target), or paused by an acknowledgement that has not timed out; an acknowledgement
 *    that timed out, worker not safe, has reopened the alarm and put it back in its ladder;
 *  - the register refuses what the lifecycle does not allow (409), a departure before authorisation
 *    or after the visit's end, and a return time outside the bound (400);
 *  - resolving as safe (or running late, or back safe) never writes an incident record; resolving
 *    as an incident writes exactly one.
 * The ladders are Doorstep's defaults' shapes with the board as their only target (nothing is sent
 * in the background), and Hampton's pack's own overdue ladder.
 */
const schema = uniqueName('model');
const prefix = uniqueName('model');
let db: Db;
let deps: JobDeps;
let vdeps: VisitDeps;
let lead: User;
let partner: User;
let office: User;
let producer: Producer<typeof catalog>;
let conn: Awaited<ReturnType<typeof connectRedis>>;
let now = new Date('2026-11-23T09:00:00Z');
type School = 'thames' | 'hampton';
/** Alarms resolved as an incident (each writes one incident record; nothing else writes one). */
const incidentAlarms = new Set<string>();
/** How often the random runs reached the office's and the partner's steps and "I am still out". */
const stepsTaken = {
  officeCheckIn: 0,
  officeArrive: 0,
  partnerCheckIn: 0,
  resumed: 0,
  notConfirming: 0,
  /** Thames View 3.5: the parent's notice that they are running late, recorded. */
  parentSaidLate: 0,
};
const run = {
  id: 'x',
  name: 'watch-visits',
  attempt: 1,
  maxAttempts: 1,
  signal: new AbortController().signal,
};
const MIN = 60_000;
const minutes = (n: number) => n * MIN;

const BOARD_MISSED = `
      missed-check-in:
        condition: if-not-acknowledged
        reescalateAfterMinutes: 10
        repeat: 2
        levels:
          - { afterMinutes: 0, notify: [board] }
          - { afterMinutes: 5, notify: [board] }`;
const BOARD_OVERDUE = `
      overdue-visit:
        condition: if-not-resolved
        reescalateAfterMinutes: 15
        levels:
          - { afterMinutes: 0, notify: [board] }
          - { afterMinutes: 15, notify: [board] }
          - { afterMinutes: 15, notify: [board] }
          - { afterMinutes: 10, notify: [board] }
          - { afterMinutes: 10, notify: [board] }
          - { afterMinutes: 10, notify: [board] }`;

function modelConfig(): DoorstepConfig {
  const school = (id: string, name: string, pack: string, escalation: string) => `
  - id: ${id}
    name: ${name}
    phone: "01632 960123"
    mis: { kind: sims-xml, dropFolder: ./data/drop/${id} }
    records: { sink: preview }
    policies: [statutory, ${pack}]
    contacts:
      on-call-leaders: [{ name: Head, phone: "+447700900001" }]
      senior-leadership: [{ name: Chair, phone: "+447700900002" }]
    escalation:${escalation}`;
  const r = parseConfigText(
    `trust: { id: t, name: Trust }\nschools:${school('thames', 'Thames View Junior', 'thames-view', BOARD_MISSED + BOARD_OVERDUE)}${school('hampton', 'Hampton Infant', 'hampton', BOARD_MISSED)}`,
    { env: {} },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return r.config;
}

interface Model {
  visitId: string | null;
  school: School;
  status: 'none' | 'requested' | 'authorised' | 'departed' | 'returned' | 'completed' | 'cancelled';
  /** Thames View: the day's list signed (and the risk assessed) since the request or the last new address. */
  approved: boolean;
  out: boolean;
  back: boolean;
  departedAt: number | null;
  /** The overdue deadline: the expected return (the packs' grace is 0). */
  expectedReturn: number | null;
  /** The last time someone other than the worker confirmed them (leaving, then the office). */
  confirmedAt: number | null;
  /** The check-in interval the visit is watched by (its own, else the pack's), or none. */
  every: number | null;
  /** The arrival call is still awaited (Thames View). */
  arrivalPending: boolean;
  /** A check-in is on the register (the worker's, the office's, a resolution's, "still out"): the check-in clock runs. */
  checkedIn: boolean;
  /** The latest sign of life the check-in clock counts from (departure, arrival, a check-in). */
  lastSign: number | null;
  arrivedAt: number | null;
  /** The arranged time (Thames View's from the request; a new address comes with one): the family's lateness counts from it (3.4/3.5). */
  appointmentAt: number | null;
  /** The London date the visit is planned for: it leaves on that day only. */
  plannedFor: string;
  outcome: boolean;
  /** Thames View 3.5: the parent/carer's notice that they are running late is recorded on the visit. */
  parentSaidLate: boolean;
  /** Alarms the visit had when its worker came back safe. */
  alarmsAtBack: number | null;
  /** When back safe was said (null: not back). */
  backAt: number | null;
  /** Acknowledgements given, by alarm: when. */
  acks: Map<string, number>;
  addresses: number;
  /** The visit's alarms not resolved, as of the last look. */
  standing: number;
}
type Real = Record<string, never>;

/**
 * Thames View's arrival call after a check-in at `t`: still awaited when the check-in came before its
 * deadline (on the way there: a check-in is no arrival); one at or after it answers the missed call.
 */
const arrivalAfterCheckIn = (m: Model, t: number) =>
  m.arrivalPending && m.departedAt !== null && t < m.departedAt + minutes(20);

/**
 * When the model says a missed check-in falls due: the arrival call while awaited (Thames View), and
 * the check-in clock once the worker has arrived or checked in (before that, the arrival call stands
 * in for it) — both where a check-in on the way there left the call awaited.
 */
function checkInDues(m: Model): number[] {
  if (!m.out || m.departedAt === null) return [];
  const dues: number[] = [];
  if (m.arrivalPending) dues.push(m.departedAt + minutes(20));
  if ((!m.arrivalPending || m.checkedIn) && m.every !== null) dues.push(m.lastSign! + minutes(m.every));
  return dues;
}

interface AlarmRow {
  id: string;
  type: string;
  status: string;
  raisedAt: number;
  step: number;
  nextStepAt: number | null;
  acknowledgedAt: number | null;
  reopened: number;
  policy: EscalationPolicy;
}
const alarmsOf = async (visitId: string): Promise<AlarmRow[]> =>
  (
    await db.query<Record<string, unknown>>(
      `SELECT id, type, status, raised_at, escalation_step, next_step_at, acknowledged_at, reopened, policy
         FROM alarms WHERE visit_id = $1 ORDER BY id`,
      [visitId],
    )
  ).rows.map((r) => ({
    id: String(r.id),
    type: r.type as string,
    status: r.status as string,
    raisedAt: new Date(r.raised_at as string).getTime(),
    step: r.escalation_step as number,
    nextStepAt: r.next_step_at ? new Date(r.next_step_at as string).getTime() : null,
    acknowledgedAt: r.acknowledged_at ? new Date(r.acknowledged_at as string).getTime() : null,
    reopened: r.reopened as number,
    policy: r.policy as EscalationPolicy,
  }));

/** The escalation worker: every step whose time has come runs (as its delayed job would), until none is due. */
async function runDueSteps(): Promise<void> {
  for (let round = 0; round < 200; round++) {
    const { rows } = await db.query<{ id: string; escalation_step: number }>(
      `SELECT id, escalation_step FROM alarms
        WHERE escalation_step >= 0 AND COALESCE(next_step_at, raised_at) <= $1 ORDER BY id`,
      [now],
    );
    if (!rows.length) return;
    for (const r of rows) await escalate({ alarmId: String(r.id), step: r.escalation_step }, run, deps);
  }
  throw new Error('escalation never settled: a ladder stepping without waiting');
}

async function checkInvariants(m: Model): Promise<void> {
  // What fell due since the last look, in order: ladder steps (an acknowledged alarm's ladder pauses
  // at its next step), then the watcher (raises; reopens timed-out acknowledgements), then the steps
  // that started or resumed.
  await runDueSteps();
  await watchVisits({ reason: 'manual' }, run, deps);
  await runDueSteps();
  if (!m.visitId) return;
  const t = now.getTime();
  const v = (await getVisit(db, m.visitId))!;
  const alarms = await alarmsOf(m.visitId);
  m.standing = alarms.filter((a) => a.status !== 'resolved').length;
  const at = `at +${(t - (m.departedAt ?? t)) / MIN} min`;

  // The register's visit is the model's.
  expect(v.status, `status ${at}`).toBe(m.status);
  expect(v.departedAt !== null && v.returnedAt === null, `worker out ${at}`).toBe(m.out);
  if (m.expectedReturn !== null)
    expect(v.expectedReturnAt?.getTime(), `the expected return ${at}`).toBe(m.expectedReturn);

  for (const a of alarms) expect(a.raisedAt, `alarm ${a.type} raised in the future`).toBeLessThanOrEqual(t);
  if (m.out) {
    // Overdue exactly from the expected return, never before.
    const overdue = alarms.filter((a) => a.type === 'overdue_visit' && a.raisedAt === m.expectedReturn);
    expect(overdue.length, `overdue for ${new Date(m.expectedReturn!).toISOString()} ${at}`).toBe(
      t >= m.expectedReturn! ? 1 : 0,
    );
    // A missed check-in exactly when the model expects one (the arrival call and the clock may fall
    // due at the same moment: an alarm each).
    const dues = checkInDues(m);
    if (dues.length) {
      for (const due of new Set(dues)) {
        const missed = alarms.filter((a) => a.type === 'missed_check_in' && a.raisedAt === due);
        expect(missed.length, `missed check-in due ${new Date(due).toISOString()} ${at}`).toBe(
          t >= due ? dues.filter((d) => d === due).length : 0,
        );
      }
    } else
      expect(
        alarms.filter((a) => a.type === 'missed_check_in' && a.raisedAt > m.lastSign!),
        `a missed check-in with no check-in to miss ${at}`,
      ).toEqual([]);
    assertWatched(m, v, alarms, t, at);
  } else if (m.alarmsAtBack !== null) {
    expect(alarms.length, 'an alarm raised after back safe').toBe(m.alarmsAtBack);
    // Back safe stood every alarm down, as the worker safe.
    expect(alarms.filter((a) => a.status !== 'resolved')).toEqual([]);
  }

  // Every ladder still standing is going (or paused by an acknowledgement not yet timed out).
  for (const a of alarms) {
    const what = `alarm ${a.id} (${a.type}, ${a.status}, step ${a.step}) ${at}`;
    if (a.status === 'resolved') {
      // Its ladder stops when its next step comes round (the step finds it resolved), never pages again.
      if (a.step >= 0) expect(a.nextStepAt!, `${what}: a resolved alarm's ladder goes on`).toBeGreaterThan(t);
      continue;
    }
    const paused =
      a.status === 'acknowledged' && a.policy.condition === 'if-not-acknowledged' && a.step === -1;
    if (!paused) {
      expect(a.step, `${what}: its ladder has ended`).toBeGreaterThanOrEqual(0);
      expect(a.nextStepAt, `${what}: no next step`).not.toBeNull();
      expect(a.nextStepAt!, `${what}: its next step is overdue`).toBeGreaterThan(t);
      const d = decideStep(a.policy, a.step, 'open');
      expect(d.kind === 'notify' && d.targets.length > 0, `${what}: nobody to tell next`).toBe(true);
      const told = await db.query(`SELECT target FROM notifications WHERE alarm_id = $1 AND step = $2`, [
        a.id,
        a.step - 1,
      ]);
      expect(told.rows.length, `${what}: its last step told no one`).toBeGreaterThan(0);
    }
    if (a.status === 'acknowledged' && a.policy.reescalateAfterMinutes !== undefined)
      expect(
        a.acknowledgedAt! + minutes(a.policy.reescalateAfterMinutes),
        `${what}: acknowledgement timed out`,
      ).toBeGreaterThan(t);
    // The model's own account: acknowledged at `ackedAt`, timed out since, the worker not safe.
    const ackedAt = m.acks.get(a.id);
    if (ackedAt !== undefined && a.policy.reescalateAfterMinutes !== undefined)
      if (t >= ackedAt + minutes(a.policy.reescalateAfterMinutes)) {
        expect(a.status, `${what}: acknowledged ${(t - ackedAt) / MIN} min ago, not reopened`).toBe('open');
        expect(a.reopened).toBeGreaterThan(0);
        m.acks.delete(a.id);
      }
  }
  const { rows: incidents } = await db.query<{ alarm: string }>(
    `SELECT DISTINCT source_id AS alarm FROM outbox WHERE kind = 'lone_worker_incident'`,
  );
  expect(
    incidents.map((r) => r.alarm).sort(),
    'an incident record for other than an alarm resolved as an incident',
  ).toEqual([...incidentAlarms].sort());
}

/**
 * A worker out is always watched: past their deadline (the model's), an alarm of it stands — open or
 * acknowledged, not resolved — until something re-arms the deadline; otherwise the watcher has a
 * deadline to come, in the future and no later than the model's earliest.
 */
function assertWatched(
  m: Model,
  v: NonNullable<Awaited<ReturnType<typeof getVisit>>>,
  alarms: AlarmRow[],
  t: number,
  at: string,
): void {
  const stands = (type: string) => alarms.some((a) => a.type === type && a.status !== 'resolved');
  const due = Math.min(...checkInDues(m));
  const overdue = t >= m.expectedReturn!;
  const missed = t >= due;
  if (overdue)
    expect(
      stands('overdue_visit'),
      `overdue since ${new Date(m.expectedReturn!).toISOString()}, no overdue alarm standing ${at}`,
    ).toBe(true);
  if (missed)
    expect(
      stands('missed_check_in'),
      `a check-in missed since ${new Date(due).toISOString()}, no alarm standing ${at}`,
    ).toBe(true);
  if (overdue || missed) return;
  const next = nextVisitCheck(v, vdeps.rulesFor(m.school), now);
  expect(next, `a worker out with no deadline passed and none to come ${at}`).not.toBeNull();
  expect(next!.getTime(), `the next deadline is not in the future ${at}`).toBeGreaterThan(t);
  expect(next!.getTime(), `the next deadline is after the model's ${at}`).toBeLessThanOrEqual(
    Math.min(m.expectedReturn!, due ?? Number.POSITIVE_INFINITY),
  );
}

/** `ok`, or the error code the register refused with. */
async function attempt(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isDoorstepError(err)) return err.code;
    throw err;
  }
}

const command = (
  name: string,
  act: (m: Model) => Promise<void>,
  when: (m: Model) => boolean = (m) => m.visitId !== null,
): fc.AsyncCommand<Model, Real> => ({
  check: when,
  run: async (m: Model) => {
    await act(m);
    await checkInvariants(m);
  },
  toString: () => name,
});

/** A return time, in seconds from now: mostly within the bound (often short), sometimes outside it. */
const returnSeconds = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 30 }).map((n) => n * 60) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: MAX_RETURN_AHEAD_MINUTES }).map((n) => n * 60) },
  { weight: 1, arbitrary: fc.integer({ min: -120, max: 0 }).map((n) => n * 60) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_RETURN_AHEAD_MINUTES + 1, max: 3 * 24 * 60 }).map((n) => n * 60),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(1, MAX_RETURN_AHEAD_MINUTES * 60, MAX_RETURN_AHEAD_MINUTES * 60 + 1),
  },
);
const withinBound = (seconds: number) => seconds > 0 && seconds <= MAX_RETURN_AHEAD_MINUTES * 60;
const notOut = 'DOORSTEP_CONFLICT';

/** The visit of a run: asked for by its lead; Hampton's risk assessed at the request; Thames View's list signed or not yet. */
async function requestFor(m: Model, school: School, signed: boolean): Promise<void> {
  const id = await requestVisit(vdeps, lead, {
    schoolId: school,
    pupilMisId: 'P1',
    reason: 'model',
    // Thames View 2.6: the appointment made with the request, for this minute.
    ...(school === 'thames' ? { appointmentTime: londonClock(now) } : {}),
  });
  const v = (await getVisit(db, id))!;
  Object.assign(m, { plannedFor: v.plannedFor, appointmentAt: v.appointmentAt?.getTime() ?? null });
  if (school === 'hampton')
    await db.query(`UPDATE visits SET risk_assessed_at = $2, risk_assessed_by = 'user:dsl' WHERE id = $1`, [
      id,
      now,
    ]);
  Object.assign(m, { visitId: id, school, status: 'requested', approved: false });
  if (school === 'thames' && signed) await sign(m);
}

async function sign(m: Model): Promise<void> {
  await db.query(
    `UPDATE visits SET status = 'authorised', risk_assessed_at = $2, risk_assessed_by = 'user:sbm' WHERE id = $1`,
    [m.visitId, now],
  );
  Object.assign(m, { status: 'authorised', approved: true });
}

/** Each thing that can happen, as a command (the property draws them; the scenarios name them). */
const cmd = {
  depart: (seconds: number, every?: number, long?: number) =>
    command(`depart (return in ${seconds / 60} min, check in every ${every ?? long ?? '-'})`, async (m) => {
      const own = m.school === 'thames' ? every : long;
      const r = await attempt(
        departTold(vdeps, lead, m.visitId!, {
          expectedReturnAt: new Date(now.getTime() + seconds * 1000),
          partnerUserId: partner.id,
          risksRead: true,
          onFoot: true,
          checkInMinutes: own,
        }),
      );
      const mayLeave =
        (m.status === 'requested' || m.status === 'authorised') &&
        (m.school === 'hampton' || m.approved) &&
        // On the day planned, with the appointment made where the pack asks for one.
        londonDate(now) === m.plannedFor &&
        (m.school !== 'thames' || m.appointmentAt !== null);
      if (!mayLeave) {
        // Not authorised (or no longer: a new address), or the visit already left or ended.
        expect(['DOORSTEP_POLICY', 'DOORSTEP_CONFLICT'], `depart from ${m.status}`).toContain(r);
        return;
      }
      if (!withinBound(seconds)) {
        expect(r, `a return ${seconds / 60} min ahead`).toBe('DOORSTEP_POLICY');
        return;
      }
      expect(r).toBe('ok');
      const t = now.getTime();
      Object.assign(m, {
        status: 'departed',
        out: true,
        departedAt: t,
        expectedReturn: t + seconds * 1000,
        confirmedAt: t,
        every: own ?? (m.school === 'thames' ? 20 : null),
        arrivalPending: m.school === 'thames',
        checkedIn: false,
        lastSign: t,
      });
    }),
  sign: () =>
    command(
      'sign the day’s list and assess the risk (Thames View)',
      sign,
      (m) => m.school === 'thames' && m.status === 'requested',
    ),
  ackThenWait: () =>
    command(
      'acknowledge, then nobody does anything until the acknowledgement times out',
      async (m) => {
        let until = now.getTime();
        for (const a of await alarmsOf(m.visitId!))
          if (a.status === 'open') {
            await acknowledgeAlarm(db, a.id, `user:${office.id}`, now);
            m.acks.set(a.id, now.getTime());
            if (a.policy.reescalateAfterMinutes !== undefined)
              until = Math.max(until, now.getTime() + minutes(a.policy.reescalateAfterMinutes));
          }
        await checkInvariants(m);
        now = new Date(until);
      },
      (m) => m.out && m.standing > 0,
    ),
  newAddress: () =>
    command('the family moved: a new address', async (m) => {
      m.addresses++;
      const r = await attempt(
        setAppointment(vdeps, lead, m.visitId!, {
          time: '15:00',
          address: { line1: `${m.addresses} New Road`, town: 'Leeds', postcode: 'LS6 1AA' },
        }),
      );
      const allowed = m.status === 'requested' || m.status === 'authorised';
      expect(r, `new address (${m.status})`).toBe(allowed ? 'ok' : 'DOORSTEP_CONFLICT');
      // What was authorised and assessed was the old address: it waits for both again. A parent's
      // warning that they would be late was for the old time: withdrawn with it.
      if (allowed) {
        const at = (await getVisit(db, m.visitId!))!.appointmentAt!.getTime();
        Object.assign(m, {
          status: 'requested',
          approved: false,
          appointmentAt: at,
          parentSaidLate: m.parentSaidLate && at === m.appointmentAt,
        });
      }
    }),
  pastAppointment: (n: number) =>
    command(
      `${n} min past the arranged time`,
      async (m) => {
        now = new Date(Math.max(now.getTime(), m.appointmentAt! + minutes(n)));
      },
      (m) => m.appointmentAt !== null,
    ),
  tick: (n: number) =>
    command(
      `tick ${n} min`,
      async () => {
        now = new Date(now.getTime() + minutes(n));
      },
      () => true,
    ),
  // The clock to the next moment something falls due (a deadline, a ladder step, an acknowledgement
  // timing out), or a second before it.
  tickToNext: (before: boolean) =>
    command(`tick to ${before ? 'just before ' : ''}the next thing due`, async (m) => {
      const t = now.getTime();
      const alarms = await alarmsOf(m.visitId!);
      const candidates = [
        m.out ? m.expectedReturn : null,
        ...checkInDues(m),
        ...alarms.map((a) => (a.status === 'resolved' ? null : a.nextStepAt)),
        ...alarms.map((a) =>
          a.status === 'acknowledged' && a.policy.reescalateAfterMinutes !== undefined
            ? a.acknowledgedAt! + minutes(a.policy.reescalateAfterMinutes)
            : null,
        ),
      ].filter((c): c is number => c !== null && c > t + (before ? 1000 : 0));
      if (!candidates.length) return;
      now = new Date(Math.min(...candidates) - (before ? 1000 : 0));
    }),
  checkIn: () =>
    command('check in', async (m) => {
      const r = await attempt(checkInVisit(vdeps, lead, m.visitId!));
      expect(r, `check in (${m.status}${m.out ? ', out' : ''})`).toBe(m.out ? 'ok' : notOut);
      if (m.out)
        Object.assign(m, {
          arrivalPending: arrivalAfterCheckIn(m, now.getTime()),
          checkedIn: true,
          lastSign: now.getTime(),
        });
    }),
  arrive: () =>
    command('arrive', async (m) => {
      const allowed = m.out && m.status === 'departed' && m.arrivedAt === null;
      const r = await attempt(arriveVisit(vdeps, lead, m.visitId!));
      expect(r, `arrive (${m.status})`).toBe(allowed ? 'ok' : notOut);
      if (allowed)
        Object.assign(m, { arrivedAt: now.getTime(), arrivalPending: false, lastSign: now.getTime() });
    }),
  runningLate: (seconds: number) =>
    command(`running late, back in ${seconds / 60} min`, async (m) => {
      const at = new Date(now.getTime() + seconds * 1000);
      const r = await attempt(runningLate(vdeps, office, m.visitId!, at, 'parent late'));
      // Refused unless the worker is out (409), and outside the 4-hour bound (400): never stored.
      expect(r, `running late +${seconds / 60} min (${m.status})`).toBe(
        !m.out ? notOut : withinBound(seconds) ? 'ok' : 'DOORSTEP_BAD_REQUEST',
      );
      if (r === 'ok') Object.assign(m, { expectedReturn: at.getTime(), confirmedAt: now.getTime() });
    }),
  workerLate: (seconds: number) =>
    command(`the worker runs late from their phone, back in ${seconds / 60} min`, async (m) => {
      const at = new Date(now.getTime() + seconds * 1000);
      const r = await attempt(runningLate(vdeps, partner, m.visitId!, at, 'parent late'));
      // Within the bound from now, and at most 4 hours after someone else last confirmed them.
      const confirmed =
        m.confirmedAt !== null && at.getTime() <= m.confirmedAt + minutes(MAX_RETURN_AHEAD_MINUTES);
      expect(r, `the worker's own running late +${seconds / 60} min (${m.status})`).toBe(
        !m.out ? notOut : withinBound(seconds) && confirmed ? 'ok' : 'DOORSTEP_BAD_REQUEST',
      );
      if (r === 'ok') m.expectedReturn = at.getTime();
    }),
  recordOutcome: () =>
    command('record outcome', async (m) => {
      const allowed = !m.outcome && ((m.out && m.status === 'departed') || m.status === 'returned');
      const r = await attempt(
        recordOutcome(vdeps, lead, m.visitId!, {
          childSeen: true,
          noOneHome: false,
          agreements: [],
          concerns: [],
          followUp: [],
        }),
      );
      expect(r, `record outcome (${m.status})`).toBe(allowed ? 'ok' : notOut);
      if (allowed) Object.assign(m, { outcome: true, status: m.out ? m.status : 'completed' });
    }),
  cancel: () =>
    command(
      'cancel',
      async (m) => {
        const allowed = m.out && m.status === 'departed' && !m.outcome;
        const r = await attempt(cancelVisit(vdeps, lead, m.visitId!, 'dangerous dog'));
        expect(r, `cancel (${m.status})`).toBe(allowed ? 'ok' : notOut);
        if (allowed) m.status = 'cancelled';
      },
      // Cancelling before leaving ends the run's interest: tried once out or after.
      (m) => m.out || m.back,
    ),
  parentSaysLate: (by: 'lead' | 'partner' | 'office') =>
    command(`the parent says they are running late, recorded by the ${by} (3.5)`, async (m) => {
      const waited =
        m.arrivedAt === null ? null : Math.max(0, now.getTime() - (m.appointmentAt ?? m.arrivedAt));
      // Before leaving on the visit's day, or while out and nothing recorded at the door, before
      // 3.4's 20 minutes are over (on the way, or at the door within them); once.
      const allowed =
        m.school === 'thames' &&
        !m.parentSaidLate &&
        (((m.status === 'requested' || m.status === 'authorised') && londonDate(now) === m.plannedFor) ||
          (m.out && m.status === 'departed' && !m.outcome && (waited === null || waited < minutes(20))));
      const user = by === 'lead' ? lead : by === 'partner' ? partner : office;
      const r = await attempt(recordParentRunningLate(vdeps, user, m.visitId!));
      // The partner is on the visit once it has left (before that, not theirs: 403).
      const forbidden = by === 'partner' && m.departedAt === null;
      expect(r, `parent late notice after ${waited === null ? '-' : waited / MIN} min (${m.status})`).toBe(
        forbidden ? 'DOORSTEP_FORBIDDEN' : allowed ? 'ok' : 'DOORSTEP_CONFLICT',
      );
      if (allowed && !forbidden) {
        m.parentSaidLate = true;
        stepsTaken.parentSaidLate++;
      }
    }),
  noAnswer: () =>
    command('no answer at the door (3.4)', async (m) => {
      const waited =
        m.arrivedAt === null ? null : Math.max(0, now.getTime() - (m.appointmentAt ?? m.arrivedAt));
      // Not where the parent said they are running late: the worker waits on (3.5).
      const allowed =
        m.school === 'thames' &&
        m.out &&
        m.status === 'departed' &&
        !m.outcome &&
        !m.parentSaidLate &&
        waited !== null &&
        waited >= minutes(20);
      const r = await attempt(recordNoAnswer(vdeps, lead, m.visitId!));
      expect(r, `no answer after ${waited === null ? '-' : waited / MIN} min`).toBe(
        allowed ? 'ok' : 'DOORSTEP_CONFLICT',
      );
      if (allowed) m.outcome = true;
    }),
  parentLate: () =>
    command('parent over 30 minutes late (3.5)', async (m) => {
      const waited =
        m.arrivedAt === null ? null : Math.max(0, now.getTime() - (m.appointmentAt ?? m.arrivedAt));
      // Only where the parent said they are running late: without that notice, 3.4 (no answer).
      const allowed =
        m.school === 'thames' &&
        m.out &&
        m.status === 'departed' &&
        !m.outcome &&
        m.parentSaidLate &&
        waited !== null &&
        waited > minutes(30);
      const r = await attempt(cancelParentLate(vdeps, partner, m.visitId!));
      // The partner is on the visit once it has left (before that, not theirs: 403).
      expect(r, `late cancel after ${waited === null ? '-' : waited / MIN} min`).toBe(
        allowed ? 'ok' : m.departedAt === null ? 'DOORSTEP_FORBIDDEN' : 'DOORSTEP_CONFLICT',
      );
      if (allowed) m.status = 'cancelled';
    }),
  acknowledge: () =>
    command(
      'acknowledge open alarms',
      async (m) => {
        for (const a of await alarmsOf(m.visitId!))
          if (a.status === 'open') {
            await acknowledgeAlarm(db, a.id, `user:${office.id}`, now);
            m.acks.set(a.id, now.getTime());
          }
      },
      (m) => m.out,
    ),
  nobodyAnswers: (n: number) =>
    command(
      `nobody answers: ${n} ladder steps pass`,
      async (m) => {
        for (let i = 0; i < n; i++) {
          const next = (await alarmsOf(m.visitId!))
            .filter((a) => a.status !== 'resolved' && a.nextStepAt !== null)
            .map((a) => a.nextStepAt!);
          if (!next.length) return;
          now = new Date(Math.min(...next));
          await checkInvariants(m);
        }
      },
      (m) => m.standing > 0,
    ),
  resolve: () =>
    command(
      'office resolves: spoke to the worker',
      async (m) => {
        for (const a of await alarmsOf(m.visitId!)) {
          if (a.status === 'resolved') continue;
          await resolveAlarm(db, vdeps.config, a.id, `user:${office.id}`, 'worker_safe_contacted', null, now);
          m.acks.delete(a.id);
          // The worker still out stays watched: the deadline the alarm was for is set again.
          const t = now.getTime();
          if (a.type === 'overdue_visit')
            m.expectedReturn = Math.max(m.expectedReturn!, t + minutes(REARM_AFTER_RESOLUTION_MINUTES));
          // A missed check-in resolved counts as a check-in by the office.
          if (a.type === 'missed_check_in')
            Object.assign(m, {
              arrivalPending: arrivalAfterCheckIn(m, t),
              checkedIn: true,
              lastSign: Math.max(m.lastSign!, t),
            });
          // The office spoke to them: someone else confirmed them, whichever alarm it was.
          m.confirmedAt = t;
        }
      },
      (m) => m.out,
    ),
  backSafe: (byOffice = false) =>
    command(byOffice ? 'the office says back safe (it spoke to them)' : 'back safe', async (m) => {
      const r = await attempt(returnVisit(vdeps, byOffice ? office : lead, m.visitId!));
      expect(r, `back safe (${m.status})`).toBe(m.out ? 'ok' : notOut);
      if (!m.out) return;
      Object.assign(m, {
        out: false,
        back: true,
        backAt: now.getTime(),
        status: m.status === 'cancelled' ? 'cancelled' : m.outcome ? 'completed' : 'returned',
      });
      m.alarmsAtBack = (await alarmsOf(m.visitId!)).length;
    }),
  officeCheckIn: () =>
    command('the office records a check-in (it spoke to them)', async (m) => {
      const r = await attempt(checkInVisit(vdeps, office, m.visitId!));
      expect(r, `office check-in (${m.status}${m.out ? ', out' : ''})`).toBe(m.out ? 'ok' : notOut);
      // A check-in, and someone other than the worker confirmed them.
      if (m.out) {
        stepsTaken.officeCheckIn++;
        Object.assign(m, {
          arrivalPending: arrivalAfterCheckIn(m, now.getTime()),
          checkedIn: true,
          lastSign: now.getTime(),
          confirmedAt: now.getTime(),
        });
      }
    }),
  partnerCheckIn: () =>
    command('the partner checks in', async (m) => {
      const r = await attempt(checkInVisit(vdeps, partner, m.visitId!));
      expect(r, `partner check-in (${m.status}${m.out ? ', out' : ''})`).toBe(m.out ? 'ok' : notOut);
      if (m.out) {
        stepsTaken.partnerCheckIn++;
        Object.assign(m, {
          arrivalPending: arrivalAfterCheckIn(m, now.getTime()),
          checkedIn: true,
          lastSign: now.getTime(),
        });
      }
    }),
  officeArrive: () =>
    command('the office records the arrival (it spoke to them)', async (m) => {
      const allowed = m.out && m.status === 'departed' && m.arrivedAt === null;
      const r = await attempt(arriveVisit(vdeps, office, m.visitId!));
      expect(r, `office arrival (${m.status})`).toBe(allowed ? 'ok' : notOut);
      if (allowed) {
        stepsTaken.officeArrive++;
        Object.assign(m, {
          arrivedAt: now.getTime(),
          arrivalPending: false,
          lastSign: Math.max(m.lastSign!, now.getTime()),
          confirmedAt: now.getTime(),
        });
      }
    }),
  resume: (seconds: number, byOffice: boolean) =>
    command(
      `${byOffice ? 'the office: still out — watch again' : 'the worker: I am still out'}, back in ${seconds / 60} min`,
      async (m) => {
        const t = now.getTime();
        const at = new Date(t + seconds * 1000);
        const r = await attempt(resumeWatch(vdeps, byOffice ? office : lead, m.visitId!, at));
        const mayResume = !m.out && m.backAt !== null && t - m.backAt < minutes(RESUME_WATCH_MINUTES);
        if (!mayResume) {
          expect(r, `resume (${m.status}${m.out ? ', out' : ''})`).toBe(notOut);
          return;
        }
        // The worker's own time bounded as running late's; past their own bound, overdue from now.
        const closed = !byOffice && t >= m.confirmedAt! + minutes(MAX_RETURN_AHEAD_MINUTES);
        const fits =
          withinBound(seconds) &&
          (byOffice || at.getTime() <= m.confirmedAt! + minutes(MAX_RETURN_AHEAD_MINUTES));
        expect(r, `resume +${seconds / 60} min`).toBe(closed || fits ? 'ok' : 'DOORSTEP_BAD_REQUEST');
        if (r !== 'ok') return;
        stepsTaken.resumed++;
        Object.assign(m, {
          out: true,
          backAt: null,
          alarmsAtBack: null,
          status: m.status === 'cancelled' ? 'cancelled' : 'departed',
          // Overdue from now, its alarm raised with it, even when the watch had pushed the return
          // later (never at the old return time itself, whose alarm has been raised once: a
          // millisecond before it).
          expectedReturn: closed ? (t === m.expectedReturn ? t - 1 : t) : at.getTime(),
          // "Still out" puts a check-in on the register: as one, it answers a missed arrival call.
          arrivalPending: arrivalAfterCheckIn(m, t),
          checkedIn: true,
          lastSign: t,
          confirmedAt: byOffice ? t : m.confirmedAt,
        });
      },
      (m) => m.back,
    ),
  resolveAs: (reason: 'false_alarm' | 'incident_without_dispatch' | 'incident_with_dispatch') =>
    command(
      `office resolves: ${reason}`,
      async (m) => {
        for (const a of await alarmsOf(m.visitId!)) {
          if (a.status === 'resolved') continue;
          await resolveAlarm(db, vdeps.config, a.id, `user:${office.id}`, reason, null, now);
          m.acks.delete(a.id);
          stepsTaken.notConfirming++;
          if (reason !== 'false_alarm') incidentAlarms.add(a.id);
          // Still out: watched on — but nobody spoke to the worker, so nobody confirmed them.
          const t = now.getTime();
          if (a.type === 'overdue_visit')
            m.expectedReturn = Math.max(m.expectedReturn!, t + minutes(REARM_AFTER_RESOLUTION_MINUTES));
          if (a.type === 'missed_check_in')
            Object.assign(m, {
              arrivalPending: arrivalAfterCheckIn(m, t),
              checkedIn: true,
              lastSign: Math.max(m.lastSign!, t),
            });
        }
      },
      (m) => m.out,
    ),
};

const commands = [
  fc.constant(null).map(() => cmd.ackThenWait()),
  fc.constant(null).map(() => cmd.ackThenWait()),
  ...[1, 2, 3].map(() =>
    fc
      .record({
        seconds: returnSeconds,
        every: fc.option(fc.integer({ min: 5, max: 20 }), { nil: undefined }),
        long: fc.option(fc.integer({ min: 5, max: 240 }), { nil: undefined, freq: 2 }),
      })
      .map(({ seconds, every, long }) => cmd.depart(seconds, every, long)),
  ),
  fc.constant(null).map(() => cmd.sign()),
  fc.constant(null).map(() => cmd.sign()),
  fc.constant(null).map(() => cmd.newAddress()),
  fc.oneof(fc.integer({ min: 1, max: 45 }), fc.integer({ min: 46, max: 240 })).map(cmd.tick),
  fc.boolean().map(cmd.tickToNext),
  fc.integer({ min: 15, max: 35 }).map(cmd.pastAppointment),
  fc.constant(null).map(() => cmd.checkIn()),
  fc.constant(null).map(() => cmd.arrive()),
  returnSeconds.map(cmd.runningLate),
  returnSeconds.map(cmd.workerLate),
  fc.constant(null).map(() => cmd.recordOutcome()),
  fc.constant(null).map(() => cmd.cancel()),
  fc.constant(null).map(() => cmd.noAnswer()),
  fc.constant(null).map(() => cmd.parentLate()),
  fc.constantFrom('lead' as const, 'partner' as const, 'office' as const).map(cmd.parentSaysLate),
  fc.constantFrom('lead' as const, 'partner' as const, 'office' as const).map(cmd.parentSaysLate),
  fc.constant(null).map(() => cmd.acknowledge()),
  fc.integer({ min: 1, max: 6 }).map(cmd.nobodyAnswers),
  fc.constant(null).map(() => cmd.resolve()),
  ...[1, 2].map(() =>
    fc
      .constantFrom('false_alarm', 'incident_without_dispatch', 'incident_with_dispatch' as const)
      .map(cmd.resolveAs),
  ),
  fc.boolean().map(cmd.backSafe),
  fc.constant(null).map(() => cmd.officeCheckIn()),
  fc.constant(null).map(() => cmd.partnerCheckIn()),
  fc.constant(null).map(() => cmd.officeArrive()),
  fc.constant(null).map(() => cmd.officeArrive()),
  // "I am still out" is tried more often: it applies only just after a back safe.
  ...[1, 2, 3].map(() =>
    fc.tuple(returnSeconds, fc.boolean()).map(([seconds, byOffice]) => cmd.resume(seconds, byOffice)),
  ),
];

beforeAll(async () => {
  const config = modelConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => now,
    instance: 't',
    config,
    publisher: conn,
  };
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix, now: () => now, publisher: conn };
  await addPupils(db, ['thames', 'hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office']);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

/** A run's fresh start: earlier runs' workers back, their alarms closed, the clock a day on; a new visit. */
async function freshRun(school: School, signed: boolean): Promise<Model> {
  await db.query(
    `UPDATE visits SET returned_at = $1, status = 'returned' WHERE departed_at IS NOT NULL AND returned_at IS NULL`,
    [now],
  );
  await db.query(
    `UPDATE alarms SET status = 'resolved', resolved_at = $1, escalation_step = -1, next_step_at = NULL
      WHERE status <> 'resolved' OR escalation_step >= 0`,
    [now],
  );
  now = new Date(now.getTime() + minutes(24 * 60));
  const model: Model = {
    visitId: null,
    school,
    status: 'none',
    approved: false,
    out: false,
    back: false,
    departedAt: null,
    expectedReturn: null,
    confirmedAt: null,
    every: null,
    arrivalPending: false,
    checkedIn: false,
    lastSign: null,
    arrivedAt: null,
    appointmentAt: null,
    plannedFor: '',
    outcome: false,
    parentSaidLate: false,
    alarmsAtBack: null,
    backAt: null,
    acks: new Map(),
    addresses: 0,
    standing: 0,
  };
  await requestFor(model, school, signed);
  return model;
}

/** A named sequence through the same commands and the same invariants (each command applies). */
async function scenario(
  school: School,
  signed: boolean,
  steps: fc.AsyncCommand<Model, Real>[],
): Promise<Model> {
  const model = await freshRun(school, signed);
  for (const step of steps) {
    expect(step.check(model), `${step.toString()} does not apply`).toBe(true);
    await step.run(model, {} as Real);
  }
  return model;
}

describe('the visit register, as a model', () => {
  it('keeps every worker out watched to the minute, raises nothing after back safe, keeps every ladder going, reopens timed-out acknowledgements, refuses what the lifecycle does not allow', async () => {
    const reached = { departed: 0, overdue: 0, back: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<School>('thames', 'hampton'),
        fc.boolean(),
        fc.commands(commands, { maxCommands: 45, size: 'max' }),
        async (school, signed, cmds) => {
          const model = await freshRun(school, signed);
          await fc.asyncModelRun(() => ({ model, real: {} as Real }), cmds);
          const alarms = await alarmsOf(model.visitId!);
          if (model.departedAt !== null) reached.departed++;
          if (model.back) reached.back++;
          if (alarms.some((a) => a.type === 'overdue_visit')) reached.overdue++;
        },
      ),
      // 100 runs: at 50 the counts below fell under their floors about one run in ten (back safe
      // reached 5 times, seen twice this session) — a floor that random runs miss that often is a
      // flaky test, not a finding; at 100 each count is about twice its floor.
      { numRuns: 100 },
    );
    // The runs reached what the invariants are about (not vacuous); the rarer paths have their
    // scenarios below.
    expect(reached.departed).toBeGreaterThan(15);
    expect(reached.overdue).toBeGreaterThan(3);
    expect(reached.back).toBeGreaterThan(5);
    // The office's and the partner's steps, "I am still out" and the resolutions that confirm nobody
    // (each has its scenario below as well, reached for certain).
    expect(stepsTaken.officeCheckIn).toBeGreaterThan(3);
    expect(stepsTaken.officeArrive).toBeGreaterThan(1);
    expect(stepsTaken.partnerCheckIn).toBeGreaterThan(3);
    expect(stepsTaken.resumed).toBeGreaterThan(0);
    expect(stepsTaken.notConfirming).toBeGreaterThan(0);
    expect(stepsTaken.parentSaidLate).toBeGreaterThan(0);
  }, 120_000);

  it('scenario: an acknowledged missed arrival call times out, reopens and climbs its ladder again; a check-in stands it down', async () => {
    const m = await scenario('thames', true, [
      cmd.depart(60 * 60, 15),
      cmd.tickToNext(true),
      cmd.tickToNext(false), // the arrival call is missed
      cmd.ackThenWait(), // …and its acknowledgement times out: open again, back in its ladder
      cmd.nobodyAnswers(3),
      cmd.checkIn(),
      cmd.tickToNext(false),
      cmd.backSafe(),
      cmd.tick(240),
    ]);
    const alarms = await alarmsOf(m.visitId!);
    const missed = alarms.find((a) => a.type === 'missed_check_in')!;
    expect(missed.reopened).toBeGreaterThan(0);
    const steps = await db.query('SELECT DISTINCT step FROM notifications WHERE alarm_id = $1', [missed.id]);
    expect(steps.rows.length).toBeGreaterThan(3);
  });

  it('scenario: Thames View, a check-in on the way there is no arrival — the arrival call is missed at 20 minutes, and "I have arrived" records the arrival and stands it down', async () => {
    const m = await scenario('thames', true, [
      cmd.depart(60 * 60),
      cmd.tick(5),
      cmd.checkIn(), // "Check in: I am safe", still on the road
      cmd.tickToNext(true),
      cmd.tickToNext(false), // 20 minutes after leaving: the arrival call missed
    ]);
    const missed = (await alarmsOf(m.visitId!)).filter((a) => a.type === 'missed_check_in');
    expect(missed.map((a) => a.raisedAt)).toEqual([m.departedAt! + minutes(20)]);
    const key = await db.query<{ dedup_key: string }>('SELECT dedup_key FROM alarms WHERE id = $1', [
      missed[0]!.id,
    ]);
    expect(key.rows[0]!.dedup_key).toBe(`visit:${m.visitId}:arrival`);
    expect((await getVisit(db, m.visitId!))!.arrivedAt).toBeNull();
    // "I have arrived": the arrival recorded (the people the school names for arrivals told of it),
    // the missed call stood down.
    await cmd.arrive().run(m, {} as Real);
    expect((await getVisit(db, m.visitId!))!.arrivedAt).not.toBeNull();
    const standing = (await alarmsOf(m.visitId!)).filter((a) => a.status !== 'resolved');
    expect(standing).toEqual([]);
  });

  it('scenario: Hampton, no check-ins — a short return time passes, overdue to the minute; running late re-arms it at the new time exactly; nothing after back safe', async () => {
    const m = await scenario('hampton', false, [
      cmd.depart(5 * 60),
      cmd.tickToNext(true),
      cmd.tickToNext(false), // overdue, and nothing else watches this worker
      cmd.nobodyAnswers(4),
      cmd.acknowledge(), // Hampton's overdue ladder goes on until resolved
      cmd.nobodyAnswers(2),
      cmd.runningLate(-5 * 60), // refused: in the past
      cmd.runningLate(241 * 60), // refused: beyond 4 hours
      cmd.runningLate(240 * 60), // the bound itself
      cmd.tickToNext(true),
      cmd.tickToNext(false), // overdue again at exactly the new time
      cmd.resolve(), // spoke to the worker: expected back within 15 minutes or overdue again
      cmd.tickToNext(false),
      cmd.backSafe(),
      cmd.tick(240),
      cmd.checkIn(), // refused: nobody out
      cmd.runningLate(30 * 60), // refused: nobody out
      cmd.depart(30 * 60), // refused: the visit is over
    ]);
    const overdue = (await alarmsOf(m.visitId!)).filter((a) => a.type === 'overdue_visit');
    expect(overdue.length).toBe(3);
    expect(overdue.every((a) => a.status === 'resolved')).toBe(true);
  });

  it('scenario: Hampton, overdue, the worker taps "check in": the overdue alarm stands until they run late or are back', async () => {
    // Found by review: made to stand the overdue alarm down too (a one-word slip in the lifecycle's
    // table), a check-in silenced an overdue worker's only alarm — their return still past, nothing to
    // come — and the model, counting alarms raised rather than standing, saw nothing wrong.
    const m = await scenario('hampton', false, [
      cmd.depart(5 * 60),
      cmd.tickToNext(false), // overdue: the only deadline this worker has
      cmd.checkIn(),
      cmd.tick(120),
      cmd.workerLate(30 * 60), // refused: 4 hours after leaving is long past — the office sets it
      cmd.runningLate(30 * 60), // the office, after speaking to them
      cmd.workerLate(60 * 60), // within 4 hours of the office's call
      cmd.backSafe(),
    ]);
    expect(m.status).toBe('returned');
  });

  it('scenario: Hampton, overdue, the office and the partner check in and the office records the arrival: the overdue alarm stands until a new return time', async () => {
    // Found by review: no test stepped the office's check-in or arrival, and one making them stand
    // the overdue alarm down too went unseen — an overdue worker's only alarm gone on a phone call.
    const m = await scenario('hampton', false, [
      cmd.depart(5 * 60),
      cmd.tickToNext(false), // overdue
      cmd.officeCheckIn(),
      cmd.officeArrive(),
      cmd.partnerCheckIn(),
      cmd.tick(10),
      cmd.runningLate(30 * 60),
      cmd.backSafe(),
    ]);
    expect(m.status).toBe('returned');
  });

  it('scenario: Hampton, the office says back safe by mistake; "I am still out" and the watch goes on to the minute; the office says it again, and watches again', async () => {
    const m = await scenario('hampton', false, [
      cmd.depart(240 * 60),
      cmd.tick(30),
      cmd.backSafe(true), // the wrong visit
      cmd.tick(20),
      cmd.resume(241 * 60, false), // refused: beyond 4 hours after leaving
      cmd.resume(120 * 60, false),
      cmd.tickToNext(false), // overdue at the new time exactly
      cmd.backSafe(true),
      cmd.tick(300),
      cmd.resume(60 * 60, true), // the office, 5 hours on: watched again
      cmd.tickToNext(false),
      cmd.backSafe(),
      cmd.tick(RESUME_WATCH_MINUTES),
      cmd.resume(60 * 60, true), // refused: 12 hours after back safe
    ]);
    expect(m.out).toBe(false);
    expect((await alarmsOf(m.visitId!)).filter((a) => a.type === 'overdue_visit')).toHaveLength(2);
  });

  it('scenario: Thames View, a missed check-in resolved as a false alarm, then an incident: watched on, nobody confirmed', async () => {
    const m = await scenario('thames', true, [
      cmd.depart(240 * 60, 20),
      cmd.tickToNext(false), // the arrival call missed
      cmd.resolveAs('false_alarm'),
      cmd.tickToNext(false), // the next check-in missed, 20 minutes on
      cmd.resolveAs('incident_without_dispatch'),
      cmd.partnerCheckIn(),
      cmd.tick(200),
      cmd.partnerCheckIn(),
      cmd.workerLate(60 * 60), // refused: 4 hours after leaving, nobody else has confirmed them
      cmd.officeCheckIn(),
      cmd.workerLate(60 * 60),
      cmd.backSafe(),
    ]);
    expect(incidentAlarms.size).toBeGreaterThan(0);
    expect(m.status).toBe('returned');
  });

  it('scenario: Thames View 3.5, the parent phones to say they are running late — no "no answer" at 20 minutes, the worker waits on watched, cancelled only over 30; said too late, it is 3.4', async () => {
    const m = await scenario('thames', true, [
      cmd.depart(120 * 60, 20),
      cmd.parentSaysLate('office'), // the parent phoned the school while the pair were on the way
      cmd.parentSaysLate('lead'), // refused: already recorded
      cmd.arrive(),
      cmd.pastAppointment(25),
      cmd.noAnswer(), // refused: the parent said they are running late — wait on
      cmd.parentLate(), // refused: not over 30 minutes yet
      cmd.checkIn(),
      cmd.pastAppointment(30),
      cmd.parentLate(), // refused: 30 minutes is not over 30
      cmd.tick(1),
      cmd.parentLate(), // over 30 minutes late: cancelled, still watched
      cmd.tickToNext(false), // the check-in clock still runs while they wait to come back
      cmd.backSafe(),
    ]);
    expect(m.status).toBe('cancelled');
    const v = (await getVisit(db, m.visitId!))!;
    expect(v.parentLateNoticeBy).toBe(`user:${office.id}`);
    expect(v.cancelReason).toMatch(
      /^The parent\/carer gave notice they were running late \(recorded by .+ at \d\d:\d\d\) and was over 30 minutes late \(policy: .*3\.5/,
    );
    // Told at the door after the 20 minutes: not prior notice — 3.4 applies, no answer.
    const late = await scenario('thames', true, [
      cmd.depart(120 * 60, 20),
      cmd.arrive(),
      cmd.pastAppointment(21),
      cmd.parentSaysLate('partner'), // refused: the wait is over
      cmd.parentLate(), // refused: no notice
      cmd.noAnswer(),
      cmd.backSafe(),
    ]);
    expect(late.status).toBe('completed');
  });

  it('scenario: a new address withdraws the signed list — nobody leaves until it is signed again', async () => {
    const m = await scenario('thames', true, [
      cmd.newAddress(),
      cmd.depart(60 * 60), // refused: not authorised for the new address
      cmd.sign(),
      cmd.depart(60 * 60),
      cmd.newAddress(), // refused: already out
      cmd.arrive(),
      cmd.tick(25), // the family keeps the worker waiting from the arranged time (15:00), not the arrival (3.4)
      cmd.noAnswer(),
      cmd.pastAppointment(25),
      cmd.noAnswer(),
      cmd.backSafe(),
    ]);
    expect(m.status).toBe('completed');
  });
});

/**
 * Two steps on one visit at the same moment, made to meet for certain: the audit table is held
 * (every step writes its audit entry after its checks and its write), the first step starts and is
 * seen waiting, then the second. Each step checks the visit under its row lock, so the second waits
 * for the first and decides from what the first did; the model's invariants hold after both. Without
 * the visit's row locks the second decides from the visit as it was before the first — a running
 * late stored after back safe, a missed check-in raised for a deadline the worker has just met — which
 * a model run one step at a time cannot see.
 */
describe('two steps on one visit at once', () => {
  const LOCKS = ['%INSERT INTO audit_log%', '%raise_alarms%', '%FROM visits%FOR UPDATE%', '%UPDATE visits%'];
  const waiting = async () =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ANY($1::text[])`,
        [LOCKS],
      )
    ).rows[0]!.n;
  /** `first`, then `second` once `first` waits: what each settled to ('ok' or the refusal's code). */
  const atOnce = async (first: () => Promise<unknown>, second: () => Promise<unknown>) =>
    (
      await raceBehindLock(
        db,
        (tx: Queryable) => tx.query('LOCK TABLE audit_entries IN SHARE MODE'),
        () => [
          attempt(first()),
          (async () => {
            await until(async () => (await waiting()) >= 1, 10_000, 'the first step to wait');
            return attempt(second());
          })(),
        ],
        { like: LOCKS, count: 2 },
      )
    ).map((r) => (r.status === 'fulfilled' ? r.value : `threw ${String(r.reason)}`));
  const watcher = () => watchVisits({ reason: 'manual' }, run, deps);
  const missedStanding = async (m: Model) =>
    (await alarmsOf(m.visitId!)).filter((a) => a.type === 'missed_check_in' && a.status !== 'resolved');

  it('back safe, then running late: the running late is refused (nobody is out), nothing re-arms', async () => {
    const m = await scenario('hampton', false, [cmd.depart(30 * 60), cmd.tickToNext(false)]);
    const at = new Date(now.getTime() + minutes(60));
    const results = await atOnce(
      () => returnVisit(vdeps, lead, m.visitId!),
      () => runningLate(vdeps, office, m.visitId!, at, 'parent late'),
    );
    expect(results).toEqual(['ok', notOut]);
    Object.assign(m, { out: false, back: true, status: 'returned' });
    m.alarmsAtBack = (await alarmsOf(m.visitId!)).length;
    await checkInvariants(m);
  });

  it('running late, then back safe: both done, the new time stored', async () => {
    const m = await scenario('hampton', false, [cmd.depart(30 * 60), cmd.tickToNext(false)]);
    const at = new Date(now.getTime() + minutes(60));
    const results = await atOnce(
      () => runningLate(vdeps, office, m.visitId!, at, 'parent late'),
      () => returnVisit(vdeps, lead, m.visitId!),
    );
    expect(results).toEqual(['ok', 'ok']);
    Object.assign(m, { expectedReturn: at.getTime(), out: false, back: true, status: 'returned' });
    m.alarmsAtBack = (await alarmsOf(m.visitId!)).length;
    await checkInvariants(m);
  });

  it('a late check-in, then the watcher: nothing raised for the arrival call the check-in met', async () => {
    const m = await scenario('thames', true, [cmd.depart(120 * 60, 15), cmd.tickToNext(true)]);
    // Past the arrival call (20 minutes), the watcher not yet round: the worker checks in.
    now = new Date(m.departedAt! + minutes(25));
    const results = await atOnce(
      () => checkInVisit(vdeps, lead, m.visitId!),
      () => watcher(),
    );
    expect(results[0]).toBe('ok');
    Object.assign(m, { arrivalPending: false, checkedIn: true, lastSign: now.getTime() });
    expect(await missedStanding(m), 'a missed check-in standing just after a check-in').toEqual([]);
    await checkInvariants(m);
  });

  it('the watcher, then a late check-in: the missed arrival call is raised and stood down', async () => {
    const m = await scenario('thames', true, [cmd.depart(120 * 60, 15), cmd.tickToNext(true)]);
    now = new Date(m.departedAt! + minutes(25));
    const results = await atOnce(
      () => watcher(),
      () => checkInVisit(vdeps, lead, m.visitId!),
    );
    expect(results[1]).toBe('ok');
    Object.assign(m, { arrivalPending: false, checkedIn: true, lastSign: now.getTime() });
    expect(await missedStanding(m)).toEqual([]);
    await checkInvariants(m);
  });
});
