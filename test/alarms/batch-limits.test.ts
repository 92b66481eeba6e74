import { describe, expect, it } from 'vitest';
import { acceptFobPayload, MAX_BATCH_ITEMS } from '../../src/alarms/accept.ts';
import { acknowledge } from '../../src/store/alarm-state.ts';
import { ALARM_PATH_TIMEOUT_MS } from '../../src/store/alarms.ts';
import type { Db, QueryOptions } from '../../src/store/db.ts';
import { configWith } from '../helpers/config.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * One message (a JSON array) cannot raise hundreds of alarms: a device's further alarms in it are
 * noted on the alarm its first raised, and the items past MAX_BATCH_ITEMS are kept refused under one
 * alarm that says the message was cut. Every real alarm reaches the office; every item is kept where
 * the office or the data manager sees it.
 */
const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`;
const q = storeAndQueue('batch_limits');
const school = configWith({
  env: { S: SECRET },
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
        - { kind: webhook, profile: peoplesafe-style, secret: "\${S}" }
      devices:
        - { deviceId: PS-0001, staffId: s-1 }
        - { deviceId: PS-0002, staffId: s-2 }
        - { deviceId: RD-1, staffId: s-3 }
        - { deviceId: RD-2, staffId: s-4 }
        - { deviceId: RD-3, staffId: s-5 }
        - { deviceId: RD-4, staffId: s-6 }
        - { deviceId: RD-5, staffId: s-7 }
        - { deviceId: RD-6, staffId: s-8 }
        - { deviceId: RD-7, staffId: s-9 }
        - { deviceId: WS-1, staffId: s-10 }
        - { deviceId: WS-2, staffId: s-11 }
`,
}).schools[0]!;
const mqttT = school.fobs.transports[0]!;
const hookT = school.fobs.transports[1]!;
const deps = () => ({ db: q.db, producer: q.producer, prefix: q.prefix });

const ev = (id: string, device: unknown, type = 'SOS', at = '2026-12-05T10:02:00Z') => ({
  event_id: id,
  device: { id: device },
  type,
  occurred_at: at,
});
const hook = (source: string) => ({
  receivedAt: new Date('2026-12-05T10:02:05Z'),
  source,
  deviceId: null,
  signature: null,
});
const topic = (device: string) => ({
  receivedAt: new Date('2026-12-05T10:02:05Z'),
  source: `doorstep/alpha/fobs/${device}/events`,
  deviceId: device,
  signature: null,
});
const body = (items: unknown[]) => Buffer.from(JSON.stringify(items));
const alarmsOf = async (device: string) =>
  (
    await q.db.query<{ id: string; trust_issue: string | null }>(
      `SELECT a.id, e.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.device_id = $1 ORDER BY a.id`,
      [device],
    )
  ).rows.map((r) => ({ id: String(r.id), trustIssue: r.trust_issue }));
