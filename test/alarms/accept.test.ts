import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MqttFobTransport } from '../../connectors/fob/mqtt/transport.ts';
import { PeoplesafeStyleProfile, signDevicePayload } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../helpers/services.ts';

const schema = uniqueName('accept');
const prefix = uniqueName('accept');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
`,
}).schools[0]!;
const transport = school.fobs.transports[0]!;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('a payload that is refused', () => {
  it('is kept only up to a bound (with its length), never whole', async () => {
    const junk = Buffer.alloc(1_048_576, 'x');
    const deps = { db, producer, prefix };
    const at = {
      receivedAt: new Date('2026-11-23T08:00:30Z'),
      source: 'doorstep/alpha/fobs//events',
      deviceId: null,
      deviceMissing: true,
      signature: null,
    };
    // A topic that names no device: raised for an unknown device (the next row); kept, its first 4 KiB.
    const first = await acceptFobPayload(deps, school, transport, junk, at);
    expect(first).toMatchObject({ outcome: 'accepted', trusted: false });
    // Another while that alarm is open: noted on it, and the body kept with the refused ones.
    const r = await acceptFobPayload(deps, school, transport, junk, {
      ...at,
      receivedAt: new Date(at.receivedAt.getTime() + 300_000),
    });
    expect(r).toEqual({ outcome: 'duplicate', alarmId: (first as { alarmId: string }).alarmId });
    const { rows } = await db.query<{ n: number; raw_bytes: number; reason: string }>(
      'SELECT length(raw) AS n, raw_bytes, reason FROM rejected_events',
    );
    expect(rows).toEqual([
      {
        n: 4096,
        raw_bytes: 1_048_576,
        reason: `(body): the body is 1048576 bytes, over the 65536 an event may have; noted on open alarm ${(first as { alarmId: string }).alarmId}`,
      },
    ]);
    const { rows: kept } = await db.query<{ n: number }>(
      `SELECT length(e.raw) AS n FROM fob_events e JOIN alarms a ON a.fob_event_id = e.id WHERE a.id = $1`,
      [(first as { alarmId: string }).alarmId],
    );
    expect(kept).toEqual([{ n: 4096 }]);
    await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
  });
});

describe('a body that cannot be read, on the topic of a device (when in doubt, raise)', () => {
  const deps = () => ({ db, producer, prefix });
  const on = (device: string) => ({
    receivedAt: new Date(),
    source: `doorstep/alpha/fobs/${device}/events`,
    deviceId: device,
    signature: null,
  });
  const raisedFor = async (alarmId: string) =>
    (
      await db.query<{ device_id: string; type: string; trust_issue: string; raw: string }>(
        `SELECT a.device_id, a.type, e.trust_issue, e.raw FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1`,
        [alarmId],
      )
    ).rows[0]!;

  it('not JSON, cut short, not an object, over the size bound: an SOS from that device, unverified, the reason named', async () => {
    for (const [device, body, why] of [
      ['UB-1', '{"event_id": "x", "type": "SOS"', 'the body is not JSON'],
      ['UB-2', '42', 'expected a JSON object'],
      ['UB-3', 'x'.repeat(200_000), 'the body is 200000 bytes, over the 65536 an event may have'],
      // A batch over the bound is not parsed either.
      [
        'UB-6',
        `[${'{"a":1},'.repeat(10_000)}{}]`,
        'the body is 80004 bytes, over the 65536 an event may have',
      ],
    ] as const) {
      // One fixed instant (mid-window): the copies below are told apart by their window alone.
      const at = { ...on(device), receivedAt: new Date('2026-11-23T10:00:30Z') };
      const r = await acceptFobPayload(deps(), school, transport, Buffer.from(body), at);
      expect(r, device).toMatchObject({ outcome: 'accepted', trusted: false });
      const row = await raisedFor((r as { alarmId: string }).alarmId);
      expect(row).toMatchObject({ device_id: device, type: 'sos' });
      expect(row.trust_issue).toContain(`${why}; raised as an SOS from the device its topic names`);
      // Kept as a refused body is: its first 4,096 bytes.
      expect(row.raw.length).toBeLessThanOrEqual(4096);
      // The broker redelivering the same bytes (another instance's copy) is the same alarm.
      expect(
        await acceptFobPayload(deps(), school, transport, Buffer.from(body), {
          ...at,
          receivedAt: new Date(at.receivedAt.getTime() + 5),
        }),
      ).toMatchObject({
        outcome: 'duplicate',
        alarmId: (r as { alarmId: string }).alarmId,
      });
      // The same bytes again minutes later (a device with no counter, pressed again) while its alarm
      // is open: on that alarm's timeline, not a second alarm; once it is resolved, a new alarm.
      const id = (r as { alarmId: string }).alarmId;
      const later = { ...at, receivedAt: new Date(at.receivedAt.getTime() + 300_000) };
      expect(await acceptFobPayload(deps(), school, transport, Buffer.from(body), later)).toMatchObject({
        outcome: 'duplicate',
        alarmId: id,
      });
      await db.query(
        `UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm' WHERE id = $1`,
        [id],
      );
      const after = await acceptFobPayload(deps(), school, transport, Buffer.from(body), {
        ...later,
        receivedAt: new Date(later.receivedAt.getTime() + 300_000),
      });
      expect(after).toMatchObject({ outcome: 'accepted' });
      expect((after as { alarmId: string }).alarmId).not.toBe(id);
    }
  });

  it('a gateway whose heartbeats can no longer be read raises one alarm per device, not one per message — and a real SOS beside it is its own', async () => {
    const t0 = Date.parse('2026-11-23T11:00:00Z');
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await acceptFobPayload(deps(), school, transport, Buffer.from(`\x82\xa1hb\x01seq=${i}`), {
        ...on('HB-1'),
        receivedAt: new Date(t0 + i * 30_000),
      });
      ids.add((r as { alarmId: string }).alarmId);
    }
    expect(ids.size).toBe(1);
    const [alarmId] = [...ids];
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another message on device HB-1''s topic could not be read%'`,
      [alarmId],
    );
    expect(rows[0]!.n).toBe(19);
    // Another device's unreadable message is its own alarm; so is a real SOS from HB-1 itself.
    const other = await acceptFobPayload(deps(), school, transport, Buffer.from('\x82junk'), on('HB-2'));
    expect((other as { alarmId: string }).alarmId).not.toBe(alarmId);
    const sos = await acceptFobPayload(
      deps(),
      school,
      transport,
      Buffer.from(
        JSON.stringify({
          event_id: 'real-1',
          device: { id: 'HB-1' },
          type: 'SOS',
          occurred_at: new Date().toISOString(),
        }),
      ),
      on('HB-1'),
    );
    expect(sos).toMatchObject({ outcome: 'accepted' });
    expect((sos as { alarmId: string }).alarmId).not.toBe(alarmId);
  });

  it('an empty body (how a retained message is cleared) is refused, not raised', async () => {
    expect(await acceptFobPayload(deps(), school, transport, Buffer.alloc(0), on('UB-4'))).toMatchObject({
      outcome: 'invalid',
    });
  });

  it('a byte-order mark, JSON encoded twice, and a batch (an array) are read as the events they hold', async () => {
    const ev = (id: string) => ({
      event_id: id,
      device: { id: 'UB-5' },
      type: 'SOS',
      occurred_at: new Date().toISOString(),
    });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(ev('bom-1')))]);
    const twice = Buffer.from(JSON.stringify(JSON.stringify(ev('twice-1'))));
    // A batch with an item that is no event: the real ones are still taken.
    const batch = Buffer.from(JSON.stringify([ev('batch-1'), 7, ev('batch-2')]));
    for (const body of [bom, twice, batch])
      expect(await acceptFobPayload(deps(), school, transport, body, on('UB-5'))).toMatchObject({
        outcome: 'accepted',
        trusted: true,
      });
    const { rows } = await db.query<{ id: string }>(
      `SELECT e.vendor_event_id AS id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
       WHERE a.device_id = 'UB-5' ORDER BY 1`,
    );
    expect(rows.map((r) => r.id)).toEqual(['batch-1', 'bom-1', 'twice-1']);
    // One message pages a device's ladder once: the batch's further alarms of UB-5 — the stray item
    // on its topic, itself raised as an unverified SOS (when in doubt, raise), and batch-2 — are
    // noted on batch-1's alarm, in the order they came.
    const { rows: notes } = await db.query<{ event: string }>(
      `SELECT t.event FROM alarm_timeline t JOIN alarms a ON a.id = t.alarm_id JOIN fob_events e ON e.id = a.fob_event_id
       WHERE e.vendor_event_id = 'batch-1' AND t.event LIKE 'another %' ORDER BY t.id`,
    );
    expect(notes.map((n) => n.event)).toEqual([
      expect.stringMatching(/^another sos from device UB-5 came in the same message \(event unreadable-/),
      expect.stringMatching(/^another sos from device UB-5 came in the same message \(event batch-2,/),
    ]);
  });
});

