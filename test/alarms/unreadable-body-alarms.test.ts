import { beforeAll, describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import type { catalog } from '../../src/queue/catalog.ts';
import type { Producer } from '../../src/queue/producer.ts';
import type { Db } from '../../src/store/db.ts';
import { configWith } from '../helpers/config.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * A body that cannot be read raises an SOS, one open at a time per device and feed. README: "the same
 * device, event id and content again (an MQTT or webhook redelivery): a duplicate: nothing new is
 * written; the alarm's escalation is made sure of". A Redis blip between the durable write and the
 * escalate job's enqueue leaves the message unacknowledged so that its redelivery queues the job —
 * for an unreadable body too, whose redelivery is answered by the open-alarm lookup.
 */
const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`;
const q = storeAndQueue('unreadable_body');
let db: Db;
let producer: Producer<typeof catalog>;
let prefix: string;
beforeAll(() => {
  ({ db, producer, prefix } = q);
});
const school = configWith({
  env: { S: SECRET },
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
        - { kind: webhook, profile: peoplesafe-style, secret: "\${S}" }
        - { kind: mqtt, url: "mqtt://127.0.0.1:1884", topics: ["doorstep/alpha/gateway/events"], deviceBinding: none, profile: blackline }
      devices: [{ deviceId: RD-1, staffId: s-1 }, { deviceId: RD-2, staffId: s-2 }]
`,
}).schools[0]!;
const mqttT = school.fobs.transports[0]!;
const hookT = school.fobs.transports[1]!;
/** A gateway's feed whose topics name no device (`deviceBinding: none`). */
const gatewayT = school.fobs.transports[2]!;

/** The producer with Redis away for its enqueues (the write itself succeeds). */
function redisDown(): Producer<typeof catalog> {
  const p = Object.create(producer) as Producer<typeof catalog>;
  p.enqueueBulk = async () => {
    throw new Error('Redis: connection refused');
  };
  p.enqueue = async () => {
    throw new Error('Redis: connection refused');
  };
  return p;
}

const firstJob = (alarmId: string) => producer.queueFor('escalate').getJob(`escalate-${alarmId}-0`);
const alarmOf = async (device: string) =>
  (
    await db.query<{ id: string }>(
      `SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.device_id = $1 ORDER BY a.id DESC LIMIT 1`,
      [device],
    )
  ).rows[0]?.id;