const count = async (sql: string, params: unknown[] = []) =>
  (await q.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
const firstJob = (alarmId: string) => q.producer.queueFor('escalate').getJob(`escalate-${alarmId}-0`);

describe('one message, many alarms', () => {
  it("a signed request of 400 SOS for one wearer raises that wearer's alarm once, and one alarm for the cut — every item kept", async () => {
    const before = await count('alarms');
    const flood = body(Array.from({ length: 400 }, (_, i) => ev(`flood-${i}`, 'PS-0001')));
    const r = await acceptFobPayload(deps(), school, hookT, flood, hook('msg_flood_1'));
    expect(r).toMatchObject({ outcome: 'accepted' });
    expect((await count('alarms')) - before).toBe(2);
    // The wearer's alarm: its ladder started once, the 99 other SOS of the message on its timeline.
    const [wearer] = await alarmsOf('PS-0001');
    expect(wearer).toBeDefined();
    expect(await firstJob(wearer!.id)).toBeDefined();
    expect(
      await count(
        `alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another sos from device PS-0001 came in the same message%'`,
        [wearer!.id],
      ),
    ).toBe(MAX_BATCH_ITEMS - 1);
    // The 300 past the bound were not read: one alarm says so, and pages.
    const cut = (await alarmsOf('(unreadable device)')).at(-1)!;
    expect(cut.trustIssue).toContain(
      `the message carries 400 events, more than the ${MAX_BATCH_ITEMS} one message is read for: the 300 after the ${MAX_BATCH_ITEMS}th were not read`,
    );
    expect(await firstJob(cut.id)).toBeDefined();
    // Nothing lost: the one stored event and 399 kept with the refused payloads.
    expect(await count(`fob_events WHERE device_id = 'PS-0001'`)).toBe(1);
    expect(await count(`rejected_events WHERE reason LIKE '(batch): another sos of device PS-0001%'`)).toBe(
      99,
    );
    // The 300 kept in arrays of up to 4 KiB, a write each (not a write per item: a 64 KiB array of
    // tiny items would hold the acknowledgement for thousands of writes), none lost.
    const tail = await q.db.query<{ raw: string; reason: string }>(
      `SELECT raw, reason FROM rejected_events WHERE reason LIKE '(batch): items % of 400, past the%' ORDER BY id`,
    );
    expect(tail.rows.length).toBeGreaterThan(1);
    expect(tail.rows.length).toBeLessThan(20);
    expect(tail.rows[0]!.reason).toMatch(/^\(batch\): items 101–\d+ of 400/);
    const kept = tail.rows.flatMap((r) => JSON.parse(r.raw) as { event_id: string }[]);
    expect(kept.map((e) => e.event_id)).toEqual(Array.from({ length: 300 }, (_, i) => `flood-${i + 100}`));
    // The sender's retry of the same delivery raises nothing more.
    const again = await acceptFobPayload(deps(), school, hookT, flood, hook('msg_flood_1'));
    expect(again).toMatchObject({ outcome: 'duplicate', alarmId: wearer!.id });
    expect((await count('alarms')) - before).toBe(2);
  });

  it("each device's first alarm in a message is raised; its further ones are noted on it; other events and unknown devices are taken as ever", async () => {
    const before = await count('alarms');
    const mixed = body([
      ev('m-a1', 'PS-0002'),
      ev('m-b1', 'PS-0002', 'FALL'),
      ev('m-c1', 'RD-1'),
      ev('m-ci', 'PS-0002', 'CHECK_IN'),
      ev('m-a2', 'PS-0002'),
      // Two presses whose device cannot be read may be two workers: two alarms, never folded.
      ev('m-u1', { serial: 'X' }),
      ev('m-u2', { serial: 'Y' }),
    ]);
    const r = await acceptFobPayload(deps(), school, hookT, mixed, hook('msg_mixed_1'));
    expect(r).toMatchObject({ outcome: 'accepted' });
    expect((await count('alarms')) - before).toBe(4);
    const [ps2] = await alarmsOf('PS-0002');
    const lines = await q.db.query<{ event: string }>(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another %' ORDER BY id`,
      [ps2!.id],
    );
    expect(lines.rows.map((l) => l.event)).toEqual([
      expect.stringMatching(/^another fall from device PS-0002 came in the same message \(event m-b1,/),
      expect.stringMatching(/^another sos from device PS-0002 came in the same message \(event m-a2,/),
    ]);
    expect(await count(`fob_events WHERE vendor_event_id = 'm-ci' AND type = 'check_in'`)).toBe(1);
  });

  it("MQTT: on a device's topic, the cut is told on the alarm the message raised for that device", async () => {
    const items = Array.from({ length: 150 }, (_, i) => ev(`t-${i}`, 'RD-1'));
    const r = await acceptFobPayload(deps(), school, mqttT, body(items), topic('RD-1'));
    expect(r).toMatchObject({ outcome: 'accepted' });
    const alarmId = (r as { alarmId: string }).alarmId;
    expect(
      await count(
        `alarms WHERE fob_event_id IN (SELECT id FROM fob_events WHERE vendor_event_id LIKE 't-%')`,
      ),
    ).toBe(1);
    expect(
      await count(
        `alarm_timeline WHERE alarm_id = $1 AND event LIKE 'the message that raised this alarm was cut: the message carries 150 events%'`,
        [alarmId],
      ),
    ).toBe(1);
    const tail = await q.db.query<{ raw: string }>(
      `SELECT raw FROM rejected_events WHERE reason LIKE '(batch): items % of 150,%' ORDER BY id`,
    );
    expect(tail.rows.flatMap((r) => JSON.parse(r.raw) as unknown[])).toHaveLength(50);
  });

  it('a 64 KiB array of 32,000 tiny items is kept in a few dozen writes, not one per item', async () => {
    const tiny = Buffer.from(`[${Array.from({ length: 32_000 }, () => '0').join(',')}]`);
    expect(tiny.length).toBeLessThanOrEqual(mqttT.maxBytes);
    await acceptFobPayload(deps(), school, mqttT, tiny, topic('RD-1'));
    const tail = await q.db.query<{ raw: string }>(
      `SELECT raw FROM rejected_events WHERE reason LIKE '(batch): items % of 32000,%' ORDER BY id`,
    );
    expect(tail.rows.length).toBeLessThan(40);
    expect(tail.rows.flatMap((r) => JSON.parse(r.raw) as unknown[])).toHaveLength(32_000 - MAX_BATCH_ITEMS);
  });

  it('MQTT: an SOS past the bound, behind 100 check-ins, is never silence: the cut raises an alarm for the device', async () => {
    const before = (await alarmsOf('RD-2')).length;
    const items = [
      ...Array.from({ length: MAX_BATCH_ITEMS }, (_, i) => ev(`ci-${i}`, 'RD-2', 'CHECK_IN')),
      ev('late-sos', 'RD-2'),
    ];
    await acceptFobPayload(deps(), school, mqttT, body(items), topic('RD-2'));
    const raised = (await alarmsOf('RD-2')).slice(before);
    expect(raised).toHaveLength(1);
    expect(raised[0]!.trustIssue).toContain('the message carries 101 events');
    expect(await firstJob(raised[0]!.id)).toBeDefined();
    expect(await count(`rejected_events WHERE raw LIKE '%late-sos%'`)).toBe(1);
  });

  it('MQTT: a gateway batching several wearers on one topic: each wearer the payload names raises its own alarm', async () => {
    const before = (await alarmsOf('RD-3')).length;
    const r = await acceptFobPayload(
      deps(),
      school,
      mqttT,
      body([ev('w-a', 'RD-3'), ev('w-b', 'RD-4'), ev('w-b2', 'RD-4')]),
      topic('RD-3'),
    );
    expect(r).toMatchObject({ outcome: 'accepted' });
    // Stored under the topic's device; the second wearer's alarm flagged as naming another.
    const raised = (await alarmsOf('RD-3')).slice(before);
    expect(raised).toHaveLength(2);
    expect(raised[0]!.trustIssue).toBeNull();
    expect(raised[1]!.trustIssue).toContain('the payload names device RD-4, the transport RD-3');
    // That wearer's own further press in the message is noted on its alarm, not on the first's.
    expect(
      await count(`alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another sos from device RD-3%'`, [
        raised[1]!.id,
      ]),
    ).toBe(1);
    expect(
      await count(`alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another %'`, [raised[0]!.id]),
    ).toBe(0);
  });

  it('a batch after any JSON whitespace (a pretty-printed body, a byte-order mark and blank lines) is read as the events it holds', async () => {
    const before = { ws1: (await alarmsOf('WS-1')).length, ws2: (await alarmsOf('WS-2')).length };
    const unreadable = await count(`alarms WHERE device_id = '(unreadable device)'`);
    const items = JSON.stringify([ev('ws-a', 'WS-1'), ev('ws-b', 'WS-2')]);
    const pretty = Buffer.from(`\n        ${items}`);
    expect(
      await acceptFobPayload(deps(), school, hookT, pretty, hook('webhook peoplesafe-style')),
    ).toMatchObject({
      outcome: 'accepted',
    });
    // Each wearer raised by name: not one alarm for an "(unreadable device)" that folds the next batches in.
    expect((await alarmsOf('WS-1')).slice(before.ws1)).toHaveLength(1);
    expect((await alarmsOf('WS-2')).slice(before.ws2)).toHaveLength(1);
    expect(await count(`alarms WHERE device_id = '(unreadable device)'`)).toBe(unreadable);
    const withBom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`\r\n\r\n\t  ${JSON.stringify([ev('ws-c', 'WS-1'), ev('ws-d', 'WS-2')])}`),
    ]);
    expect(await acceptFobPayload(deps(), school, mqttT, withBom, topic('WS-1'))).toMatchObject({
      outcome: 'accepted',
    });
    // On WS-1's topic: its own press, and WS-2's raised beside it (flagged as naming another device).
    expect((await alarmsOf('WS-1')).slice(before.ws1)).toHaveLength(3);
    expect(await count(`alarms WHERE device_id = '(unreadable device)'`)).toBe(unreadable);
  });

  it("a new press batched behind a resend of the wearer's acknowledged one raises its own alarm; behind one still open it is noted there", async () => {
    const first = await acceptFobPayload(deps(), school, hookT, body([ev('r-1', 'RD-5')]), hook('msg_r_1'));
    expect(first).toMatchObject({ outcome: 'accepted' });
    const old = (first as { alarmId: string }).alarmId;
    // Still open (paging): the gateway's resend with a new press behind it is one alarm.
    const resend = body([ev('r-1', 'RD-5'), ev('r-2', 'RD-5', 'SOS', '2026-12-05T10:04:00Z')]);
    expect(await acceptFobPayload(deps(), school, hookT, resend, hook('msg_r_2'))).toMatchObject({
      outcome: 'duplicate',
      alarmId: old,
    });
    expect((await alarmsOf('RD-5')).map((a) => a.id)).toEqual([old]);
    // Acknowledged (paging stopped): the next resend's new press pages.
    await acknowledge(q.db, old, 'office', new Date('2026-12-05T10:05:00Z'));
    const later = body([ev('r-1', 'RD-5'), ev('r-3', 'RD-5', 'SOS', '2026-12-05T10:20:00Z')]);
    await acceptFobPayload(deps(), school, hookT, later, hook('msg_r_3'));
    const raised = (await alarmsOf('RD-5')).slice(1);
    expect(raised).toHaveLength(1);
    expect(await count(`alarms WHERE id = $1 AND status = 'open'`, [raised[0]!.id])).toBe(1);
    expect(await firstJob(raised[0]!.id)).toBeDefined();
    expect(
      await count(`alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another sos from device RD-5%'`, [old]),
    ).toBe(1);
  });

  it('MQTT: a cut message whose device alarm is an acknowledged one it repeats raises the cut alarm', async () => {
    const first = await acceptFobPayload(deps(), school, mqttT, body([ev('c-0', 'RD-6')]), topic('RD-6'));
    const old = (first as { alarmId: string }).alarmId;
    await acknowledge(q.db, old, 'office', new Date('2026-12-05T10:05:00Z'));
    const items = [
      ev('c-0', 'RD-6'),
      ...Array.from({ length: MAX_BATCH_ITEMS }, (_, i) => ev(`c-ci-${i}`, 'RD-6', 'CHECK_IN')),
    ];
    await acceptFobPayload(deps(), school, mqttT, body(items), topic('RD-6'));
    const raised = (await alarmsOf('RD-6')).slice(1);
    expect(raised).toHaveLength(1);
    expect(raised[0]!.trustIssue).toContain(`the message carries ${MAX_BATCH_ITEMS + 1} events`);
    expect(await firstJob(raised[0]!.id)).toBeDefined();
    expect(await count(`alarm_timeline WHERE alarm_id = $1 AND event LIKE 'the message%cut%'`, [old])).toBe(
      0,
    );
  });
});

