import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { notify, stepSendsSettled } from '../../jobs/notify.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { acknowledgeAlarm, resolveAlarm } from '../../src/alarms/commands.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { OUTSIDE_CONFIG_LOG } from '../../src/checks/outside-config.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { londonClock } from '../../src/domain/attendance/dates.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import { openAlarmsOfVisit, timelineOf } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { cancelVisit, recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import {
  arriveVisit,
  askForHelp,
  checkInVisit,
  helpPosition,
  returnVisit,
  runningLate,
} from '../../src/visits/while-out.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

const schema = uniqueName('watch');
const prefix = uniqueName('watch');
const sms: URLSearchParams[] = [];
let server: Server;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let now = new Date('2026-11-23T10:00:00Z');
let deps: JobDeps;
let vdeps: VisitDeps;
let lead: User;
let partner: User;
const run = (name: string): JobRun => ({
  id: 'x',
  name,
  attempt: 1,
  maxAttempts: 3,
  signal: new AbortController().signal,
});
const watch = () => watchVisits({ reason: 'manual' }, run('watch-visits'), deps);

// Each test's workers come back: a visit left out would be watched (and alarmed) in the next test.
afterEach(async () => {
  await db.query(
    `UPDATE visits SET returned_at = $1, status = CASE WHEN status = 'departed' THEN 'returned' ELSE status END
     WHERE departed_at IS NOT NULL AND returned_at IS NULL`,
    [now],
  );
  await db.query(`UPDATE alarms SET status = 'resolved', resolved_at = $1 WHERE status <> 'resolved'`, [now]);
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      sms.push(new URLSearchParams(body));
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ sid: `SM${String(sms.length).padStart(32, '0')}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const config = visitSchoolsConfig(
    `    channels:
      sms: { baseUrl: "http://127.0.0.1:${port}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
    fobs:
      devices: [{ deviceId: FOB-1, staffId: st-lead }]
`,
    { SMS_TOKEN: 'tok' },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  const log = createLogger({ level: 'silent' });
  deps = { db, log, producer, now: () => now, instance: 't', config, publisher: conn };
  vdeps = {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  };
  await addPupils(db, ['lime', 'thames', 'hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { staffId: 'st-lead', phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
  server.close();
});

async function departed(school: string, minutesOut: number): Promise<string> {
  const id = await requestVisit(vdeps, lead, {
    schoolId: school,
    pupilMisId: 'P1',
    reason: 'welfare',
    // Thames View 2.6: an appointment made (its time now).
    ...(school === 'thames' ? { appointmentTime: londonClock(now) } : {}),
  });
  // Thames View: the list signed, the School Business Manager's risk assessment done (2.5).
  // Lime Hills: authorised by the safeguarding team; a safe word recorded.
  if (school === 'thames' || school === 'lime')
    await db.query(
      `UPDATE visits SET status = 'authorised', risk_assessed_at = $2, risk_assessed_by = 'user:sbm' WHERE id = $1`,
      [id, now],
    );
  await departTold(vdeps, lead, id, {
    ...(school === 'lime' ? { safeWord: 'oak' } : {}),
    expectedReturnAt: new Date(now.getTime() + minutesOut * 60_000),
    partnerUserId: partner.id,
    risksRead: true,
    onFoot: true,
  });
  return id;
}

/** The schools watching for a fob silent 30 minutes, and the watcher run with them. */
function silentAfter30() {
  const quiet = {
    ...deps,
    config: {
      ...deps.config,
      schools: deps.config.schools.map((s) => ({ ...s, fobs: { ...s.fobs, silentAlarmMinutes: 30 } })),
    },
  };
  return { quiet, watchQuiet: () => watchVisits({ reason: 'manual' }, run('watch-visits'), quiet) };
}

const alarmsOf = async (visitId: string) =>
  (
    await db.query<{
      id: string;
      type: string;
      status: string;
      resolution_reason: string | null;
      policy: { levels: unknown[]; reescalateAfterMinutes?: number };
    }>('SELECT id, type, status, resolution_reason, policy FROM alarms WHERE visit_id = $1 ORDER BY id', [
      visitId,
    ])
  ).rows.map((r) => ({ ...r, id: String(r.id) }));

describe('the visit watcher', () => {
  it("raises an overdue visit once, with Doorstep's own ladder where the policy gives none (Lime Hills): board, +15 min the visiting staff by SMS, +30 min the office calls", async () => {
    const start = now;
    const id = await departed('lime', 60);
    now = new Date(start.getTime() + 59 * 60_000);
    await watch();
    expect(await alarmsOf(id)).toEqual([]);
    now = new Date(start.getTime() + 61 * 60_000);
    expect((await watch()).raised).toBe(1);
    expect((await watch()).raised).toBe(0); // a second run (or a second watcher) raises nothing new
    const [alarm] = await alarmsOf(id);
    expect(alarm).toMatchObject({ type: 'overdue_visit', status: 'open' });
    expect(alarm!.policy.levels).toHaveLength(6);
    expect(await producer.queues.get('alarms')!.getJob(`escalate-${alarm!.id}-0`)).toBeTruthy();

    // Step 0: the board. Step 1 (15 min later): SMS to the two people on the visit.
    await escalate({ alarmId: alarm!.id, step: 0 }, run('escalate'), deps);
    const { rows: due } = await db.query<{ next_step_at: Date }>(
      'SELECT next_step_at FROM alarms WHERE id = $1',
      [alarm!.id],
    );
    expect(new Date(due[0]!.next_step_at).getTime()).toBe(now.getTime() + 15 * 60_000);
    // The lead left with the school's phone (typed on the departure form; not their account's): the
    // reminder reaches the phone they carry too. Their own number, written otherwise, once — and
    // posted in E.164, the only form the provider takes.
    await db.query(`UPDATE visits SET worker_phone = '+447700900333' WHERE id = $1`, [id]);
    await db.query(`UPDATE users SET phone = '07700 900111' WHERE id = $1`, [lead.id]);
    await escalate({ alarmId: alarm!.id, step: 1 }, run('escalate'), deps);
    const { rows: n } = await db.query<{ id: string; target: string }>(
      'SELECT id, target FROM notifications WHERE alarm_id = $1 AND step = 1 ORDER BY target',
      [alarm!.id],
    );
    expect(n.map((x) => x.target)).toEqual(['board', 'sms:visiting-staff']);
    await notify({ notificationId: String(n[1]!.id) }, run('notify'), deps);
    expect(sms.map((m) => m.get('To')).sort()).toEqual(['+447700900111', '+447700900222', '+447700900333']);
    await db.query(`UPDATE users SET phone = '+447700900111' WHERE id = $1`, [lead.id]);
    // Their own words: what to do and whom to call (the office, in school hours) — never the
    // office's prompt or "acknowledge on the board", and no reply code (not theirs to take or close).
    for (const m of sms)
      expect(m.get('Body')).toBe(
        'Doorstep: your visit is past its expected return. Say you are back safe, or running late, on your phone page now or call the office: 01632 960123. In danger: 999.',
      );

    // Acknowledging says who handles it; the overdue ladder (if-not-resolved) keeps going until the
    // worker is back, which resolves it as "worker safe" with no incident record.
    await acknowledgeAlarm(db, alarm!.id, 'user:office', now);
    await escalate({ alarmId: alarm!.id, step: 2 }, run('escalate'), deps);
    expect(
      (await db.query('SELECT 1 FROM notifications WHERE alarm_id = $1 AND step = 2', [alarm!.id])).rowCount,
    ).toBe(1);
    await returnVisit(vdeps, lead, id);
    expect((await alarmsOf(id))[0]).toMatchObject({ status: 'resolved', resolution_reason: 'worker_safe' });
    const r = await escalate({ alarmId: alarm!.id, step: 3 }, run('escalate'), deps);
    expect(r.outcome).toBe('stopped: resolved');
    expect(
      (await db.query(`SELECT 1 FROM outbox WHERE source_type = 'alarm' AND source_id = $1`, [alarm!.id]))
        .rowCount,
    ).toBe(0);
  });

  it("raises a missed check-in after Thames View's 20 minutes; a fob check-in clears it and restarts the clock", async () => {
    const start = now;
    const id = await departed('thames', 120);
    now = new Date(start.getTime() + 19 * 60_000);
    await watch();
    expect(await alarmsOf(id)).toEqual([]); // 2.4: arrival within 20 minutes, no grace unless the school sets one
    now = new Date(start.getTime() + 23 * 60_000);
    await watch();
    const [missed] = await alarmsOf(id);
    expect(missed).toMatchObject({ type: 'missed_check_in', status: 'open' });

    // The lead presses check-in on the fob: the watcher takes it in and clears the alarm.
    await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[1]!,
      fobEvent('chk-1', { type: 'check_in', deviceId: 'FOB-1', occurredAt: now.toISOString() }),
      {
        transport: 'webhook',
        profile: 'peoplesafe-style',
        raw: Buffer.from('{}'),
      },
    );
    const out = await watch();
    expect(out.checkIns).toBe(1);
    expect((await alarmsOf(id))[0]).toMatchObject({
      status: 'resolved',
      resolution_reason: 'worker_checked_in',
    });
    expect((await getVisit(db, id))!.lastCheckInAt?.getTime()).toBe(now.getTime());
    expect((await watch()).checkIns).toBe(0); // once per fob event

    // Next check-in due 20 min after that one.
    now = new Date(now.getTime() + 23 * 60_000);
    await watch();
    expect((await alarmsOf(id)).filter((a) => a.status === 'open')).toHaveLength(1);
  });

  it('a fob check-in made before the deadline but delivered after it (no signal) leaves the missed check-in standing at its step', async () => {
    const start = now;
    const id = await departed('thames', 120);
    now = new Date(start.getTime() + 23 * 60_000);
    await watch();
    const [missed] = await alarmsOf(id);
    expect(missed).toMatchObject({ type: 'missed_check_in', status: 'open' });
    // Pressed 5 minutes after leaving, held by the fob, delivered 30 minutes after leaving: the
    // check-in it would have met was due at 25 minutes. Nothing heard from the worker since.
    now = new Date(start.getTime() + 30 * 60_000);
    await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[1]!,
      fobEvent('chk-late-1', {
        type: 'check_in',
        deviceId: 'FOB-1',
        occurredAt: new Date(start.getTime() + 5 * 60_000).toISOString(),
        receivedAt: now.toISOString(),
      }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    expect((await watch()).checkIns).toBe(1);
    // Still the one alarm, open — not cleared as "worker safe", no second one raised from level 1.
    expect(await alarmsOf(id)).toEqual([expect.objectContaining({ id: missed!.id, status: 'open' })]);
    expect((await getVisit(db, id))!.lastCheckInAt).toBeNull();
    expect((await timelineOf(db, missed!.id)).map((t) => t.event)).toContainEqual(
      expect.stringContaining('a fob check-in made at'),
    );
    // A check-in pressed now clears it.
    await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[1]!,
      fobEvent('chk-late-2', {
        type: 'check_in',
        deviceId: 'FOB-1',
        occurredAt: now.toISOString(),
        receivedAt: now.toISOString(),
      }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    await watch();
    expect((await alarmsOf(id))[0]).toMatchObject({
      status: 'resolved',
      resolution_reason: 'worker_checked_in',
    });
    await returnVisit(vdeps, lead, id);
  });

  it('a fob check-in pressed on the road before the arrival call was due, delivered after its alarm was raised, leaves that alarm standing (no arrival): it starts the check-in clock only', async () => {
    const start = now;
    const id = await departed('thames', 120);
    // Thames View 2.4: the arrival call is due 20 minutes after leaving; at 21 the watcher raises it.
    now = new Date(start.getTime() + 21 * 60_000);
    await watch();
    const [arrival] = await alarmsOf(id);
    expect(arrival).toMatchObject({ type: 'missed_check_in', status: 'open' });
    const key = async (alarmId: string) =>
      (await db.query<{ dedup_key: string }>('SELECT dedup_key FROM alarms WHERE id = $1', [alarmId]))
        .rows[0]!.dedup_key;
    expect(await key(arrival!.id)).toBe(`visit:${id}:arrival`);

    // Pressed on the way at 15 minutes with no signal, held by the fob, delivered at 22: it still meets
    // the check-in clock (15 + 20 > 22), but it is no arrival — nothing heard since 15 minutes.
    now = new Date(start.getTime() + 22 * 60_000);
    await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[1]!,
      fobEvent('chk-road-1', {
        type: 'check_in',
        deviceId: 'FOB-1',
        occurredAt: new Date(start.getTime() + 15 * 60_000).toISOString(),
        receivedAt: now.toISOString(),
      }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    expect((await watch()).checkIns).toBe(1);
    expect(await alarmsOf(id)).toEqual([expect.objectContaining({ id: arrival!.id, status: 'open' })]);
    expect((await timelineOf(db, arrival!.id)).map((t) => t.event)).toContainEqual(
      expect.stringMatching(/a fob check-in made at .* made before the arrival call was due.*still owed/),
    );
    // The check-in clock runs from it: a missed check-in at 35 minutes, the arrival's alarm still open.
    expect((await getVisit(db, id))!.lastCheckInAt?.getTime()).toBe(start.getTime() + 15 * 60_000);
    now = new Date(start.getTime() + 34 * 60_000);
    await watch();
    expect(await alarmsOf(id)).toHaveLength(1);
    now = new Date(start.getTime() + 36 * 60_000);
    await watch();
    const open = await alarmsOf(id);
    expect(open.map((a) => a.status)).toEqual(['open', 'open']);
    expect(await key(open[1]!.id)).toBe(
      `visit:${id}:missed-check-in:${new Date(start.getTime() + 35 * 60_000).toISOString()}`,
    );

    // A check-in pressed now (after the arrival call was due) answers both, as the worker safe.
    await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[1]!,
      fobEvent('chk-road-2', {
        type: 'check_in',
        deviceId: 'FOB-1',
        occurredAt: now.toISOString(),
        receivedAt: now.toISOString(),
      }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    await watch();
    expect(await alarmsOf(id)).toEqual([
      expect.objectContaining({ status: 'resolved', resolution_reason: 'worker_checked_in' }),
      expect.objectContaining({ status: 'resolved', resolution_reason: 'worker_checked_in' }),
    ]);
    await returnVisit(vdeps, lead, id);
  });

  it("a worker out at a school the config no longer holds is said loudly every run (watched as the orphansTo school's)", async () => {
    const id = await departed('thames', 120);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'error' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const renamed = { ...deps.config, schools: deps.config.schools.filter((s) => s.id !== 'thames') };
    await watchVisits({ reason: 'manual' }, run('watch-visits'), { ...deps, log, config: renamed });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        schools: [{ schoolId: 'thames', visitsOut: 1, openAlarms: 0 }],
        // The same words as `doorstep check`'s, `/readyz`'s and the start's log.
        msg: OUTSIDE_CONFIG_LOG,
      }),
    );
    // With the school in the config: nothing said.
    lines.length = 0;
    await watchVisits({ reason: 'manual' }, run('watch-visits'), { ...deps, log });
    expect(lines.filter((l) => String(l.msg).startsWith('workers out or alarms open'))).toEqual([]);
    await returnVisit(vdeps, lead, id);
  });

  it("a school taken out of the config: its worker out is watched by the orphansTo school's rules (said every run), its open alarm's messages go through that school's channels", async () => {
    const start = now;
    const id = await departed('thames', 60);
    // In the config: the missed check-in (Thames View: 20 minutes) is raised and its ladder starts.
    now = new Date(start.getTime() + 23 * 60_000);
    await watch();
    const [missed] = await alarmsOf(id);
    expect(missed).toMatchObject({ type: 'missed_check_in', status: 'open' });
    await escalate({ alarmId: missed!.id, step: 0 }, run('escalate'), deps);

    // Thames View taken out of the config. Past the expected return: the visit watcher watches the
    // worker as the trust's orphansTo school's (here the first, Lime Hills) and raises the overdue
    // alarm, saying so on it; it finishes without failing, and says it in its log every run.
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'error' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const gone = {
      ...deps,
      log,
      config: { ...deps.config, schools: deps.config.schools.filter((s) => s.id !== 'thames') },
    };
    now = new Date(start.getTime() + 90 * 60_000);
    const { raised } = await watchVisits({ reason: 'manual' }, run('watch-visits'), gone);
    const raisedNow = (await alarmsOf(id)).slice(1);
    expect(raised).toBe(raisedNow.length);
    const overdue = raisedNow.find((a) => a.type === 'overdue_visit');
    const said = await db.query<{ event: string }>(`SELECT event FROM alarm_timeline WHERE alarm_id = $1`, [
      overdue!.id,
    ]);
    expect(said.rows.map((r) => r.event)).toContain(
      "alarm raised: visit overdue (thames, a school no longer in the configuration: Lime Hills Academy's rules and ladder)",
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        schools: [{ schoolId: 'thames', visitsOut: 1, openAlarms: 1 }],
        orphansTo: 'lime',
      }),
    );

    // The open alarm is kept and its ladder runs on (its policy was snapshotted when raised): its
    // messages go through Lime Hills' channels and contacts — none fails for want of a channel.
    expect((await escalate({ alarmId: missed!.id, step: 1 }, run('escalate'), gone)).outcome).toMatch(
      /^level 2 notified/,
    );
    await stepSendsSettled(5000);
    const { rows } = await db.query<{
      id: string;
      target: string;
      status: string;
      last_error: string | null;
    }>(
      `SELECT id, target, status, last_error FROM notifications WHERE alarm_id = $1 AND step = 1 AND target <> 'board'`,
      [missed!.id],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const n of rows) {
      expect(n.last_error ?? '').not.toMatch(/channel is configured/);
      expect(n.status).toBe('sent');
    }
    await stepSendsSettled(5000);
    await returnVisit(vdeps, lead, id);
  });

  it('a forged check-in from the future neither postpones nor clears a missed check-in; nor does one from a device not on the visit', async () => {
    // A minute after the tests before: their last fob check-in (received as an earlier visit of this
    // worker left) would otherwise be one received once this visit had left, and count for it too.
    now = new Date(now.getTime() + 60_000);
    const start = now;
    const id = await departed('thames', 120);
    const checkIn = (eventId: string, deviceId: string, occurredAt: string) =>
      ingestFobEvent(
        { db, producer, publisher: conn, prefix },
        vdeps.config.schools[1]!,
        fobEvent(eventId, { type: 'check_in', deviceId, occurredAt }),
        { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
      );
    // Before the check-in is due: a check-in dated 2099 does not move the deadline.
    now = new Date(start.getTime() + 5 * 60_000);
    await checkIn('forged-future-1', 'FOB-1', '2099-01-01T00:00:00Z');
    expect((await watch()).checkIns).toBe(0);
    expect((await getVisit(db, id))!.lastCheckInAt).toBeNull();
    now = new Date(start.getTime() + 23 * 60_000);
    await watch();
    expect(await alarmsOf(id)).toEqual([
      expect.objectContaining({ type: 'missed_check_in', status: 'open' }),
    ]);
    // Once raised: another forged one, and one from a fob no one on the visit wears, clear nothing.
    await checkIn('forged-future-2', 'FOB-1', '2099-01-01T00:00:00Z');
    await checkIn('stranger-1', 'FOB-9', now.toISOString());
    expect((await watch()).checkIns).toBe(0);
    expect(await alarmsOf(id)).toEqual([
      expect.objectContaining({ type: 'missed_check_in', status: 'open' }),
    ]);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM fob_events WHERE vendor_event_id LIKE 'forged-future-%' AND clock_skew_ms > 0`,
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('a check-in dated before the departure counts only within the clock skew: an old signed one replayed (its record purged) counts for nothing', async () => {
    const start = now;
    const id = await departed('thames', 120);
    const departedAt = (await getVisit(db, id))!.departedAt!;
    const checkIn = (eventId: string, occurredAt: Date) =>
      ingestFobEvent(
        { db, producer, publisher: conn, prefix },
        vdeps.config.schools[1]!,
        fobEvent(eventId, { type: 'check_in', deviceId: 'FOB-1', occurredAt: occurredAt.toISOString() }),
        { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
      );
    now = new Date(start.getTime() + 5 * 60_000);
    // Forty days old: an earlier visit's check-in, replayed.
    await checkIn('replayed-40d', new Date(departedAt.getTime() - 40 * 86_400_000));
    // Three minutes before the departure: beyond Thames View's 120 s skew.
    await checkIn('before-skew', new Date(departedAt.getTime() - 180_000));
    expect((await watch()).checkIns).toBe(0);
    expect((await getVisit(db, id))!.lastCheckInAt).toBeNull();
    // One minute before it: a slow clock, counted (at the time received).
    await checkIn('slow-clock', new Date(departedAt.getTime() - 60_000));
    expect((await watch()).checkIns).toBe(1);
    expect((await getVisit(db, id))!.lastCheckInAt).not.toBeNull();
  });

  it("Hampton: its policy's own ladder — the board at the return time, +30 min the office contacts the worker, the location, school, police (the worker texted, the head of school told); then again every 30 min", async () => {
    const start = now;
    const id = await departed('hampton', 60);
    now = new Date(start.getTime() + 61 * 60_000);
    expect((await watch()).raised).toBe(1);
    const [alarm] = await alarmsOf(id);
    expect(alarm!.policy.levels).toHaveLength(2);
    await escalate({ alarmId: alarm!.id, step: 0 }, run('escalate'), deps);
    const due = async () =>
      new Date(
        (await db.query<{ next_step_at: Date }>('SELECT next_step_at FROM alarms WHERE id = $1', [alarm!.id]))
          .rows[0]!.next_step_at,
      ).getTime();
    expect(await due()).toBe(now.getTime() + 30 * 60_000);
    // Never silent: past its last level the last level repeats at its own interval until resolved.
    await escalate({ alarmId: alarm!.id, step: 1 }, run('escalate'), deps);
    expect(await due()).toBe(now.getTime() + 30 * 60_000);
    const r = await escalate({ alarmId: alarm!.id, step: 2 }, run('escalate'), deps);
    expect(r.outcome).not.toMatch(/stopped/);
    const { rows } = await db.query<{ step: number; target: string }>(
      'SELECT step, target FROM notifications WHERE alarm_id = $1 ORDER BY step',
      [alarm!.id],
    );
    // The board at the return time; at half an hour, and each time again, the worker is texted to
    // call in and the head of school told — never the board alone for an office nobody is in.
    expect(rows.map((x) => `${x.step}:${x.target}`).sort()).toEqual([
      '0:board',
      '1:board',
      '1:sms:head-of-school',
      '1:sms:visiting-staff',
      '2:board',
      '2:sms:head-of-school',
      '2:sms:visiting-staff',
    ]);
    await returnVisit(vdeps, lead, id);
    expect((await alarmsOf(id))[0]).toMatchObject({ status: 'resolved', resolution_reason: 'worker_safe' });
  });

  it("a visit row locked elsewhere (a forgotten psql session) fails that school's watch after its lock wait, and the schools after it are still watched", async () => {
    const start = now;
    const locked = await departed('lime', 30);
    const watched = await departed('hampton', 30);
    now = new Date(start.getTime() + 31 * 60_000);
    const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await other.connect();
    try {
      await other.query(`SET search_path TO "${schema}"`);
      await other.query('BEGIN');
      await other.query('SELECT id FROM visits WHERE id = $1 FOR UPDATE', [locked]);
      await expect(watch()).rejects.toMatchObject({
        code: 'DOORSTEP_SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/visit watch failed for lime \(the others were watched\)/),
      });
      // Hampton, after Lime Hills in the config, was watched; Lime Hills waits for the lock.
      expect((await alarmsOf(watched)).map((a) => a.type)).toEqual(['overdue_visit']);
      expect(await alarmsOf(locked)).toEqual([]);
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    // The lock gone, the next run watches Lime Hills too.
    expect((await watch()).raised).toBe(1);
    expect((await alarmsOf(locked)).map((a) => a.type)).toEqual(['overdue_visit']);
  }, 30_000);

  it('running late: a new return time stands the overdue alarm down as safe (no incident) and re-arms it for the new time', async () => {
    const id = await departed('hampton', 30);
    now = new Date(now.getTime() + 31 * 60_000);
    await watch();
    const [overdue] = await alarmsOf(id);
    expect(overdue).toMatchObject({ type: 'overdue_visit', status: 'open' });
    const newReturn = new Date(now.getTime() + 20 * 60_000);
    await runningLate(vdeps, lead, id, newReturn, 'parent arrived late');
    expect((await alarmsOf(id))[0]).toMatchObject({
      status: 'resolved',
      resolution_reason: 'worker_safe_running_late',
    });
    expect((await getVisit(db, id))!.expectedReturnAt?.getTime()).toBe(newReturn.getTime());
    expect((await db.query('SELECT 1 FROM outbox WHERE source_type = $1', ['alarm'])).rowCount).toBe(0);
    // Watched against the new time: nothing before it, a new overdue alarm after it.
    now = new Date(newReturn.getTime() - 60_000);
    expect((await watch()).raised).toBe(0);
    now = new Date(newReturn.getTime() + 60_000);
    expect((await watch()).raised).toBe(1);
    expect((await alarmsOf(id)).filter((a) => a.status === 'open')).toHaveLength(1);
    await returnVisit(vdeps, lead, id);
  });

  it('an outcome recorded, or a cancellation, while the worker is out does not end the watch', async () => {
    const id = await departed('hampton', 30);
    await recordOutcome(vdeps, lead, id, {
      childSeen: true,
      noOneHome: false,
      agreements: [],
      concerns: [],
      followUp: [],
    });
    expect((await getVisit(db, id))!.status).toBe('departed');
    now = new Date(now.getTime() + 31 * 60_000);
    expect((await watch()).raised).toBe(1);
    await returnVisit(vdeps, lead, id);
    const v = (await getVisit(db, id))!;
    expect(v.status).toBe('completed');
    expect((await alarmsOf(id)).every((a) => a.status === 'resolved')).toBe(true);

    const other = await departed('hampton', 30);
    await cancelVisit(vdeps, lead, other, 'dangerous dog');
    now = new Date(now.getTime() + 31 * 60_000);
    expect((await watch()).raised).toBe(1);
    await returnVisit(vdeps, lead, other);
    expect((await getVisit(db, other))!.status).toBe('cancelled');
    now = new Date(now.getTime() + 60 * 60_000);
    expect((await watch()).raised).toBe(0); // nothing is raised after back safe
  });

  it('an acknowledged missed check-in opens again when its acknowledgement times out, and re-enters its ladder', async () => {
    const start = now;
    const id = await departed('thames', 120);
    now = new Date(start.getTime() + 21 * 60_000);
    await watch();
    const [missed] = await alarmsOf(id);
    expect(missed!.policy.reescalateAfterMinutes).toBe(10);
    await escalate({ alarmId: missed!.id, step: 0 }, run('escalate'), deps);
    await acknowledgeAlarm(db, missed!.id, 'user:office', now);
    const stopped = await escalate({ alarmId: missed!.id, step: 1 }, run('escalate'), deps);
    expect(stopped.outcome).toBe('stopped: acknowledged');
    now = new Date(now.getTime() + 9 * 60_000);
    expect((await watch()).reopened).toBe(0);
    now = new Date(now.getTime() + 2 * 60_000);
    expect((await watch()).reopened).toBe(1);
    expect((await alarmsOf(id))[0]).toMatchObject({ status: 'open' });
    const job = await producer.queues.get('alarms')!.getJob(`escalate-${missed!.id}-1-r1`);
    expect(job?.data).toEqual({ alarmId: missed!.id, step: 1, reopened: 1 });
    const again = await escalate(job!.data, run('escalate'), deps);
    expect(again.outcome).toBe('level 2 notified');
    await returnVisit(vdeps, lead, id);
  });

  it('an acknowledgement that times out before the next level was due brings that level forward to now: not only the board hears it', async () => {
    const start = now;
    const id = await departed('thames', 120);
    now = new Date(start.getTime() + 21 * 60_000);
    await watch();
    const [missed] = await alarmsOf(id);
    await escalate({ alarmId: missed!.id, step: 0 }, run('escalate'), deps);
    // Taken at once; its next level (step 1) has not run yet, so the ladder never paused — a ladder
    // whose next level is half an hour on (levels at 0 and 30 minutes).
    await acknowledgeAlarm(db, missed!.id, 'user:office', now);
    const due = await db.query<{ next_step_at: Date; escalation_step: number }>(
      `UPDATE alarms SET next_step_at = $2 WHERE id = $1 RETURNING next_step_at, escalation_step`,
      [missed!.id, new Date(now.getTime() + 30 * 60_000)],
    );
    expect(due.rows[0]!.escalation_step).toBe(1);
    now = new Date(now.getTime() + (missed!.policy.reescalateAfterMinutes! + 1) * 60_000);
    expect(now.getTime()).toBeLessThan(due.rows[0]!.next_step_at.getTime());
    expect((await watch()).reopened).toBe(1);
    const { rows } = await db.query<{ next_step_at: Date; status: string }>(
      'SELECT next_step_at, status FROM alarms WHERE id = $1',
      [missed!.id],
    );
    expect(rows[0]).toEqual({ next_step_at: now, status: 'open' });
    const job = await producer.queues.get('alarms')!.getJob(`escalate-${missed!.id}-1-r1`);
    expect(job?.data).toEqual({ alarmId: missed!.id, step: 1, reopened: 1 });
    expect((await escalate(job!.data, run('escalate'), deps)).outcome).toBe('level 2 notified');
    await returnVisit(vdeps, lead, id);
  });

  it('"I need help" on the phone page raises an SOS for the visit, with the position, and starts its ladder; only someone on the visit may press it', async () => {
    const id = await departed('hampton', 90);
    const office = await addUser(db, `office-${Date.now()}`, ['office']);
    await expect(askForHelp(vdeps, office, id, null)).rejects.toMatchObject({ code: 'DOORSTEP_FORBIDDEN' });
    const alarmId = await askForHelp(vdeps, lead, id, { lat: 53.8, lon: -1.55, accuracyM: 20 });
    const { rows } = await db.query(
      'SELECT type, status, visit_id::text AS visit_id, staff_id, location FROM alarms WHERE id = $1',
      [alarmId],
    );
    expect(rows[0]).toEqual({
      type: 'sos',
      status: 'open',
      visit_id: id,
      staff_id: 'st-lead',
      location: { lat: 53.8, lon: -1.55, accuracyM: 20 },
    });
    expect(await producer.queues.get('alarms')!.getJob(`escalate-${alarmId}-0`)).toBeTruthy();
    // What the phone is told: the alarm is passed on — until every message to a person has failed
    // (the board's "no one else knows"), when the phone must say so and not "passed on".
    const reached = async () => (await openAlarmsOfVisit(db, id)).find((a) => a.id === alarmId)?.noOneReached;
    expect(await reached()).toBe(false);
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error) VALUES
         ($1, 0, 'board', 'sent', NULL), ($1, 0, 'sms:leaders', 'failed', 'refused by the provider')`,
      [alarmId],
    );
    expect(await reached()).toBe(true);
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 1, 'push:office', 'pending')`,
      [alarmId],
    );
    expect(await reached()).toBe(false);
  });

  it('“I need help” still raises after the partner said both back safe (the lead still at the door), however long since', async () => {
    const id = await departed('hampton', 90);
    now = new Date(now.getTime() + 5 * 60_000);
    await returnVisit(vdeps, partner, id);
    now = new Date(now.getTime() + 2 * 60_000);
    const alarmId = await askForHelp(vdeps, lead, id, null, 'after-back-1');
    const { rows } = await db.query(
      'SELECT type, status, visit_id::text AS visit_id FROM alarms WHERE id = $1',
      [alarmId],
    );
    expect(rows[0]).toEqual({ type: 'sos', status: 'open', visit_id: id });
    expect(await producer.queues.get('alarms')!.getJob(`escalate-${alarmId}-0`)).toBeTruthy();
    // Out on the next visit already (this page still open): raised on that visit — its address and
    // partner — never refused, never against this family; the position follows it there.
    const next = await departed('hampton', 90);
    const onNext = await askForHelp(vdeps, lead, id, null, 'after-back-3');
    const raised = await db.query<{ visit_id: string }>('SELECT visit_id::text FROM alarms WHERE id = $1', [
      onNext,
    ]);
    expect(raised.rows[0]!.visit_id).toBe(next);
    await helpPosition(vdeps, lead, id, onNext, { lat: 53.8, lon: -1.55, accuracyM: 30 });
    const placed = await db.query<{ location: unknown }>('SELECT location FROM alarms WHERE id = $1', [
      onNext,
    ]);
    expect(placed.rows[0]!.location).toEqual({ lat: 53.8, lon: -1.55, accuracyM: 30 });
    await returnVisit(vdeps, lead, next);
    // An hour and more after back safe, out on no visit: still raised on this one — "I need help" from
    // the people on a visit that left is never refused for the time since back safe.
    now = new Date(now.getTime() + 60 * 60_000);
    const late = await askForHelp(vdeps, lead, id, null, 'after-back-2');
    const lateRow = await db.query<{ visit_id: string; type: string }>(
      'SELECT visit_id::text, type FROM alarms WHERE id = $1',
      [late],
    );
    expect(lateRow.rows[0]).toEqual({ visit_id: id, type: 'sos' });
  });

  it('a fob’s own missed check-in on the visit is the device’s word: the partner’s check-in or “arrived” never closes it, and resolving it restarts no register clock', async () => {
    const id = await departed('hampton', 90);
    now = new Date(now.getTime() + 5 * 60_000);
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[2]!,
      fobEvent(`fob-mci-${id}`, {
        deviceId: 'FOB-1',
        type: 'missed_check_in',
        occurredAt: now.toISOString(),
        receivedAt: now.toISOString(),
      }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const alarmId = (r as { alarmId: string }).alarmId;
    await watch(); // ties it to the visit its wearer is on
    now = new Date(now.getTime() + 60_000);
    await checkInVisit(vdeps, partner, id);
    await arriveVisit(vdeps, partner, id);
    const status = async () =>
      (
        await db.query<{ status: string; visit_id: string }>(
          'SELECT status, visit_id::text FROM alarms WHERE id = $1',
          [alarmId],
        )
      ).rows[0];
    expect(await status()).toEqual({ status: 'open', visit_id: id });
    // A person resolves it on the board as a false alarm: the register's check-in clock is as it was.
    const before = (await getVisit(db, id))!.lastCheckInAt;
    now = new Date(now.getTime() + 60_000);
    await resolveAlarm(db, vdeps.config, alarmId, 'user:office', 'false_alarm', null, now);
    expect((await status())?.status).toBe('resolved');
    expect((await getVisit(db, id))!.lastCheckInAt).toEqual(before);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM visit_check_ins WHERE visit_id = $1 AND source = 'office'`,
      [id],
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('a fob worn on a visit that has gone silent for the school’s set time raises device_silent; back safe stands it down', async () => {
    const id = await departed('hampton', 240);
    expect((await getVisit(db, id))!.fobDeviceId).toBe('FOB-1');
    const { watchQuiet } = silentAfter30();
    const start = now;
    now = new Date(start.getTime() + 20 * 60_000);
    // The fob reports (a battery event) at +20 min: the silence counts from then.
    await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[2]!,
      fobEvent(`silent-${id}`, {
        type: 'low_battery',
        deviceId: 'FOB-1',
        batteryPercent: 40,
        receivedAt: now.toISOString(),
        occurredAt: now.toISOString(),
      }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    now = new Date(start.getTime() + 45 * 60_000);
    expect((await watchQuiet()).raised).toBe(0);
    now = new Date(start.getTime() + 51 * 60_000);
    expect((await watchQuiet()).raised).toBe(1);
    expect(await alarmsOf(id)).toEqual([expect.objectContaining({ type: 'device_silent', status: 'open' })]);
    await returnVisit(vdeps, lead, id);
    expect(await alarmsOf(id)).toEqual([
      expect.objectContaining({
        type: 'device_silent',
        status: 'resolved',
        resolution_reason: 'worker_safe',
      }),
    ]);
  });

  it('a silent-fob alarm closed by the office while the worker is still out: the silence counts again from then', async () => {
    const id = await departed('hampton', 240);
    const { quiet, watchQuiet } = silentAfter30();
    const start = now;
    now = new Date(start.getTime() + 31 * 60_000);
    expect((await watchQuiet()).raised).toBe(1);
    const [silent] = await alarmsOf(id);
    // The office reached the worker and closes it; the fob stays dead.
    now = new Date(start.getTime() + 35 * 60_000);
    expect(
      await resolveAlarm(db, quiet.config, silent!.id, 'office:t', 'worker_safe_contacted', null, now),
    ).toBe('resolved');
    expect((await timelineOf(db, silent!.id)).map((t) => t.event)).toContain(
      "the worker is still out: the fob's silence counts again from now",
    );
    now = new Date(start.getTime() + 60 * 60_000);
    expect((await watchQuiet()).raised).toBe(0);
    // Before: never again for the rest of the visit (the key was the fob's last event, which a dead fob never moves).
    now = new Date(start.getTime() + 66 * 60_000);
    expect((await watchQuiet()).raised).toBe(1);
    expect((await alarmsOf(id)).map((a) => `${a.type}:${a.status}`)).toEqual([
      'device_silent:resolved',
      'device_silent:open',
    ]);
    await returnVisit(vdeps, lead, id);
  });

  it('links an SOS from a fob to the visit its wearer is on (the board shows the visit address)', async () => {
    const id = await departed('hampton', 90);
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[2]!,
      fobEvent('sos-1', { deviceId: 'FOB-1', occurredAt: now.toISOString() }),
      {
        transport: 'webhook',
        profile: 'peoplesafe-style',
        raw: Buffer.from('{}'),
      },
    );
    await watch();
    const { rows } = await db.query<{ visit_id: string }>('SELECT visit_id FROM alarms WHERE id = $1', [
      (r as { alarmId: string }).alarmId,
    ]);
    expect(String(rows[0]!.visit_id)).toBe(id);
    // The phone page is told it came from a fob: it never shows or buzzes for it.
    expect(await openAlarmsOfVisit(db, id)).toEqual([
      expect.objectContaining({ type: 'sos', fromDevice: true }),
    ]);
    await returnVisit(vdeps, lead, id);
  });

  it('ties to the visit a fob alarm that reached Doorstep after it left, its device clock ten minutes slow', async () => {
    const id = await departed('hampton', 90);
    const slow = new Date(now.getTime() - 10 * 60_000).toISOString();
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[2]!,
      fobEvent('sos-slow-clock', { deviceId: 'FOB-1', occurredAt: slow, receivedAt: now.toISOString() }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    await watch();
    const { rows } = await db.query<{ visit_id: string | null; raised_at: Date }>(
      'SELECT visit_id, raised_at FROM alarms WHERE id = $1',
      [(r as { alarmId: string }).alarmId],
    );
    // Its device time is kept (within the hour an alarm's clock is believed behind), and it is the visit's.
    expect(rows[0]!.raised_at.toISOString()).toBe(slow);
    expect(String(rows[0]!.visit_id)).toBe(id);
    await returnVisit(vdeps, lead, id);
  });

  it('does not tie to a visit a fob alarm raised before it left (the address is not where it happened)', async () => {
    const before = new Date(now.getTime() - 30 * 60_000).toISOString();
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      vdeps.config.schools[2]!,
      fobEvent('sos-before', { deviceId: 'FOB-1', occurredAt: before, receivedAt: before }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const id = await departed('hampton', 90);
    await watch();
    const { rows } = await db.query<{ visit_id: string | null }>(
      'SELECT visit_id FROM alarms WHERE id = $1',
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows[0]!.visit_id).toBeNull();
    await returnVisit(vdeps, lead, id);
  });
});

/** An SOS from the lead's fob, raised now, its first step taken: its ladder waits on step 1. */
async function sosPastFirstStep(eventId: string): Promise<string> {
  const sos = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    vdeps.config.schools[1]!,
    fobEvent(eventId, { deviceId: 'FOB-1', occurredAt: now.toISOString(), receivedAt: now.toISOString() }),
    { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  const alarmId = (sos as { alarmId: string }).alarmId;
  await escalate({ alarmId, step: 0 }, run('escalate'), deps);
  return alarmId;
}

describe('a ladder whose first step was never queued (Redis away at the raise)', () => {
  it('"I need help" whose escalate job failed to queue has it queued by the watch 20 s on, under its one id', async () => {
    const id = await departed('hampton', 90);
    // The raise stands (the worker is told it is on the board); only its job failed to queue.
    const away = Object.assign(Object.create(producer) as Producer<typeof catalog>, {
      enqueue: () => Promise.reject(new Error('Redis away')),
    });
    const alarmId = await askForHelp({ ...vdeps, producer: away }, lead, id, null, 'redis-blip');
    await db.query('UPDATE alarms SET created_at = $2 WHERE id = $1', [alarmId, now]);
    const jobs = producer.queues.get('alarms')!;
    expect(await jobs.getJob(`escalate-${alarmId}-0`)).toBeUndefined();
    const raisedAt = now;
    // 15 s on: a job merely waiting (a first step's safety net waits 10 s) is left alone.
    now = new Date(raisedAt.getTime() + 15_000);
    await watch();
    expect(await jobs.getJob(`escalate-${alarmId}-0`)).toBeUndefined();
    // The next run, 30 s on: queued under the step's one id (a job already there would add nothing).
    now = new Date(raisedAt.getTime() + 30_000);
    await watch();
    const job = await jobs.getJob(`escalate-${alarmId}-0`);
    expect(job?.data).toEqual({ alarmId, step: 0 });
    await watch();
    expect(
      (await jobs.getJobs(['delayed', 'waiting'])).filter((j) => j.data.alarmId === alarmId),
    ).toHaveLength(1);
    // Run, it pages the first level; the ladder has started and is not queued again.
    expect((await escalate(job!.data, run('escalate'), deps)).outcome).toBe('level 1 notified');
    await job!.remove();
    now = new Date(raisedAt.getTime() + 45_000);
    await watch();
    expect(await jobs.getJob(`escalate-${alarmId}-0`)).toBeUndefined();
    await returnVisit(vdeps, lead, id);
  });
});

describe('a ladder whose step job gave up (an outage longer than its retries)', () => {
  it('is queued again once its step is two minutes overdue, under a new job id, and the step is taken once', async () => {
    const alarmId = await sosPastFirstStep('stalled-1');
    const alarm = async () =>
      (
        await db.query<{ escalation_step: number; next_step_at: Date }>(
          'SELECT escalation_step, next_step_at FROM alarms WHERE id = $1',
          [alarmId],
        )
      ).rows[0]!;
    const dueAt = new Date((await alarm()).next_step_at);
    expect((await alarm()).escalation_step).toBe(1);
    // Step 1's job failed every try (as if the database had been away): it is in the failed set.
    const jobs = producer.queues.get('alarms')!;
    const stepJob = await jobs.getJob(`escalate-${alarmId}-1`);
    expect(stepJob).toBeTruthy();
    await stepJob!.remove();

    // Due, and merely late: left alone.
    now = new Date(dueAt.getTime() + 60_000);
    expect((await watch()).resumed).toBe(0);
    // Over two minutes late: queued again under an id of its own (the failed job's id would be a no-op).
    now = new Date(dueAt.getTime() + 121_000);
    expect((await watch()).resumed).toBe(1);
    const minute = Math.floor(now.getTime() / 60_000);
    const again = await jobs.getJob(`escalate-${alarmId}-1-resumed-${minute}`);
    expect(again?.data).toEqual({ alarmId, step: 1 });
    // The same minute's sweep adds nothing more.
    await watch();
    expect(
      (await jobs.getJobs(['delayed', 'waiting'])).filter(
        (j) => j.data.alarmId === alarmId && j.data.step === 1,
      ),
    ).toHaveLength(1);
    // Run, it takes step 1 once; run twice (a second sweep's job), the second finds it taken.
    expect((await escalate(again!.data, run('escalate'), deps)).outcome).toMatch(/^level 2 notified/);
    expect((await escalate(again!.data, run('escalate'), deps)).outcome).toBe('already taken');
    expect((await alarm()).escalation_step).toBe(2);
    // No longer stalled: its next step is due in the future.
    expect((await watch()).resumed).toBe(0);
    // Resolved alarms are never resumed.
    await db.query(`UPDATE alarms SET status = 'resolved' WHERE id = $1`, [alarmId]);
    now = new Date(now.getTime() + 24 * 3600_000);
    expect((await watch()).resumed).toBe(0);
  });

  it('sends again a notification whose job gave up or was lost, under its own job id, and never beside a job that will still run', async () => {
    const alarmId = await sosPastFirstStep('stranded-1');
    await stepSendsSettled(10_000);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM notifications WHERE alarm_id = $1 AND target <> 'board' ORDER BY id LIMIT 1`,
      [alarmId],
    );
    const id = String(rows[0]!.id);
    // Its sends failed every try while the database was away: still pending, no step holding it.
    await db.query(
      `UPDATE notifications SET status = 'pending', claimed_until = NULL, created_at = $2 WHERE id = $1`,
      [id, new Date(now.getTime() - 30_000)],
    );
    const jobs = producer.queueFor('notify');
    const first = await jobs.getJob(`notify-${id}`);
    expect(first).toBeTruthy();
    const status = async () =>
      (await db.query<{ status: string }>('SELECT status FROM notifications WHERE id = $1', [id])).rows[0]!
        .status;
    // Made 30 s ago: not yet looked at.
    expect((await watch()).resent).toBe(0);
    now = new Date(now.getTime() + 60_000);
    // Its job will still run (queued behind its step's own try): left to it.
    expect(await first!.getState()).toBe('delayed');
    expect((await watch()).resent).toBe(0);
    // Its job gone (out of tries and cleared, or lost with Redis): queued again under its own id, so
    // a step's retry that queues it too adds nothing (never sent twice).
    await first!.remove();
    expect((await watch()).resent).toBe(1);
    const again = await jobs.getJob(`notify-${id}`);
    expect(again?.data).toEqual({ notificationId: id });
    expect(await producer.enqueue('notify', { notificationId: id }, { jobId: `notify-${id}` })).toMatchObject(
      {
        id: `notify-${id}`,
      },
    );
    expect(
      (await jobs.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j.data.notificationId === id),
    ).toHaveLength(1);
    // The next sweep finds that job waiting: nothing more, even a minute later.
    expect((await watch()).resent).toBe(0);
    now = new Date(now.getTime() + 60_000);
    expect((await watch()).resent).toBe(0);
    // Run, it sends; then nothing is stranded.
    expect(await notify(again!.data, run('notify'), deps)).toEqual({ status: 'sent' });
    expect(await status()).toBe('sent');
    await again!.remove();
    expect((await watch()).resent).toBe(0);
  });

  it('an alarm stored without its ladder follows the default one: its step is taken, not failed for ever', async () => {
    const alarmId = await sosPastFirstStep('no-policy-1');
    await db.query('UPDATE alarms SET policy = NULL WHERE id = $1', [alarmId]);
    expect((await escalate({ alarmId, step: 1 }, run('escalate'), deps)).outcome).toMatch(
      /^level 2 notified/,
    );
  });
});
