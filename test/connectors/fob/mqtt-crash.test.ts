import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { startPrivateMosquitto } from '../../helpers/private-broker.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../../helpers/services.ts';
import { freePort, runCli, type Spawned, writeTempConfig } from '../../helpers/spawn.ts';

/**
 * The alarm path's promise, against a real (private) Mosquitto that never drops queued QoS 1
 * messages — the shared broker's default `max_queued_messages 1000` would drop alarms for a
 * consumer that is down, which is a broker setting, not something Doorstep can fix: QoS 1 alarms published while the ingest
 * process is SIGKILLed and restarted, or while Redis restarts, all arrive exactly once.
 */
const N = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  id: string;
  schema: string;
  config: string;
  db: Db;
  topic: string;
}

let brokerUrl = TEST_MQTT_URL;

async function setUp(redisUrl: string): Promise<Run> {
  const id = uniqueName('crash');
  const schema = id;
  const topic = `doorstep-test/${id}/fobs/PS-0001/events`;
  const { file } = writeTempConfig(`
trust: { id: t, name: T }
redis: { url: "${redisUrl}", prefix: ${id.replace(/_/g, '-')} }
store: { schema: ${schema} }
http: { port: ${await freePort()} }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: ./data/drop/crash-test }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      transports:
        - { kind: mqtt, url: "${brokerUrl}", topics: ["doorstep-test/${id}/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
      devices: [{ deviceId: PS-0001, staffId: staff-17 }]
`);
  const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  return { id, schema, config: file, db, topic };
}

async function counts(db: Db) {
  const { rows } = await db.query<{ events: number; alarms: number; distinct_ids: number }>(
    `SELECT (SELECT count(*) FROM fob_events)::int AS events, (SELECT count(*) FROM alarms)::int AS alarms,
            (SELECT count(DISTINCT vendor_event_id) FROM fob_events)::int AS distinct_ids`,
  );
  return rows[0]!;
}

/** Publishes at about 1,000 alarms/s, so the crashes land mid-stream. */
async function publishAll(publisher: MqttClient, topic: string, from: number, to: number) {
  const started = Date.now();
  for (let i = from; i < to; i++) {
    if (i % 50 === 0) await sleep(Math.max(0, i - from - (Date.now() - started)));
    await publisher.publishAsync(
      topic,
      JSON.stringify({
        event_id: `crash-${i}`,
        device: { id: 'PS-0001' },
        type: 'SOS',
        occurred_at: '2025-11-18T10:02:00Z',
      }),
      { qos: 1 },
    );
  }
}

async function waitForAll(db: Db, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    const c = await counts(db);
    if (c.events >= N) return c;
    if (Date.now() > end) throw new Error(`only ${c.events} of ${N} events arrived`);
    await sleep(200);
  }
}

/** The first start creates the broker session; from then on nothing published is lost. */
async function subscribed(p: Spawned, ms = 20_000) {
  const end = Date.now() + ms;
  while (!p.stdout().includes('"msg":"mqtt subscribed"')) {
    if (Date.now() > end) throw new Error(`ingest did not subscribe: ${p.stderr()}`);
    await sleep(50);
  }
}

/** Every alarm stored exactly once, and each one's escalation started (its step-0 job exists). */
async function expectEachAlarmOnce(run: Run, redisUrl: string, ms: number) {
  await waitForAll(run.db, ms);
  await sleep(500);
  expect(await counts(run.db)).toEqual({ events: N, alarms: N, distinct_ids: N });
  // An alarm whose ladder has not moved on must have its step-0 job waiting in Redis. (One that has
  // moved on ran it; completed jobs are trimmed to the newest 5,000 per queue, so their keys may go.)
  const redis = new Redis(redisUrl);
  const jobs = new Set(await redis.keys(`${run.id.replace(/_/g, '-')}:alarms:escalate-*-0`));
  redis.disconnect();
  const { rows } = await run.db.query<{ id: string; escalation_step: number }>(
    'SELECT id, escalation_step FROM alarms',
  );
  const started = rows.filter(
    (a) => a.escalation_step !== 0 || jobs.has(`${run.id.replace(/_/g, '-')}:alarms:escalate-${a.id}-0`),
  );
  expect(started).toHaveLength(N);
}

let publisher: MqttClient;
let broker: { url: string; stop: () => Promise<void> };
beforeAll(async () => {
  broker = await startPrivateMosquitto(await freePort());
  brokerUrl = broker.url;
  publisher = await mqtt.connectAsync(brokerUrl, { clientId: `${uniqueName('pub').slice(0, 40)}` });
});
afterAll(async () => {
  await publisher.endAsync();
  await broker.stop();
});

describe('alarms through crashes (real Mosquitto)', () => {
  it('5,000 QoS 1 alarms while the ingest process is SIGKILLed and restarted twice arrive exactly once', async () => {
    const run = await setUp(TEST_REDIS_URL);
    const env = { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'info' };
    let ingest: Spawned = runCli(['start', '--role', 'ingest', '--config', run.config], env);
    try {
      await subscribed(ingest);
      const publishing = publishAll(publisher, run.topic, 0, N);
      for (let k = 0; k < 2; k++) {
        await sleep(1500);
        ingest.child.kill('SIGKILL');
        await ingest.exited;
        await sleep(300);
        ingest = runCli(['start', '--role', 'ingest', '--config', run.config], env);
      }
      await publishing;
      await expectEachAlarmOnce(run, TEST_REDIS_URL, 90_000);
    } finally {
      ingest.child.kill('SIGTERM');
      await ingest.exited;
      await run.db.close();
      await dropSchema(run.schema);
      // The shared Redis keeps nothing on disk but everything in memory: this run's keys go with it.
      await dropRedisPrefix(new Redis(TEST_REDIS_URL), run.id.replace(/_/g, '-'));
    }
  }, 180_000);

  it('the same across a restart of a private Redis instance', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'doorstep-redis-'));
    const startRedis = () =>
      execFileSync('redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--daemonize',
        'yes',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--pidfile',
        join(dir, 'redis.pid'),
        '--logfile',
        join(dir, 'redis.log'),
      ]);
    startRedis();
    const redisUrl = `redis://127.0.0.1:${port}`;
    await sleep(300);
    const run = await setUp(redisUrl);
    const env = { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'info' };
    const ingest: Spawned = runCli(['start', '--role', 'ingest', '--config', run.config], env);
    try {
      await subscribed(ingest);
      const publishing = publishAll(publisher, run.topic, 0, N);
      await sleep(1500);
      execFileSync('redis-cli', ['-p', String(port), 'shutdown']);
      await sleep(1500);
      startRedis();
      await publishing;
      await expectEachAlarmOnce(run, redisUrl, 120_000);
    } finally {
      ingest.child.kill('SIGTERM');
      await ingest.exited;
      try {
        execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
      } catch {
        // already down
      }
      await run.db.close();
      await dropSchema(run.schema);
    }
  }, 240_000);
});
