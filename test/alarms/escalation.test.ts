import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { acknowledgeAlarm, resolveAlarm } from '../../src/alarms/commands.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { DEFAULT_REESCALATE_MINUTES } from '../../src/domain/escalation/ladder.ts';
import type { FobEvent } from '../../src/domain/fob/event.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { reopenTimedOutAcknowledgements, timelineOf } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listOutbox } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

const schema = uniqueName('escalation');
const prefix = uniqueName('escalation');
const log = createLogger({ level: 'silent' });
// A fast ladder: board now, board again after 0.6 s, twice over.
const config = configWith({
  school: `    escalation:
      alarm:
        condition: if-not-acknowledged
        repeat: 1
        levels:
          - { afterMinutes: 0, notify: [board] }
          - { afterMinutes: 0.01, notify: [board] }
`,
});
const school = config.schools[0]!;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: JobDeps;
const hosts: WorkerHost<typeof catalog, JobDeps>[] = [];
let n = 0;

function startHost() {
  const h = new WorkerHost({
    catalog,
    handlers,
    deps,
    roles: ['ingest'],
    redis: { url: TEST_REDIS_URL },
    prefix,
    log,
  });
  h.run();
  hosts.push(h);
  return h;
}

async function raise(): Promise<string> {
  n++;
  const event: FobEvent = fobEvent(`esc-${n}`);
  const r = await ingestFobEvent({ db, producer, publisher: conn, prefix }, school, event, {
    transport: 'webhook',
    profile: 'peoplesafe-style',
    raw: Buffer.from('{}'),
  });
  return (r as { alarmId: string }).alarmId;
}