const arrival = (device = 'PS-1') => ({
  receivedAt: new Date(),
  source: `doorstep/alpha/fobs/${device}/events`,
  deviceId: device,
  signature: null,
});
const payload = (o: Record<string, unknown>) =>
  Buffer.from(
    JSON.stringify({
      event_id: 'e-1',
      device: { id: 'PS-1' },
      type: 'SOS',
      occurred_at: new Date().toISOString(),
      ...o,
    }),
  );

describe('a payload the database could not store as sent', () => {
  it('NUL and lone surrogates anywhere: the SOS is raised and the check-in stored, first time', async () => {
    const sos = await acceptFobPayload(
      { db, producer, prefix },
      school,
      transport,
      payload({ event_id: 'nul-\ud800-1', message: 'he\u0000lp', battery: 50 }),
      arrival(),
    );
    expect(sos).toMatchObject({ outcome: 'accepted', trusted: true });
    const checkIn = await acceptFobPayload(
      { db, producer, prefix },
      school,
      transport,
      payload({ event_id: 'nul-2', type: 'CHECK_IN', message: '\u0000' }),
      arrival(),
    );
    expect(checkIn).toMatchObject({ outcome: 'accepted' });
    const { rows } = await db.query<{ vendor_event_id: string; message: string; alarm: boolean }>(
      `SELECT e.vendor_event_id, e.message, a.id IS NOT NULL AS alarm
         FROM fob_events e LEFT JOIN alarms a ON a.fob_event_id = e.id
        WHERE e.vendor_event_id LIKE 'nul-%' ORDER BY e.id`,
    );
    expect(rows).toEqual([
      { vendor_event_id: 'nul-\ufffd-1', message: 'help', alarm: true },
      { vendor_event_id: 'nul-2', message: '', alarm: false },
    ]);
  });

  it('an SOS whose battery and time cannot be read is raised, flagged with both', async () => {
    const r = await acceptFobPayload(
      { db, producer, prefix },
      school,
      transport,
      payload({ event_id: 'bad-fields', battery: '82', occurred_at: 1763460120000 }),
      arrival(),
    );
    expect(r).toMatchObject({ outcome: 'accepted', trusted: false });
    const { rows } = await db.query<{ trust_issue: string; battery_percent: number | null }>(
      `SELECT e.trust_issue, e.battery_percent FROM fob_events e JOIN alarms a ON a.fob_event_id = e.id
        WHERE e.vendor_event_id = 'bad-fields'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.battery_percent).toBeNull();
    expect(rows[0]!.trust_issue).toMatch(/batteryPercent .*occurredAt/);
  });

  it('an SOS raised at its received time (its own unreadable) is one alarm however often it is redelivered', async () => {
    const deps = { db, producer, prefix };
    // The device's own time is in the bytes (no zone; epoch ms): a new press under a restarted counter
    // already differs, so only redeliveries repeat them — however late: the broker's after the ingest
    // was down 10 minutes (its PUBACK lost), another instance's copy either side of a 2-minute
    // boundary, one after a Redis outage hours on.
    // (Near its receipt: a time a month or more away is a clock that reset, which tells no press from
    // another — its window is its identity, as for a payload with no time.)
    for (const [id, time] of [
      ['bad-time', '2026-11-23T09:01:50'],
      ['bad-time-ms', Date.parse('2026-11-23T09:01:50Z')],
    ] as const) {
      const body = payload({ event_id: id, occurred_at: time });
      const at = new Date('2026-11-23T09:01:59.995Z');
      const when = (ms: number) => ({ ...arrival(), receivedAt: new Date(at.getTime() + ms) });
      const first = await acceptFobPayload(deps, school, transport, body, when(0));
      expect(first, id).toMatchObject({ outcome: 'accepted', trusted: false });
      for (const later of [10, 5, 10 * 60_000, 6 * 3_600_000, 3 * 86_400_000])
        expect(
          await acceptFobPayload(deps, school, transport, body, when(later)),
          `${id} +${later} ms`,
        ).toEqual({
          outcome: 'duplicate',
          alarmId: (first as { alarmId: string }).alarmId,
        });
    }
    // Over a webhook too: the vendor's retry under a new delivery id is the same alarm.
    const hooked = configWith({
      env: { FOB_SECRET: `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}` },
      school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
`,
    }).schools[0]!;
    const hook = hooked.fobs.transports[0]!;
    const body = payload({
      event_id: 'bad-time-hook',
      device: { id: 'PS-9' },
      // Now, as a device without a zone writes it.
      occurred_at: new Date().toISOString().slice(0, 19),
    });
    const via = (webhookId: string) => ({
      receivedAt: new Date(),
      source: webhookId,
      deviceId: null,
      signature: null,
    });
    const first = await acceptFobPayload(deps, hooked, hook, body, via('msg_bt1'));
    expect(first).toMatchObject({ outcome: 'accepted' });
    expect(await acceptFobPayload(deps, hooked, hook, body, via('msg_bt2'))).toEqual({
      outcome: 'duplicate',
      alarmId: (first as { alarmId: string }).alarmId,
    });
  });

  it('two alarms under one event id, each with a time that cannot be read: both raised (the second an id conflict)', async () => {
    const deps = { db, producer, prefix };
    const a = payload({ event_id: 'reused-bad-time', occurred_at: '2025-11-18T10:02:00' });
    const b = payload({ event_id: 'reused-bad-time', occurred_at: '2025-11-18T11:30:00' });
    expect(await acceptFobPayload(deps, school, transport, a, arrival())).toMatchObject({
      outcome: 'accepted',
    });
    expect(await acceptFobPayload(deps, school, transport, b, arrival())).toMatchObject({
      outcome: 'accepted',
      idConflict: true,
    });
  });

  it('an SOS with an event id but no time at all, its id again days later (a fob whose counter restarted): raised again, an id conflict — never a "duplicate"', async () => {
    const deps = { db, producer, prefix };
    const at = new Date('2026-03-02T09:00:30Z');
    const daysLater = new Date('2026-03-05T14:30:30Z');
    const when = (d: Date) => ({ ...arrival('PS-7'), receivedAt: d });
    const idOf = (o: unknown) => (o as { alarmId: string }).alarmId;
    // No time field, a null one, one with no time in it, and a clock not set (0, a zero date, the
    // epoch with no zone): the same bytes for every press.
    for (const [id, time] of [
      ['1', {}],
      ['2', { occurred_at: null }],
      ['3', { occurred_at: 'now' }],
      ['4', { occurred_at: 0 }],
      ['5', { occurred_at: '0000-00-00 00:00:00' }],
      ['6', { occurred_at: '1970-01-01T00:00:00' }],
    ] as const) {
      const body = Buffer.from(
        JSON.stringify({ event_id: id, device: { id: 'PS-7' }, type: 'SOS', ...time }),
      );
      const first = await acceptFobPayload(deps, school, transport, body, when(at));
      expect(first, id).toMatchObject({ outcome: 'accepted', trusted: false });
      // The broker's redelivery (another instance's copy), moments later: the same alarm.
      expect(await acceptFobPayload(deps, school, transport, body, when(new Date(at.getTime() + 5)))).toEqual(
        { outcome: 'duplicate', alarmId: idOf(first) },
      );
      await db.query(
        `UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm' WHERE id = $1`,
        [idOf(first)],
      );
      // Days later the same bytes (the counter restarted after a battery swap): a new press, paged.
      const again = await acceptFobPayload(deps, school, transport, body, when(daysLater));
      expect(again, id).toMatchObject({ outcome: 'accepted', idConflict: true });
      expect(idOf(again)).not.toBe(idOf(first));
      expect(await producer.queueFor('escalate').getJob(`escalate-${idOf(again)}-0`)).toBeDefined();
    }
    // Over a webhook what tells a redelivery apart is its delivery id: the sender's retry (the same
    // webhook-id) is the same alarm, another delivery of the same bytes a new one.
    const hooked = configWith({
      env: { FOB_SECRET: `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}` },
      school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
`,
    }).schools[0]!;
    const hook = hooked.fobs.transports[0]!;
    const body = Buffer.from(JSON.stringify({ event_id: '1', device: { id: 'PS-8' }, type: 'SOS' }));
    const via = (webhookId: string, d: Date) => ({
      receivedAt: d,
      source: webhookId,
      deviceId: null,
      signature: null,
    });
    const first = await acceptFobPayload(deps, hooked, hook, body, via('msg_t1', at));
    const retry = await acceptFobPayload(
      deps,
      hooked,
      hook,
      body,
      via('msg_t1', new Date(at.getTime() + 60_000)),
    );
    const later = await acceptFobPayload(deps, hooked, hook, body, via('msg_t2', daysLater));
    expect(first).toMatchObject({ outcome: 'accepted' });
    expect(retry).toEqual({ outcome: 'duplicate', alarmId: idOf(first) });
    expect(later).toMatchObject({ outcome: 'accepted', idConflict: true });
  });

  describe('one press carried signed by one transport and unsigned by another', () => {
    const KEY = 'a-per-device-signing-key-long';
    const keyed = configWith({
      env: {
        KEY,
        FOB_SECRET: `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`,
      },
      school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
      devices:
        - { deviceId: PS-0042, staffId: staff-42, signingKey: "\${KEY}" }
`,
    }).schools[0]!;
    const [mq, hook] = keyed.fobs.transports as [typeof transport, typeof transport];
    const deps = () => ({ db, producer, prefix });
    const idOf = (o: unknown) => (o as { alarmId: string }).alarmId;
    const press = (id: string) =>
      Buffer.from(
        JSON.stringify({
          event_id: id,
          device: { id: 'PS-0042' },
          type: 'SOS',
          occurred_at: new Date().toISOString(),
        }),
      );
    /** Signed over MQTT (the user property), as the gateway publishes it. */
    const signedOver = (body: Buffer) =>
      acceptFobPayload(deps(), keyed, mq, body, {
        ...arrival('PS-0042'),
        signature: signDevicePayload(KEY, body),
      });
    /** Unsigned, as the vendor's webhook relay (or a forger on the device's topic) carries it. */
    const unsignedOver = (body: Buffer, webhookId = `msg_${randomBytes(4).toString('hex')}`) =>
      acceptFobPayload(deps(), keyed, hook, body, {
        receivedAt: new Date(),
        source: webhookId,
        deviceId: null,
        signature: null,
      });
    const alarm = async (id: string) =>
      (
        await db.query<{ trust_issue: string | null; event_issue: string | null; n: number }>(
          `SELECT a.trust_issue, e.trust_issue AS event_issue,
                  (SELECT count(*)::int FROM alarms x JOIN fob_events y ON y.id = x.fob_event_id
                    WHERE y.vendor_event_id = e.vendor_event_id) AS n
             FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1`,
          [id],
        )
      ).rows[0]!;
    const timeline = async (id: string) =>
      (
        await db.query<{ event: string }>(
          'SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY id',
          [id],
        )
      ).rows.map((r) => r.event);

    it('signed over MQTT first, the relay’s unsigned copy after: one alarm, the copy a duplicate', async () => {
      const body = press('ps-0042-000200');
      const viaMqtt = await signedOver(body);
      expect(viaMqtt).toMatchObject({ outcome: 'accepted', trusted: true, idConflict: false });
      expect(await unsignedOver(body)).toEqual({ outcome: 'duplicate', alarmId: idOf(viaMqtt) });
      expect(await alarm(idOf(viaMqtt))).toEqual({ trust_issue: null, event_issue: null, n: 1 });
    });

    it('the unsigned copy first, the signed press while its alarm stands (open, or acknowledged): one alarm, verified — said on its timeline and the board', async () => {
      for (const [id, status] of [
        ['ps-0042-000201', 'open'],
        ['ps-0042-000202', 'acknowledged'],
      ] as const) {
        const body = press(id);
        const copy = await unsignedOver(body);
        expect(copy, id).toMatchObject({ outcome: 'accepted', trusted: false });
        expect((await alarm(idOf(copy))).trust_issue).toMatch(/signature is missing/);
        if (status === 'acknowledged')
          await db.query(`UPDATE alarms SET status = 'acknowledged', acknowledged_at = now() WHERE id = $1`, [
            idOf(copy),
          ]);
        const signed = await signedOver(body);
        expect(signed, id).toEqual({ outcome: 'duplicate', alarmId: idOf(copy) });
        expect(await alarm(idOf(copy)), id).toEqual({ trust_issue: null, event_issue: null, n: 1 });
        const verified = (await timeline(idOf(copy))).filter((e) => e.startsWith('the same alarm arrived'));
        expect(verified, id).toEqual([
          expect.stringMatching(
            /^the same alarm arrived signed by the device \(over mqtt\): verified \(it was raised not verified: .*signature is missing/,
          ),
        ]);
        const { rows: board } = await db.query<{ payload: { alarmId: string } }>(
          `SELECT payload FROM board_events WHERE type = 'alarm.verified' AND payload->>'alarmId' = $1`,
          [idOf(copy)],
        );
        expect(board, id).toHaveLength(1);
        const { rows: audit } = await db.query(
          `SELECT 1 FROM audit_log WHERE action = 'alarm.verified' AND entity_id = $1`,
          [idOf(copy)],
        );
        expect(audit, id).toHaveLength(1);
        // Either copy again: a duplicate, nothing said twice.
        expect(await signedOver(body)).toEqual({ outcome: 'duplicate', alarmId: idOf(copy) });
        expect(await unsignedOver(body)).toEqual({ outcome: 'duplicate', alarmId: idOf(copy) });
        expect(
          (await timeline(idOf(copy))).filter((e) => e.startsWith('the same alarm arrived')),
        ).toHaveLength(1);
      }
    });

    it('the unsigned copy resolved (as forged) before the signed press came: the press is raised anew, an id conflict, the reason on its timeline', async () => {
      const body = press('ps-0042-000124');
      const forged = await unsignedOver(body);
      expect(forged).toMatchObject({ outcome: 'accepted', trusted: false });
      await db.query(
        `UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm' WHERE id = $1`,
        [idOf(forged)],
      );
      // The wearer's own press, signed: raised and paging, whatever became of the copy.
      const real = await signedOver(body);
      expect(real).toMatchObject({ outcome: 'accepted', trusted: true, idConflict: true });
      expect(idOf(real)).not.toBe(idOf(forged));
      expect(await producer.queueFor('escalate').getJob(`escalate-${idOf(real)}-0`)).toBeDefined();
      expect(await timeline(idOf(real))).toContainEqual(
        `raised again: the same alarm (event ps-0042-000124) arrived signed by the device (over mqtt) after an unverified copy of it, alarm ${idOf(forged)}, was resolved (false alarm) — treat this one as real`,
      );
      // The resolved copy is left as the office left it.
      expect((await alarm(idOf(forged))).trust_issue).toMatch(/signature is missing/);
      // Its redelivery is that alarm again, not a third; the unsigned copy's, the forged one's.
      expect(await signedOver(body)).toEqual({ outcome: 'duplicate', alarmId: idOf(real) });
      expect(await unsignedOver(body)).toEqual({ outcome: 'duplicate', alarmId: idOf(forged) });
      expect((await alarm(idOf(real))).n).toBe(2);
    });
  });

  it('an SOS with neither an event id nor a time: the copies of one message (one per ingest instance) are one alarm, the same sent minutes later another', async () => {
    const deps = { db, producer, prefix };
    const body = Buffer.from(JSON.stringify({ device: { id: 'PS-1' }, type: 'SOS', occurred_at: 'now' }));
    const at = new Date('2026-11-23T10:00:30Z');
    const when = (d: Date) => ({ ...arrival(), receivedAt: d });
    const first = await acceptFobPayload(deps, school, transport, body, when(at));
    // Another instance's copy, milliseconds later: the same alarm.
    const copy = await acceptFobPayload(deps, school, transport, body, when(new Date(at.getTime() + 5)));
    // Pressed again five minutes on: a new alarm (never one lost).
    const later = await acceptFobPayload(
      deps,
      school,
      transport,
      body,
      when(new Date(at.getTime() + 300_000)),
    );
    expect(first).toMatchObject({ outcome: 'accepted' });
    expect(copy).toMatchObject({ outcome: 'duplicate', alarmId: (first as { alarmId: string }).alarmId });
    expect(later).toMatchObject({ outcome: 'accepted' });
    expect((later as { alarmId: string }).alarmId).not.toBe((first as { alarmId: string }).alarmId);
  });

  it('two workers’ SOS that a profile cannot read the device or id of (a vendor renamed its fields) are two alarms, not one and a "duplicate"', async () => {
    const hooked = configWith({
      env: { FOB_SECRET: `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}` },
      school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
`,
    }).schools[0]!;
    const hook = hooked.fobs.transports[0]!;
    const deps = { db, producer, prefix };
    const press = (device: string) =>
      Buffer.from(
        JSON.stringify({ eventId: `ev-${device}`, deviceId: device, type: 'SOS', occurredAt: 'now' }),
      );
    const via = (webhookId: string) => ({
      receivedAt: new Date('2026-11-23T10:00:30Z'),
      source: webhookId,
      deviceId: null,
      signature: null,
    });
    const a = await acceptFobPayload(deps, hooked, hook, press('PS-0001'), via('msg_a'));
    const b = await acceptFobPayload(deps, hooked, hook, press('PS-0002'), via('msg_b'));
    // The vendor retrying worker A's delivery (same webhook id, same bytes): the same alarm.
    const retry = await acceptFobPayload(deps, hooked, hook, press('PS-0001'), via('msg_a'));
    expect(a).toMatchObject({ outcome: 'accepted' });
    expect(b).toMatchObject({ outcome: 'accepted' });
    expect((b as { alarmId: string }).alarmId).not.toBe((a as { alarmId: string }).alarmId);
    expect(retry).toMatchObject({ outcome: 'duplicate', alarmId: (a as { alarmId: string }).alarmId });
  });

  it("an event from another school's device (one vendor account pushing a trust's devices to one feed) is taken at that school", async () => {
    const beta = {
      ...school,
      id: 'beta',
      fobs: { ...school.fobs, devices: [{ deviceId: 'PS-B1', staffId: 'staff-b1' }] },
    } as typeof school;
    const deps = {
      db,
      producer,
      prefix,
      schoolOfDevice: (id: string) => (id === 'PS-B1' ? beta : undefined),
    };
    const r = await acceptFobPayload(
      deps,
      school,
      transport,
      payload({ event_id: 'beta-1', device: { id: 'PS-B1' } }),
      arrival('PS-B1'),
    );
    expect(r).toMatchObject({ outcome: 'accepted' });
    const { rows } = await db.query(`SELECT school_id, staff_id FROM alarms WHERE id = $1`, [
      (r as { alarmId: string }).alarmId,
    ]);
    expect(rows).toEqual([{ school_id: 'beta', staff_id: 'staff-b1' }]);
    // Its card says which school's feed brought it.
    const { rows: said } = await db.query<{ event: string }>(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'arrived on %'`,
      [(r as { alarmId: string }).alarmId],
    );
    expect(said).toEqual([
      {
        event: `arrived on ${school.name}'s ${transport.profile} feed, where device PS-B1 is not registered: raised here, where it is — if this school's wearer did not press it, tell ${school.name}`,
      },
    ]);
    // Never to a school whose feeds are another vendor's: the same id there is another device, and
    // this school's fob not yet registered would be raised there under someone else's name.
    const gamma = {
      ...school,
      id: 'gamma',
      fobs: {
        ...school.fobs,
        transports: [{ ...transport, profile: 'generic' }],
        devices: [{ deviceId: 'PS-G1', staffId: 'staff-g1' }],
      },
    } as typeof school;
    const notThere = await acceptFobPayload(
      { ...deps, schoolOfDevice: (id: string) => (id === 'PS-G1' ? gamma : undefined) },
      school,
      transport,
      payload({ event_id: 'gamma-1', device: { id: 'PS-G1' } }),
      arrival('PS-G1'),
    );
    const { rows: kept } = await db.query(
      `SELECT school_id, staff_id, unknown_device FROM alarms WHERE id = $1`,
      [(notThere as { alarmId: string }).alarmId],
    );
    expect(kept).toEqual([{ school_id: 'alpha', staff_id: null, unknown_device: true }]);
    // Alarms only: that school's check-in from this feed stays here (no visit of this school is its).
    const checkIn = await acceptFobPayload(
      deps,
      school,
      transport,
      payload({ event_id: 'beta-ci', device: { id: 'PS-B1' }, type: 'CHECK_IN' }),
      arrival('PS-B1'),
    );
    expect(checkIn).toBeDefined();
    const { rows: betaEvents } = await db.query(
      `SELECT count(*)::int AS n FROM fob_events WHERE school_id = 'beta' AND type = 'check_in'`,
    );
    expect(betaEvents).toEqual([{ n: 0 }]);
    // A device no school registers stays with the feed's school (raised for an unknown device).
    const unknown = await acceptFobPayload(
      deps,
      school,
      transport,
      payload({ event_id: 'nobody-1', device: { id: 'PS-X9' } }),
      arrival('PS-X9'),
    );
    const { rows: at } = await db.query(`SELECT school_id FROM alarms WHERE id = $1`, [
      (unknown as { alarmId: string }).alarmId,
    ]);
    expect(at).toEqual([{ school_id: 'alpha' }]);
  });

  it('an unknown device whose id differs from a registered one only in letter case: raised as unknown, its card naming the likely fob', async () => {
    const registered = {
      ...school,
      fobs: { ...school.fobs, devices: [{ deviceId: 'PS-0042', staffId: 'staff-42' }] },
    } as typeof school;
    const r = await acceptFobPayload(
      { db, producer, prefix },
      registered,
      transport,
      payload({ event_id: 'case-1', device: { id: 'ps-0042' } }),
      arrival('ps-0042'),
    );
    const alarmId = (r as { alarmId: string }).alarmId;
    const { rows } = await db.query(`SELECT staff_id, unknown_device FROM alarms WHERE id = $1`, [alarmId]);
    expect(rows).toEqual([{ staff_id: null, unknown_device: true }]);
    const { rows: said } = await db.query<{ event: string }>(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'device ps-0042 is not registered%'`,
      [alarmId],
    );
    expect(said.map((x) => x.event)).toEqual([
      "device ps-0042 is not registered, but PS-0042 is, worn by staff staff-42 (the ids differ only in letter case): if it is that fob, correct its id in the school's fobs.devices",
    ]);
    // Registered at another school of the trust: that school is named, for the office to tell.
    const beta = { ...school, id: 'beta', name: 'Beta' } as typeof school;
    const elsewhere = await acceptFobPayload(
      {
        db,
        producer,
        prefix,
        deviceLookingLike: (id: string) =>
          id.toLowerCase() === 'ps-b7' ? { school: beta, deviceId: 'PS-B7', staffId: 'staff-b7' } : undefined,
      },
      school,
      transport,
      payload({ event_id: 'case-2', device: { id: 'ps-b7' } }),
      arrival('ps-b7'),
    );
    const { rows: told } = await db.query<{ event: string }>(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'device ps-b7 is not registered%'`,
      [(elsewhere as { alarmId: string }).alarmId],
    );
    expect(told.map((x) => x.event)).toEqual([
      'device ps-b7 is not registered, but PS-B7 is at Beta (the ids differ only in letter case): if it is that fob, tell Beta now, and correct its id there',
    ]);
  });

  it('a trust school with no feed of its own (its fobs reach it through the trust feed) is still where its devices’ alarms go', async () => {
    const delta = {
      ...school,
      id: 'delta',
      fobs: { ...school.fobs, transports: [], devices: [{ deviceId: 'PS-D1', staffId: 'staff-d1' }] },
    } as typeof school;
    const r = await acceptFobPayload(
      { db, producer, prefix, schoolOfDevice: (id: string) => (id === 'PS-D1' ? delta : undefined) },
      school,
      transport,
      payload({ event_id: 'delta-1', device: { id: 'PS-D1' } }),
      arrival('PS-D1'),
    );
    const { rows } = await db.query(`SELECT school_id, staff_id FROM alarms WHERE id = $1`, [
      (r as { alarmId: string }).alarmId,
    ]);
    expect(rows).toEqual([{ school_id: 'delta', staff_id: 'staff-d1' }]);
    // A trust with fobs of two vendors: a school with no feed names no vendor for its devices, so
    // another vendor's fob with the same id is not taken there under its wearer's name.
    const other = await acceptFobPayload(
      {
        db,
        producer,
        prefix,
        schoolOfDevice: (id: string) => (id === 'PS-D1' ? delta : undefined),
        trustFeedProfiles: new Set([transport.profile, 'generic']),
        deviceLookingLike: (id: string) =>
          id.toLowerCase() === 'ps-d1'
            ? { school: delta, deviceId: 'PS-D1', staffId: 'staff-d1' }
            : undefined,
      },
      school,
      transport,
      payload({ event_id: 'delta-2', device: { id: 'PS-D1' } }),
      arrival('PS-D1'),
    );
    const { rows: kept } = await db.query(`SELECT school_id, unknown_device FROM alarms WHERE id = $1`, [
      (other as { alarmId: string }).alarmId,
    ]);
    expect(kept).toEqual([{ school_id: 'alpha', unknown_device: true }]);
    // Not routed, its card says where the id is registered — never that it differs in letter case.
    const { rows: said } = await db.query<{ event: string }>(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'device PS-D1 %'`,
      [(other as { alarmId: string }).alarmId],
    );
    expect(said.map((x) => x.event)).toEqual([
      `device PS-D1 is registered at ${delta.name}, but that school's fobs may be another vendor's than this ${transport.profile} feed's: raised here as an unknown device — if it may be ${delta.name}'s worker, tell ${delta.name} now`,
    ]);
  });

  it('unreadable messages on the topic of a device another school registers are one alarm there, not one per message', async () => {
    const epsilon = {
      ...school,
      id: 'epsilon',
      fobs: { ...school.fobs, devices: [{ deviceId: 'PS-E1', staffId: 'staff-e1' }] },
    } as typeof school;
    const deps = {
      db,
      producer,
      prefix,
      schoolOfDevice: (id: string) => (id === 'PS-E1' ? epsilon : undefined),
    };
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await acceptFobPayload(deps, school, transport, Buffer.from(`\x82\xa1hb\x01seq=${i}`), {
        ...arrival('PS-E1'),
        receivedAt: new Date(Date.parse('2026-11-23T12:00:00Z') + i * 30_000),
      });
      ids.add((r as { alarmId: string }).alarmId);
    }
    expect(ids.size).toBe(1);
    const { rows } = await db.query(`SELECT school_id FROM alarms WHERE id = $1`, [[...ids][0]]);
    expect(rows).toEqual([{ school_id: 'epsilon' }]);
  });

  it('over MQTT, an SOS whose payload names no readable device is raised for the topic’s device', async () => {
    const r = await acceptFobPayload(
      { db, producer, prefix },
      school,
      transport,
      payload({ event_id: 'no-device', device: { id: '' } }),
      arrival('PS-7'),
    );
    expect(r).toMatchObject({ outcome: 'accepted', trusted: false });
    const { rows } = await db.query(`SELECT device_id FROM alarms WHERE id = $1`, [
      (r as { alarmId: string }).alarmId,
    ]);
    expect(rows).toEqual([{ device_id: 'PS-7' }]);
  });

  it('over MQTT, an SOS on a topic whose device level is kilobytes long is raised (for the payload’s device, flagged), never thrown', async () => {
    // Incompressible and ~4,000 characters: as the device of the event row it would exceed the
    // identity index's limit (SQLSTATE 54000) and be redelivered for ever.
    const level = randomBytes(3000).toString('base64url');
    const r = await acceptFobPayload(
      { db, producer, prefix },
      school,
      transport,
      payload({ event_id: 'long-level' }),
      arrival(level),
    );
    expect(r).toMatchObject({ outcome: 'accepted', trusted: false });
    const { rows } = await db.query<{ device_id: string; trust_issue: string }>(
      `SELECT a.device_id, e.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1`,
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows).toEqual([
      {
        device_id: 'PS-1',
        trust_issue: expect.stringMatching(
          /^the topic names no usable device \(its device level is 4000 characters long, over the 128 a device id may have; kept only as its SHA-256 [\w-]{16}\)$/,
        ),
      },
    ]);
  });

  it('a body nested thousands deep is raised unread and acknowledged, never a crash (which would loop for ever); a field nested a little deep is left out', async () => {
    const deps = { db, producer, prefix };
    await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
    const body = (id: string, type: string, fields: string) =>
      Buffer.from(
        `{"event_id":"${id}","device":{"id":"PS-1"},"type":"${type}","occurred_at":"${new Date().toISOString()}",${fields}}`,
      );
    const nested = (n: number) => `${'['.repeat(n)}"x"${']'.repeat(n)}`;
    for (const [id, fields] of [
      ['deep-1', `"message":${nested(20_000)}`],
      ['deep-2', `"device":{"id":${nested(20_000)}}`],
    ] as const) {
      // Where no device is vouched for (a topic naming none): raised for an unknown device — and on a
      // device's topic for that device, unverified — the second while the first is open, on its timeline.
      for (const at of [{ ...arrival(), deviceId: null }, arrival()])
        expect(await acceptFobPayload(deps, school, transport, body(id, 'SOS', fields), at)).toMatchObject(
          id === 'deep-1' ? { outcome: 'accepted', trusted: false } : { outcome: 'duplicate' },
        );
    }
    const { rows } = await db.query<{ device_id: string; trust_issue: string }>(
      `SELECT device_id, trust_issue FROM alarms WHERE status = 'open' ORDER BY device_id`,
    );
    expect(rows).toEqual([
      {
        device_id: '(unreadable device)',
        trust_issue: expect.stringContaining('the body is nested deeper than 32 levels'),
      },
      { device_id: 'PS-1', trust_issue: expect.stringContaining('the body is nested deeper than 32 levels') },
    ]);
    const kept = await db.query(
      `SELECT reason FROM rejected_events WHERE reason LIKE '%nested deeper%' AND reason LIKE '%noted on open alarm%'`,
    );
    expect(kept.rows).toHaveLength(2);
    const sos = await acceptFobPayload(
      deps,
      school,
      transport,
      body('deep-3', 'SOS', `"message":${nested(20)}`),
      arrival(),
    );
    expect(sos).toMatchObject({ outcome: 'accepted', trusted: false });
  });

  describe('a value the database refuses that decoding did not foresee', () => {
    beforeAll(async () => {
      // Stands in for any value PostgreSQL refuses (SQLSTATE class 22) — and, for the second test,
      // for a database that fails for a while (class 40): a message text chosen to trip it.
      await db.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message = 'poison' THEN RAISE EXCEPTION 'refused' USING ERRCODE = '22023'; END IF;
          IF NEW.message = 'busy' THEN RAISE EXCEPTION 'busy' USING ERRCODE = '40001'; END IF;
          IF NEW.message = 'too-big' THEN RAISE EXCEPTION 'index row too big' USING ERRCODE = '54000'; END IF;
          RETURN NEW;
        END $$`);
      await db.query(
        'CREATE TRIGGER refuse_poison BEFORE INSERT ON fob_events FOR EACH ROW EXECUTE FUNCTION refuse_poison()',
      );
    });
    afterAll(async () => {
      await db.query('DROP TRIGGER refuse_poison ON fob_events');
    });

    it('an alarm is raised with its type and device only; anything else is kept refused (never retried for ever)', async () => {
      const deps = { db, producer, prefix };
      const poisoned = payload({ event_id: 'p-1', message: 'poison', battery: 40 });
      const sos = await acceptFobPayload(deps, school, transport, poisoned, arrival());
      expect(sos).toMatchObject({ outcome: 'accepted', trusted: false });
      // The same bytes again (a webhook retry): the same alarm, not a second.
      await new Promise((r) => setTimeout(r, 5));
      expect(await acceptFobPayload(deps, school, transport, poisoned, arrival())).toEqual({
        outcome: 'duplicate',
        alarmId: (sos as { alarmId: string }).alarmId,
      });
      // Another alarm under the same id (another time): raised, flagged as an id conflict.
      const other = payload({
        event_id: 'p-1',
        message: 'poison',
        battery: 40,
        occurred_at: '2025-01-01T00:00:00Z',
      });
      expect(await acceptFobPayload(deps, school, transport, other, arrival())).toMatchObject({
        outcome: 'accepted',
        idConflict: true,
      });
      const checkIn = await acceptFobPayload(
        deps,
        school,
        transport,
        payload({ event_id: 'p-2', type: 'CHECK_IN', message: 'poison' }),
        arrival(),
      );
      expect(checkIn).toEqual({
        outcome: 'invalid',
        field: '(event)',
        reason: 'a value the database could not store',
      });
      const { rows } = await db.query(
        `SELECT e.vendor_event_id, e.message, e.battery_percent, e.trust_issue, a.status
           FROM fob_events e LEFT JOIN alarms a ON a.fob_event_id = e.id WHERE e.vendor_event_id LIKE 'p-%'`,
      );
      const stripped = {
        vendor_event_id: 'p-1',
        message: null,
        battery_percent: null,
        trust_issue: expect.stringMatching(/could not store; raised with its type and device only/),
        status: 'open',
      };
      expect(rows).toEqual([stripped, stripped]);
      const rejected = await db.query(`SELECT reason FROM rejected_events WHERE raw LIKE '%"p-2"%'`);
      expect(rejected.rows).toEqual([{ reason: '(event): a value the database could not store' }]);
    });

    it('a write beyond a database limit (SQLSTATE class 54) fails every time: the alarm is raised with what can be stored, a check-in kept refused', async () => {
      const deps = { db, producer, prefix };
      const sos = await acceptFobPayload(
        deps,
        school,
        transport,
        payload({ event_id: 'l-1', message: 'too-big' }),
        arrival(),
      );
      expect(sos).toMatchObject({ outcome: 'accepted', trusted: false });
      const { rows } = await db.query(
        `SELECT e.message, e.trust_issue, a.status FROM fob_events e JOIN alarms a ON a.fob_event_id = e.id
          WHERE e.vendor_event_id = 'l-1'`,
      );
      expect(rows).toEqual([
        {
          message: null,
          trust_issue: expect.stringMatching(/could not store; raised with its type and device only/),
          status: 'open',
        },
      ]);
      expect(
        await acceptFobPayload(
          deps,
          school,
          transport,
          payload({ event_id: 'l-2', type: 'CHECK_IN', message: 'too-big' }),
          arrival(),
        ),
      ).toEqual({ outcome: 'invalid', field: '(event)', reason: 'a value the database could not store' });
    });

    it('a database that fails for a while is not a refused value: thrown, so the transport does not acknowledge', async () => {
      await expect(
        acceptFobPayload(
          { db, producer, prefix },
          school,
          transport,
          payload({ event_id: 'b-1', message: 'busy' }),
          arrival(),
        ),
      ).rejects.toMatchObject({ code: '40001' });
      const { rows } = await db.query(`SELECT 1 FROM rejected_events WHERE raw LIKE '%"b-1"%'`);
      expect(rows).toEqual([]);
    });
  });
});