describe('a redelivery after Redis failed the first enqueue', () => {
  it('a readable SOS redelivered queues its escalation', async () => {
    const raw = Buffer.from(
      JSON.stringify({
        event_id: 'ok-1',
        device: { id: 'RD-2' },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
    );
    const at = {
      receivedAt: new Date(),
      source: 'doorstep/alpha/fobs/RD-2/events',
      deviceId: 'RD-2',
      signature: null,
    };
    await expect(
      acceptFobPayload({ db, producer: redisDown(), prefix }, school, mqttT, raw, at),
    ).rejects.toThrow();
    const again = await acceptFobPayload({ db, producer, prefix }, school, mqttT, raw, at);
    expect(again).toMatchObject({ outcome: 'duplicate' });
    expect(await firstJob(String((again as { alarmId: string }).alarmId))).toBeDefined();
  });

  it('MQTT: an unreadable-body SOS redelivered (same bytes, seconds later) queues its escalation', async () => {
    const raw = Buffer.from('\x82\xa3SOS\x01'); // a gateway's binary SOS no profile reads
    const t0 = new Date('2026-12-03T10:00:10Z');
    const at = {
      receivedAt: t0,
      source: 'doorstep/alpha/fobs/RD-1/events',
      deviceId: 'RD-1',
      signature: null,
    };
    // First delivery: the alarm is written, the escalate job cannot be queued: not acknowledged.
    await expect(
      acceptFobPayload({ db, producer: redisDown(), prefix }, school, mqttT, raw, at),
    ).rejects.toThrow();
    const alarmId = await alarmOf('RD-1');
    expect(alarmId).toBeDefined();
    // The broker redelivers on reconnect (Redis is back).
    const again = await acceptFobPayload({ db, producer, prefix }, school, mqttT, raw, {
      ...at,
      receivedAt: new Date(t0.getTime() + 3_000),
    });
    expect(again).toMatchObject({ outcome: 'duplicate', alarmId });
    // The alarm's ladder must be started by the redelivery (as for any other duplicate).
    expect(await firstJob(alarmId!)).toBeDefined();
    // Another unreadable message of the device (a heartbeat 30 s on) goes on its timeline even while
    // Redis is away: folding it in needs no queue.
    const other = await acceptFobPayload(
      { db, producer: redisDown(), prefix },
      school,
      mqttT,
      Buffer.from('\x82\xa3HB\x02'),
      { ...at, receivedAt: new Date(t0.getTime() + 30_000) },
    );
    expect(other).toMatchObject({ outcome: 'duplicate', alarmId });
  });

  it('webhook: a verified unreadable body retried by its sender (same webhook-id) queues its escalation', async () => {
    const raw = Buffer.from('<alert type="SOS" device="RD-1"/>');
    const at = { receivedAt: new Date(), source: 'msg_retry_1', deviceId: null, signature: null };
    await expect(
      acceptFobPayload({ db, producer: redisDown(), prefix }, school, hookT, raw, at),
    ).rejects.toThrow();
    const alarmId = await alarmOf('(unreadable device)');
    expect(alarmId).toBeDefined();
    const again = await acceptFobPayload({ db, producer, prefix }, school, hookT, raw, at);
    expect(again).toMatchObject({ outcome: 'duplicate', alarmId });
    expect(await firstJob(alarmId!)).toBeDefined();
  });

  it('webhook: the sender\'s retry of the same delivery (same webhook-id) is not "another message that could not be read"', async () => {
    const raw = Buffer.from('<alert type="FALL" device="RD-9"/>');
    const at = { receivedAt: new Date(), source: 'msg_retry_2', deviceId: null, signature: null };
    await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
    await expect(
      acceptFobPayload({ db, producer: redisDown(), prefix }, school, hookT, raw, at),
    ).rejects.toThrow();
    const alarmId = await alarmOf('(unreadable device)');
    await acceptFobPayload({ db, producer, prefix }, school, hookT, raw, at);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another message%'`,
      [alarmId],
    );
    expect(rows[0]!.n).toBe(0);
  });

  it("a webhook body that cannot be read while a worker's readable SOS naming no readable device is taken is a new alarm, never folded into it", async () => {
    await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
    const deps = { db, producer, prefix };
    // Worker 1: readable JSON, its device given as an object the profile cannot read as an id.
    const first = await acceptFobPayload(
      deps,
      school,
      hookT,
      Buffer.from(
        JSON.stringify({
          event_id: 'w1-1',
          device: { id: { serial: 'PS-7' } },
          type: 'SOS',
          occurred_at: new Date().toISOString(),
        }),
      ),
      { receivedAt: new Date(), source: 'msg_w1', deviceId: null, signature: null },
    );
    expect(first).toMatchObject({ outcome: 'accepted' });
    const firstId = (first as { alarmId: string }).alarmId;
    await db.query(`UPDATE alarms SET status = 'acknowledged', acknowledged_at = now() WHERE id = $1`, [
      firstId,
    ]);
    // Worker 2 presses; the vendor's message this time is cut short (not JSON).
    const second = await acceptFobPayload(
      deps,
      school,
      hookT,
      Buffer.from('{"event_id":"w2-1","device":{"id":"PS-0001"},"type":"SOS","occ'),
      { receivedAt: new Date(), source: 'msg_w2', deviceId: null, signature: null },
    );
    expect(second).toMatchObject({ outcome: 'accepted' });
  });
});

describe('one unreadable-body alarm at a time: only while it is still paging', () => {
  const deps = () => ({ db, producer, prefix });
  const acknowledge = (id: string) =>
    db.query(`UPDATE alarms SET status = 'acknowledged', acknowledged_at = now() WHERE id = $1`, [id]);
  const idOf = (o: unknown) => (o as { alarmId: string }).alarmId;

  for (const [name, transport, arrival] of [
    [
      'MQTT',
      () => mqttT,
      (t: Date, _n: number) => ({
        receivedAt: t,
        source: 'doorstep/alpha/fobs/RD-2/events',
        deviceId: 'RD-2',
        signature: null,
      }),
    ],
    [
      'webhook',
      () => hookT,
      (t: Date, n: number) => ({ receivedAt: t, source: `msg_ack_${n}`, deviceId: null, signature: null }),
    ],
    [
      'MQTT, a gateway feed whose topics name no device',
      () => gatewayT,
      (t: Date, _n: number) => ({
        receivedAt: t,
        source: 'doorstep/alpha/gateway/events',
        deviceId: null,
        signature: null,
      }),
    ],
  ] as const)
    it(`${name}: another unreadable message folds into the open alarm, but raises a new one once that alarm is acknowledged`, async () => {
      await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
      const t0 = new Date('2026-12-04T09:00:00Z');
      const at = (minutes: number, n: number) => arrival(new Date(t0.getTime() + minutes * 60_000), n);
      // Worker A's SOS in a format the profile cannot read: raised.
      const a = await acceptFobPayload(deps(), school, transport(), Buffer.from('SOS from A'), at(0, 1));
      expect(a).toMatchObject({ outcome: 'accepted' });
      // While it is open (paging), another unreadable message is noted on it: no second alarm.
      const flood = await acceptFobPayload(deps(), school, transport(), Buffer.from('\x82HB'), at(1, 2));
      expect(flood).toEqual({ outcome: 'duplicate', alarmId: idOf(a) });
      // The office acknowledges A: its paging stops. A's own message again (a redelivery, the
      // sender's retry) is still A's alarm, not a second one.
      await acknowledge(idOf(a));
      const again = await acceptFobPayload(deps(), school, transport(), Buffer.from('SOS from A'), at(0, 1));
      expect(again).toMatchObject({ outcome: 'duplicate', alarmId: idOf(a) });
      // Worker B's SOS in the same format ten minutes later must page: a new alarm.
      const b = await acceptFobPayload(deps(), school, transport(), Buffer.from('SOS from B'), at(10, 3));
      expect(b).toMatchObject({ outcome: 'accepted' });
      expect(idOf(b)).not.toBe(idOf(a));
      expect(await firstJob(idOf(b))).toBeDefined();
      // B's alarm is now the open one: the next unreadable message folds into it, not into A.
      const next = await acceptFobPayload(deps(), school, transport(), Buffer.from('\x82HB2'), at(11, 4));
      expect(next).toEqual({ outcome: 'duplicate', alarmId: idOf(b) });
    });
});

describe('MQTT with no device vouched for (when in doubt, raise)', () => {
  const deps = () => ({ db, producer, prefix });
  const idOf = (o: unknown) => (o as { alarmId: string }).alarmId;
  const raised = async (alarmId: string) =>
    (
      await db.query<{ device_id: string; trust_issue: string }>(
        `SELECT a.device_id, a.trust_issue FROM alarms a WHERE a.id = $1`,
        [alarmId],
      )
    ).rows[0]!;

  it('a gateway feed (deviceBinding: none): an SOS it cut short, or one over maxBytes, is raised for an unknown device — never refused and acknowledged', async () => {
    const at = {
      receivedAt: new Date('2026-12-05T09:00:30Z'),
      source: 'doorstep/alpha/gateway/events',
      deviceId: null,
      signature: null,
    };
    const now = at.receivedAt.toISOString();
    for (const body of [
      `{"alarmId":"gw-1","deviceId":"RD-1","alarmType":"SOS","timestamp":"${now}`,
      JSON.stringify({
        alarmId: 'gw-2',
        deviceId: 'RD-1',
        alarmType: 'SOS',
        timestamp: now,
        note: 'x'.repeat(70_000),
      }),
    ]) {
      await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
      const r = await acceptFobPayload(deps(), school, gatewayT, Buffer.from(body), at);
      expect(r).toMatchObject({ outcome: 'accepted', trusted: false });
      const row = await raised(idOf(r));
      expect(row.device_id).toBe('(unreadable device)');
      expect(row.trust_issue).toMatch(
        /^the payload could not be read in full: \(body\) \(the body (is not JSON|is \d+ bytes, over the 65536 an event may have); raised as an SOS: a message on the blackline MQTT feed whose topic names no device, and none Doorstep can read\)$/,
      );
      expect(await firstJob(idOf(r))).toBeDefined();
    }
  });

  it('a topic whose device level is empty: a body that cannot be read is raised for an unknown device, flagged as naming none', async () => {
    await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
    const r = await acceptFobPayload(deps(), school, mqttT, Buffer.from('\x82\xa3SOS\x03'), {
      receivedAt: new Date('2026-12-05T10:00:30Z'),
      source: 'doorstep/alpha/fobs//events',
      deviceId: null,
      deviceMissing: true,
      signature: null,
    });
    expect(r).toMatchObject({ outcome: 'accepted', trusted: false });
    const row = await raised(idOf(r));
    expect(row.device_id).toBe('(unreadable device)');
    expect(row.trust_issue).toContain('the topic names no device (its device level is empty)');
  });
});
