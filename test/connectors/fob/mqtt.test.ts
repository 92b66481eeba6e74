import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareGroup } from '../../../connectors/fob/mqtt/transport.ts';
import { startMqttFeed } from '../../../src/alarms/fob-feeds.ts';
import type { IngestDeps } from '../../../src/alarms/ingest-types.ts';
import { ingestCounters } from '../../../src/http/metrics.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { catalog } from '../../../src/queue/catalog.ts';
import { Producer } from '../../../src/queue/producer.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../../helpers/services.ts';
import { until } from '../../helpers/wait.ts';

const id = uniqueName('mqtt');
const schema = id;
const prefix = id;
const topicRoot = `doorstep-test/${id}`;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let publisher: MqttClient;
const log = createLogger({ level: 'silent' });
const registry = new Registry();

const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${topicRoot}/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
        - { deviceId: PS-0002, staffId: staff-18 }
`,
}).schools[0]!;
const transportConfig = school.fobs.transports[0]! as Extract<
  (typeof school.fobs.transports)[number],
  { kind: 'mqtt' }
>;

/** The school's feed, started (it connects in the background; `ready` says when subscribed). */
function transport(ingest: Omit<IngestDeps, 'counters'>) {
  return startMqttFeed({
    deps: { ...ingest, counters: ingestCounters(registry) },
    school,
    transport: transportConfig,
    log,
  });
}

function publish(payload: string | object, device = 'PS-0001') {
  return new Promise<void>((resolve, reject) =>
    publisher.publish(
      `${topicRoot}/fobs/${device}/events`,
      typeof payload === 'string' ? payload : JSON.stringify(payload),
      { qos: 1 },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

const sos = (n: number) => ({
  event_id: `mq-${n}`,
  device: { id: 'PS-0001' },
  type: 'SOS',
  occurred_at: '2025-11-18T10:02:00Z',
});

async function count(sql: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT (${sql})::int AS n`);
  return rows[0]!.n;
}