/**
 * The store, but its timeline goes silent (a failover, a partition): a statement given a time limit
 * fails (as pg's `query_timeout` makes it, here at once rather than after the limit); one given none
 * is never answered. The limits the timeline's statements carried are kept in `seen`.
 */
function silentTimeline(db: Db, seen: (QueryOptions | undefined)[]): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (sql: string, params?: readonly unknown[], options?: QueryOptions) => {
        if (!/alarm_timeline/.test(sql)) return target.query(sql, params, options);
        seen.push(options);
        if (options?.timeoutMs === undefined) return new Promise(() => {});
        return Promise.reject(new Error('the database did not answer'));
      };
    },
  }) as Db;
}

describe('a database gone silent on the alarm path', () => {
  it("MQTT: a batch whose second SOS is folded into the first's alarm is not held: the note is bounded, and the message is not acknowledged (it comes again)", async () => {
    const seen: (QueryOptions | undefined)[] = [];
    const msg = body([ev('s-1', 'RD-7'), ev('s-2', 'RD-7', 'SOS', '2026-12-05T10:02:30Z')]);
    const settled = acceptFobPayload(
      { db: silentTimeline(q.db, seen), producer: q.producer, prefix: q.prefix },
      school,
      mqttT,
      msg,
      topic('RD-7'),
    ).then(
      () => 'acknowledged',
      () => 'not acknowledged',
    );
    const outcome = await Promise.race([
      settled,
      new Promise((r) => setTimeout(() => r('still waiting'), 5_000)),
    ]);
    expect(outcome).toBe('not acknowledged');
    expect(seen).toEqual([{ timeoutMs: ALARM_PATH_TIMEOUT_MS }]);
    // The first SOS was raised; the message again, the database back: one alarm, the fold noted.
    const raised = await alarmsOf('RD-7');
    expect(raised).toHaveLength(1);
    expect(await acceptFobPayload(deps(), school, mqttT, msg, topic('RD-7'))).toMatchObject({
      outcome: 'duplicate',
      alarmId: raised[0]!.id,
    });
    expect(await alarmsOf('RD-7')).toHaveLength(1);
    expect(
      await count(`alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another sos from device RD-7%'`, [
        raised[0]!.id,
      ]),
    ).toBe(1);
  });
});