async function steps(alarmId: string): Promise<number[]> {
  const { rows } = await db.query<{ step: number }>(
    `SELECT step FROM notifications WHERE alarm_id = $1 AND status = 'sent' ORDER BY step`,
    [alarmId],
  );
  return rows.map((r) => r.step);
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = { db, log, producer, now: () => new Date(), instance: 't', config, publisher: conn };
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close(1000)));
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('escalation ladder (real Redis and Postgres)', () => {
  it('runs every step once, in order, at its time, then repeats its last level until someone responds', async () => {
    const id = await raise();
    startHost();
    await until(async () => (await steps(id)).length >= 6);
    expect(await acknowledgeAlarm(db, id, 'office:j-smith', new Date())).toBe('acknowledged');
    await until(async () => (await timelineOf(db, id)).some((t) => t.event.startsWith('escalation stopped')));
    const t = await timelineOf(db, id);
    expect(t.slice(0, 7).map((e) => e.event)).toEqual([
      'alarm raised: sos',
      'level 1: notified board',
      'level 2: notified board',
      'level 1 (repeat 1): notified board',
      'level 2 (repeat 1): notified board',
      'level 2 (repeat 2): notified board',
      'level 2 (repeat 3): notified board',
    ]);
    expect(t.at(-1)!.event).toBe('escalation stopped: acknowledged');
    // Each level-2 step waited its 0.6 s after the one before.
    expect(t[2]!.at.getTime() - t[1]!.at.getTime()).toBeGreaterThanOrEqual(550);
  });

  it('an acknowledgement mid-ladder stops every further page, across a restart', async () => {
    const id = await raise();
    const h = startHost();
    await until(async () => (await steps(id)).length === 1);
    expect(await acknowledgeAlarm(db, id, 'office:j-smith', new Date())).toBe('acknowledged');
    await h.close(1000);
    startHost(); // a restarted process picks up the delayed step from Redis…
    await until(async () =>
      (await timelineOf(db, id)).some((e) => e.event === 'escalation stopped: acknowledged'),
    );
    await new Promise((r) => setTimeout(r, 800));
    expect(await steps(id)).toEqual([0]); // …and pages no one
  });

  it('an alarm acknowledged before its first step pages no one, though the ingest remembered it open', async () => {
    const id = await raise(); // remembered by this process as open at step 0; its job waits for a worker
    expect(await acknowledgeAlarm(db, id, 'office:j-smith', new Date())).toBe('acknowledged');
    startHost();
    await until(async () =>
      (await timelineOf(db, id)).some((e) => e.event === 'escalation stopped: acknowledged'),
    );
    expect(await steps(id)).toEqual([]);
    expect((await timelineOf(db, id)).map((e) => e.event)).not.toContain('level 1: notified board');
  });

  it('a restart mid-ladder resumes at the right step and time', async () => {
    const id = await raise();
    const h = startHost();
    await until(async () => (await steps(id)).length === 1);
    await h.close(1000);
    await new Promise((r) => setTimeout(r, 1000)); // step 2 falls due while nothing runs
    startHost();
    await until(async () => (await steps(id)).length === 4);
    expect(await steps(id)).toEqual([0, 1, 2, 3]);
  });

  it('two workers send each step exactly once', async () => {
    const ids = [await raise(), await raise(), await raise()];
    startHost();
    startHost();
    for (const id of ids)
      await until(
        async () => (await steps(id)).length === 4,
        10_000,
        `alarm ${id}: ${JSON.stringify(await steps(id))} ${JSON.stringify((await timelineOf(db, id)).map((e) => e.event))} ${JSON.stringify(await producer.queueFor('escalate').getJobCounts())} ${JSON.stringify((await producer.queueFor('escalate').getFailed()).map((j) => j.failedReason))}`,
      );
    // The last level repeats until someone responds: acknowledge, wait for the ladder to stop, then
    // every step taken was sent exactly once (no waiting on time: a loaded machine takes more steps).
    for (const id of ids) await acknowledgeAlarm(db, id, 'office:j-smith', new Date());
    for (const id of ids) {
      await until(
        async () => (await timelineOf(db, id)).some((t) => t.event.startsWith('escalation stopped')),
        10_000,
        `alarm ${id}'s ladder to stop`,
      );
      const levels = (await timelineOf(db, id)).filter((e) => e.event.startsWith('level')).length;
      expect(levels).toBeGreaterThanOrEqual(4);
      await until(async () => (await steps(id)).length >= levels, 10_000, `alarm ${id}'s sends`);
      expect(await steps(id)).toEqual(Array.from({ length: levels }, (_, i) => i));
    }
  });

  it('resolving as safe, a test or a false alarm writes no incident record', async () => {
    for (const reason of [
      'worker_safe_contacted',
      'worker_safe_running_late',
      'test',
      'false_alarm',
    ] as const) {
      const id = await raise();
      expect(await resolveAlarm(db, config, id, 'office:j-smith', reason, null, new Date())).toBe('resolved');
      const records = (await listOutbox(db, { schoolId: 'alpha' })).filter(
        (r) => r.idempotencyKey === `incident:alpha:${id}`,
      );
      expect(records).toEqual([]);
    }
  });

  it('a school’s own ladder that names no acknowledgement timeout still has one: acknowledged and forgotten, it opens again', async () => {
    expect(school.escalation.alarm!.reescalateAfterMinutes).toBe(DEFAULT_REESCALATE_MINUTES);
    const id = await raise();
    const at = new Date();
    expect(await acknowledgeAlarm(db, id, 'office:j-smith', at)).toBe('acknowledged');
    const before = new Date(at.getTime() + (DEFAULT_REESCALATE_MINUTES - 1) * 60_000);
    expect(
      (await db.transaction((tx) => reopenTimedOutAcknowledgements(tx, before))).map((r) => r.id),
    ).not.toContain(id);
    const after = new Date(at.getTime() + (DEFAULT_REESCALATE_MINUTES + 1) * 60_000);
    expect(
      (await db.transaction((tx) => reopenTimedOutAcknowledgements(tx, after))).map((r) => r.id),
    ).toContain(id);
    const { rows } = await db.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [id]);
    expect(rows[0]!.status).toBe('open');
    await resolveAlarm(db, config, id, 'office:j-smith', 'false_alarm', null, new Date());
  });

  it('resolution needs a reason, writes the incident record with the full timeline, and acknowledging afterwards does not reopen', async () => {
    const id = await raise();
    startHost();
    await until(async () => (await steps(id)).length >= 1);
    expect(await acknowledgeAlarm(db, id, 'office:j-smith', new Date())).toBe('acknowledged');
    expect(
      await resolveAlarm(
        db,
        config,
        id,
        'office:j-smith',
        'incident_without_dispatch',
        'pressed in a bag',
        new Date(),
      ),
    ).toBe('resolved');
    expect(await acknowledgeAlarm(db, id, 'office:someone-else', new Date())).toBe('already-resolved');
    expect(await resolveAlarm(db, config, id, 'x', 'test', null, new Date())).toBe('already-resolved');
    const { rows } = await db.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [id]);
    expect(rows[0]!.status).toBe('resolved');
    const [incident] = (await listOutbox(db, { schoolId: 'alpha' })).filter(
      (r) => r.kind === 'lone_worker_incident' && r.idempotencyKey === `incident:alpha:${id}`,
    );
    expect(incident).toBeDefined();
    expect(incident!.body).toContain('alarm raised: sos');
    expect(incident!.body).toContain('acknowledged (office:j-smith)');
    expect(incident!.body).toContain('as an incident, resolved without police or ambulance.');
    expect(incident!.body).toContain('Note: pressed in a bag');
  });

  it('a failing channel is retried on its own and never blocks the other channels or the next level', async () => {
    const down = configWith({
      env: { TEAMS_URL: 'https://teams.example.test/hook', SMS_TOKEN: 'tok' },
      school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, sms:leaders, teams:office] }
          - { afterMinutes: 0.01, notify: [board] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }]
    channels:
      sms: { baseUrl: "https://sms.example.test", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900000" }
      teams: { url: "\${TEAMS_URL}" }
`,
    });
    const nock = (await import('nock')).default;
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    const sms = nock('https://sms.example.test')
      .post(/Messages\.json$/)
      .reply(201, { sid: 'SM00000000000000000000000000000001' });
    nock('https://teams.example.test').post('/hook').times(10).reply(500, 'teams is down');
    const saved = deps;
    deps = { ...deps, config: down };
    try {
      n++;
      const r = await ingestFobEvent(
        { db, producer, publisher: conn, prefix },
        down.schools[0]!,
        fobEvent(`esc-down-${n}`),
        { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
      );
      const id = (r as { alarmId: string }).alarmId;
      startHost();
      await until(async () => (await steps(id)).length >= 3); // step 0 board + sms, step 1 board
      const { rows } = await db.query<{
        step: number;
        target: string;
        status: string;
        attempts: number;
        last_error: string | null;
      }>(
        'SELECT step, target, status, attempts, last_error FROM notifications WHERE alarm_id = $1 ORDER BY step, target',
        [id],
      );
      expect(rows.map((r) => `${r.step} ${r.target} ${r.status}`)).toEqual([
        '0 board sent',
        '0 sms:leaders sent',
        '0 teams:office pending',
        '1 board sent',
      ]);
      expect(rows[2]!.last_error).toContain('teams: HTTP 500');
      expect(sms.isDone()).toBe(true);
    } finally {
      deps = saved;
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });
});