function reach(sql: string, n: number, ms = 15_000) {
  return until(async () => (await count(sql)) >= n, ms, `${sql} to reach ${n}`, 50);
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  publisher = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id.slice(0, 40)}-pub` });
});
afterAll(async () => {
  await publisher.endAsync();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('MQTT fob transport (real Mosquitto)', () => {
  it('stores every QoS 1 alarm once, with its escalation job; raises a body it cannot read from the topic’s device, and refuses an empty one, without looping', async () => {
    const t = await transport({ db, producer, prefix });
    await t.ready;
    for (let i = 0; i < 50; i++) await publish(sos(i));
    await publish(sos(0)); // the same device event again
    await publish('{"not": "a fob event"'); // cut short: raised, unverified (when in doubt, raise)
    await publish(''); // empty (how a retained message is cleared): refused
    await reach('SELECT count(*) FROM alarms', 51);
    await reach('SELECT count(*) FROM rejected_events', 1);
    // Every message, accepted or not, tells the board when the broker last sent anything.
    await reach('SELECT count(*) FROM ingest_status WHERE last_event_at IS NOT NULL', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await count('SELECT count(*) FROM alarms')).toBe(51);
    expect(await count(`SELECT count(*) FROM alarms WHERE staff_id = 'staff-17'`)).toBe(51);
    expect(
      await count(
        `SELECT count(*) FROM fob_events WHERE trust_issue LIKE '%the body is not JSON; raised as an SOS from the device its topic names%'`,
      ),
    ).toBe(1);
    const jobs = await producer.queueFor('escalate').getJobs(['waiting', 'delayed', 'active']);
    expect(jobs).toHaveLength(51);
    expect(await registry.getSingleMetricAsString('doorstep_fob_rejected_total')).toContain(
      `school="alpha",transport="mqtt"} 1`,
    );
    await t.stop();
    // Reconnecting with the same session: what was taken was acknowledged and does not come back.
    const again = await transport({ db, producer, prefix });
    await again.ready;
    await new Promise((r) => setTimeout(r, 500));
    expect(await count('SELECT count(*) FROM rejected_events')).toBe(1);
    expect(await count('SELECT count(*) FROM alarms')).toBe(51);
    await again.stop();
  });

  it('receives what was published while it was away (persistent session)', async () => {
    for (let i = 100; i < 120; i++) await publish(sos(i));
    const t = await transport({ db, producer, prefix });
    await t.ready;
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id LIKE 'mq-1__'`, 20);
    await t.stop();
  });

  it('does not acknowledge until the write succeeds: a failed write is redelivered and stored once', async () => {
    let failures = 0;
    const flaky: Db = {
      ...db,
      query: async (sql, params) => {
        if (/INSERT INTO fob_events|write_fob_/.test(sql) && failures < 6) {
          failures++;
          throw new Error('database unavailable (simulated)');
        }
        return db.query(sql, params);
      },
    };
    const t = await transport({ db: flaky, producer, prefix });
    await t.ready;
    await publish(sos(500));
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'mq-500'`, 1, 20_000);
    expect(failures).toBe(6);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      await count(
        `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'mq-500'`,
      ),
    ).toBe(1);
    // Doorstep dropped that connection itself: not reported as another client taking its session.
    expect(await count(`SELECT count(*) FROM ingest_status WHERE reason LIKE '%took over%'`)).toBe(0);
    await t.stop();
  }, 30_000);

  it('raises a real SOS whose event id a TEST pre-empted, and flags the conflict for the data manager', async () => {
    const t = await transport({ db, producer, prefix });
    await t.ready;
    const x = { event_id: 'pre-empted-1', device: { id: 'PS-0001' }, occurred_at: '2025-11-18T10:02:00Z' };
    await publish({ ...x, type: 'TEST' });
    await publish({ ...x, type: 'SOS' });
    await publish({ ...x, type: 'SOS' }); // an exact redelivery of the SOS: still one alarm
    await reach(
      `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'pre-empted-1'`,
      1,
    );
    await new Promise((r) => setTimeout(r, 300));
    const { rows } = await db.query(
      `SELECT e.type, e.id_conflict, a.id IS NOT NULL AS alarm FROM fob_events e LEFT JOIN alarms a ON a.fob_event_id = e.id
       WHERE e.vendor_event_id = 'pre-empted-1' ORDER BY e.id`,
    );
    expect(rows).toEqual([
      { type: 'test', id_conflict: false, alarm: false },
      { type: 'sos', id_conflict: true, alarm: true },
    ]);
    expect(await registry.getSingleMetricAsString('doorstep_fob_event_id_conflicts_total')).toContain(
      `school="alpha",transport="mqtt"} 1`,
    );
    await t.stop();
  });

  it('takes the device from the topic: a payload naming another device raises its alarm as the topic’s device, flagged; a check-in is refused', async () => {
    const t = await transport({ db, producer, prefix });
    await t.ready;
    const forged = (type: string, n: number) => ({
      event_id: `forged-${n}`,
      device: { id: 'PS-0002' },
      type,
      occurred_at: '2025-11-18T10:02:00Z',
    });
    await publish(forged('SOS', 1), 'SOMEONE-ELSE');
    await publish(forged('CHECK_IN', 2), 'SOMEONE-ELSE');
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'forged-1'`, 1);
    await reach(`SELECT count(*) FROM rejected_events WHERE reason LIKE 'not trusted:%'`, 1);
    const { rows } = await db.query(
      `SELECT a.device_id, a.staff_id, a.unknown_device, a.trust_issue IS NOT NULL AS flagged, e.claimed_device_id
       FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'forged-1'`,
    );
    expect(rows).toEqual([
      {
        device_id: 'SOMEONE-ELSE',
        staff_id: null,
        unknown_device: true,
        flagged: true,
        claimed_device_id: 'PS-0002',
      },
    ]);
    expect(await count(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'forged-2'`)).toBe(0);
    await t.stop();
  });

  it('a topic with an empty device level (which + still matches) vouches for no device: the SOS is raised flagged, a check-in refused', async () => {
    const t = await transport({ db, producer, prefix });
    await t.ready;
    const unbound = (type: string, n: number) => ({
      event_id: `unbound-${n}`,
      device: { id: 'PS-0001' },
      type,
      occurred_at: '2025-11-18T10:02:00Z',
    });
    await publish(unbound('SOS', 1), '');
    await publish(unbound('CHECK_IN', 2), '');
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'unbound-1'`, 1);
    await reach(`SELECT count(*) FROM rejected_events WHERE reason LIKE '%topic names no device%'`, 1);
    const { rows } = await db.query(
      `SELECT a.device_id, a.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
        WHERE e.vendor_event_id = 'unbound-1'`,
    );
    expect(rows).toEqual([
      { device_id: 'PS-0001', trust_issue: 'the topic names no device (its device level is empty)' },
    ]);
    expect(await count(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'unbound-2'`)).toBe(0);
    await t.stop();
  });

  it('a topic whose device level is kilobytes long vouches for no device: the SOS is raised (never a connection dropped and redelivered for ever)', async () => {
    const t = await transport({ db, producer, prefix });
    await t.ready;
    const level = randomBytes(3000).toString('base64url'); // ~4,000 characters, incompressible
    await publish(
      {
        event_id: 'long-level-1',
        device: { id: 'PS-0001' },
        type: 'SOS',
        occurred_at: '2025-11-18T10:02:00Z',
      },
      level,
    );
    await reach(
      `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'long-level-1'`,
      1,
    );
    const { rows } = await db.query<{ device_id: string; staff_id: string | null; trust_issue: string }>(
      `SELECT a.device_id, a.staff_id, a.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
        WHERE e.vendor_event_id = 'long-level-1'`,
    );
    expect(rows).toEqual([
      {
        device_id: 'PS-0001',
        staff_id: 'staff-17',
        trust_issue: expect.stringMatching(
          /^the topic names no usable device \(its device level is 4000 characters long/,
        ),
      },
    ]);
    await t.stop();
  });

  it('shows a session taken over by another client on the board at once, and its recovery', async () => {
    const t = await startMqttFeed({
      deps: { db, producer, prefix, publisher: conn },
      school,
      transport: transportConfig,
      log,
      takeoverQuietMs: 1000,
      // The thief's session ends with it (expiry 0), so Doorstep comes back to none: said as well.
      lostSessionShowMs: 1000,
    });
    await t.ready;
    const before = await count(`SELECT count(*) FROM board_events WHERE type = 'ingest.disconnected'`);
    const thief = await mqtt.connectAsync(TEST_MQTT_URL, {
      clientId: t.clientId,
      clean: false,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    await reach(`SELECT count(*) FROM board_events WHERE type = 'ingest.disconnected'`, before + 1, 30_000);
    // Said as a take-over (and, as Doorstep comes back to no session, as that too — in either order
    // of reading, so read from the board's events, not the row the later one overwrites).
    await until(async () => {
      const { rows } = await db.query<{ reason: string | null }>(
        `SELECT payload->>'reason' AS reason FROM board_events WHERE type = 'ingest.disconnected'`,
      );
      return rows.some((r) => r.reason?.includes('took over'));
    }, 30_000);
    // Doorstep takes its session back; once it has held, the board is told alarms arrive again.
    await reach(`SELECT count(*) FROM board_events WHERE type = 'ingest.restored'`, 1, 30_000);
    expect(await count(`SELECT count(*) FROM ingest_status WHERE state = 'up'`)).toBe(1);
    thief.end(true);
    await t.stop();
  }, 40_000);

  it('says on the board when it comes back to a broker that lost its session (what was published meanwhile is gone), for a while', async () => {
    const t = await startMqttFeed({
      deps: { db, producer, prefix, publisher: conn },
      school,
      transport: transportConfig,
      log,
      takeoverQuietMs: 500,
      lostSessionShowMs: 1500,
    });
    await t.ready;
    const eventsBefore = await count(`SELECT coalesce(max(id), 0) FROM board_events`);
    // A client that starts clean under Doorstep's id ends the session the broker kept (its queue with
    // it), then leaves: Doorstep reconnects to a broker with no session for it.
    const cleaner = await mqtt.connectAsync(TEST_MQTT_URL, {
      clientId: t.clientId,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 0 },
    });
    await cleaner.endAsync();
    // Read from the board's events: the take-over the clean start also is (the broker closes
    // Doorstep's connection for it) is written beside it, in either order, to the one status row.
    await until(async () => {
      const { rows } = await db.query<{ reason: string | null }>(
        `SELECT payload->>'reason' AS reason FROM board_events WHERE type = 'ingest.disconnected' AND id > $1`,
        [eventsBefore],
      );
      return rows.some((r) =>
        r.reason?.includes("the broker lost Doorstep's session: fob events sent while Doorstep was away"),
      );
    }, 30_000);
    // Shown for a while, then the feed is arriving again.
    await until(
      async () => (await count(`SELECT count(*) FROM ingest_status WHERE state = 'down'`)) === 0,
      30_000,
    );
    await t.stop();
  }, 70_000);

  it('shared subscriptions: an instance that is down holds back none of the alarms — the live one stores every one', async () => {
    const shared = {
      ...transportConfig,
      topics: [`${topicRoot}/shared/{device}/events`],
      clientId: `${id.slice(0, 40)}-sh`,
      shared: true,
      connections: 2,
      sessionExpirySeconds: 60,
    };
    // Two instances of two connections each, as `start` runs them (ingest-a and ingest-b).
    const instance = (name: string) =>
      Promise.all(
        [0, 1].map((c) =>
          startMqttFeed({
            deps: { db, producer, prefix, publisher: conn },
            school,
            transport: shared,
            log,
            instance: `${name}-c${c}`,
            shareGroup: shareGroup(name, 2),
          }),
        ),
      );
    const a = await instance('ingest-a');
    const b = await instance('ingest-b');
    await Promise.all([...a, ...b].map((t) => t.ready));
    // ingest-a goes down; its persistent sessions stay on the broker.
    await Promise.all(a.map((t) => t.stop()));
    for (let i = 0; i < 20; i++)
      await publisher.publishAsync(
        `${topicRoot}/shared/PS-0002/events`,
        JSON.stringify({ ...sos(i), event_id: `sh-${i}`, device: { id: 'PS-0002' } }),
        { qos: 1 },
      );
    await reach(
      `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id LIKE 'sh-%'`,
      20,
    );
    // ingest-a back: it is handed its copies, and each alarm is still stored once.
    const back = await instance('ingest-a');
    await Promise.all(back.map((t) => t.ready));
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      await count(
        `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id LIKE 'sh-%'`,
      ),
    ).toBe(20);
    await Promise.all([...back, ...b].map((t) => t.stop()));
    expect(shareGroup('ingest-a', 2)).not.toBe(shareGroup('ingest-b', 2));
    // A name a group cannot hold (a host name's dots, a slash) is its digest: one group, no failed start.
    expect(shareGroup('ingest-a.school.example', 2)).toMatch(/^doorstep-[0-9a-f]{16}-n2$/);
    expect(shareGroup('a/b', 1)).not.toContain('/');
  }, 40_000);

  it('generates a client id no one can guess when none is configured, and keeps it across restarts', async () => {
    const { clientId: _configured, ...rest } = transportConfig;
    const unnamed = { ...rest, topics: [`${topicRoot}/other/{device}/events`] };
    const start = () => startMqttFeed({ deps: { db, producer, prefix }, school, transport: unnamed, log });
    const a = await start();
    await a.ready;
    await a.stop();
    const b = await start();
    await b.ready;
    await b.stop();
    expect(a.clientId).toBe(b.clientId);
    expect(a.clientId).toMatch(/^doorstep-alpha-[0-9a-f]{32}$/);
  });

  // Last: its feed's alarms and status rows would otherwise be in the tests above.
  it('a gateway feed whose topics name no device (deviceBinding: none): an SOS it cut short, or one over maxBytes, is raised for an unknown device — one open alarm for the feed, not one per message — then acknowledged', async () => {
    const gwTopic = `${topicRoot}/gateway/events`;
    const gateway = configWith({
      school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${gwTopic}"], deviceBinding: none, clientId: "${id.slice(0, 40)}-gw" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
`,
    }).schools[0]!;
    const feed = () =>
      startMqttFeed({
        deps: { db, producer, prefix, counters: ingestCounters(registry) },
        school: gateway,
        transport: gateway.fobs.transports[0]! as typeof transportConfig,
        log,
      });
    const unknown = `SELECT count(*) FROM alarms WHERE device_id = '(unreadable device)' AND trust_issue LIKE '%MQTT feed whose topic names no device%'`;
    const folded = `SELECT count(*) FROM rejected_events WHERE reason LIKE '(body): the body is % bytes, over the 65536 an event may have; noted on open alarm %'`;
    const gw = (o: object) => publisher.publishAsync(gwTopic, JSON.stringify(o), { qos: 1 });
    const now = new Date().toISOString();
    // The board rows this feed adds are removed after (the tests below read the school's feed status).
    const keys = (await db.query<{ k: string }>('SELECT transport_key AS k FROM ingest_status')).rows.map(
      (r) => r.k,
    );
    let t = await feed();
    await t.ready;
    // Cut short by the gateway: raised (before, refused into rejected_events and PUBACKed).
    await publisher.publishAsync(
      gwTopic,
      `{"event_id":"gw-1","device":{"id":"PS-0001"},"type":"SOS","occurred_at":"${now}`,
      { qos: 1 },
    );
    await reach(unknown, 1);
    // Over maxBytes while that alarm is open: on its timeline, kept with the refused payloads.
    await gw({
      event_id: 'gw-2',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: now,
      message: 'x'.repeat(70_000),
    });
    await reach(folded, 1);
    // A readable one: raised for the device its payload names.
    await gw({ event_id: 'gw-3', device: { id: 'PS-0001' }, type: 'SOS', occurred_at: now });
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'gw-3'`, 1);
    await t.stop();
    // The same session again: nothing comes back (each was acknowledged after it was taken).
    t = await feed();
    await t.ready;
    await new Promise((r) => setTimeout(r, 500));
    await t.stop();
    await db.query('DELETE FROM ingest_status WHERE transport_key <> ALL($1)', [keys]);
    expect(await count(unknown)).toBe(1);
    expect(await count(folded)).toBe(1);
    expect(
      await count(
        `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'gw-3' AND a.staff_id = 'staff-17'`,
      ),
    ).toBe(1);
    const { rows } = await db.query<{ event: string }>(
      `SELECT t.event FROM alarm_timeline t JOIN alarms a ON a.id = t.alarm_id
        WHERE a.device_id = '(unreadable device)' AND t.event LIKE 'another message%'`,
    );
    expect(rows).toEqual([
      {
        event: expect.stringMatching(
          /^another message on the peoplesafe-style MQTT feed, on a topic that names no device, could not be read \(the body is \d+ bytes, over the 65536/,
        ),
      },
    ]);
  });
});