/**
 * A payload that makes Doorstep's own code throw must be taken (refused and acknowledged), never
 * left to the broker: an MQTT message not acknowledged is redelivered on every reconnect, and the
 * messages behind it — alarms included — wait behind it once the session's in-flight window is full.
 */
const id = uniqueName('poison');
const topicRoot = `doorstep-test/${id}`;
const mqttSchool = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${topicRoot}/fobs/{device}/events"], clientId: "${id.slice(0, 40)}" }
`,
}).schools[0]!;
const mqttTransport = mqttSchool.fobs.transports[0]! as Extract<
  (typeof mqttSchool.fobs.transports)[number],
  { kind: 'mqtt' }
>;

// An object whose `toString` is not a function: `String(value)` of it throws a TypeError.
const POISON = JSON.stringify({
  event_id: 'p-1',
  device: { id: 'PS-0001' },
  type: { toString: 0 },
  occurred_at: '2026-01-01T10:00:00Z',
});
const sos = (i: number) =>
  JSON.stringify({
    event_id: `sos-${i}`,
    device: { id: 'PS-0001' },
    type: 'SOS',
    occurred_at: new Date().toISOString(),
  });

describe('a payload that makes the code throw', () => {
  it('a profile that throws on a payload: taken as a body it cannot read (raised, where no device is vouched for as an unknown one), not thrown', async () => {
    await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm'`);
    const spy = vi.spyOn(PeoplesafeStyleProfile.prototype, 'decode').mockImplementationOnce(() => {
      throw new TypeError('Cannot convert object to primitive value');
    });
    let r: Awaited<ReturnType<typeof acceptFobPayload>>;
    try {
      r = await acceptFobPayload({ db, producer, prefix }, school, transport, Buffer.from(sos(0)), {
        ...arrival(),
        deviceId: null,
      });
    } finally {
      spy.mockRestore();
    }
    expect(r).toMatchObject({ outcome: 'accepted', trusted: false });
    const { rows } = await db.query<{ device_id: string; trust_issue: string }>(
      `SELECT device_id, trust_issue FROM alarms WHERE id = $1`,
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows).toEqual([
      {
        device_id: '(unreadable device)',
        trust_issue: expect.stringContaining('the peoplesafe-style profile could not read it (TypeError)'),
      },
    ]);
  });

  it('over MQTT: taken once, and every SOS published behind it (more than the in-flight window) is raised', async () => {
    const dropped: string[] = [];
    const log = createLogger({ level: 'silent' });
    let poisonTries = 0;
    const t = new MqttFobTransport({
      schoolId: 'alpha',
      transport: mqttTransport,
      clientId: id.slice(0, 40),
      log: new Proxy(log, {
        get: (target, p) =>
          p === 'error' ? (_o: unknown, msg?: string) => dropped.push(String(msg)) : Reflect.get(target, p),
      }),
      accept: async (raw, a) => {
        if (String(raw) === POISON) poisonTries++;
        await acceptFobPayload({ db, producer, prefix }, mqttSchool, mqttTransport, raw, a);
      },
    });
    t.start();
    await t.ready;
    const pub = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id}-pub`.slice(0, 60) });
    try {
      const topic = `${topicRoot}/fobs/PS-0001/events`;
      await pub.publishAsync(topic, POISON, { qos: 1 });
      const n = 140; // over RECEIVE_MAXIMUM (128): a stuck message would hold the rest at the broker
      for (let i = 1; i <= n; i++) await pub.publishAsync(topic, sos(i), { qos: 1 });
      let alarms = 0;
      for (let waited = 0; alarms < n && waited < 60_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
            WHERE e.vendor_event_id LIKE 'sos-%' AND e.vendor_event_id <> 'sos-0'`,
        );
        alarms = rows[0]!.n;
      }
      expect(alarms).toBe(n);
      expect(poisonTries).toBe(1);
      expect(dropped).toEqual([]);
      // The poison's type is no type: raised as an SOS, not verified, its type named (once).
      const { rows } = await db.query<{ trust_issue: string }>(
        `SELECT e.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'p-1' AND e.trust_issue LIKE '%toString%'`,
      );
      expect(rows).toEqual([
        { trust_issue: expect.stringContaining('unknown type {"toString":0}; raised as an SOS') },
      ]);
    } finally {
      await pub.endAsync();
      await t.stop();
    }
  }, 90_000);
});
