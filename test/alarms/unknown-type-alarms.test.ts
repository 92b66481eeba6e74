import { describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { acknowledge } from '../../src/store/alarm-state.ts';
import { configWith } from '../helpers/config.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * An event whose type is missing or no map names is raised as an SOS (when in doubt, raise) — but
 * one open at a time per device, feed and cause: a gateway whose heartbeats carry no type field
 * would otherwise raise an SOS for every message and bury a real alarm. Further ones go on the open
 * alarm's timeline (kept with the refused payloads) while it is unacknowledged, still paging; once
 * acknowledged, the next raises anew.
 */
const q = storeAndQueue('unknown_type');
const school = configWith({
  school: `    fobs:
      transports:
        - kind: mqtt
          url: "mqtt://127.0.0.1:1883"
          topics: ["doorstep/alpha/fobs/{device}/events"]
          profile: generic
          mapping:
            fields: { deviceId: /dev, vendorEventId: /id, type: /kind, occurredAt: /at }
            types: { PANIC: sos }
      devices:
        - { deviceId: RD-1, staffId: s-1 }
        - { deviceId: RD-2, staffId: s-2 }
        - { deviceId: RD-3, staffId: s-3 }
`,
}).schools[0]!;
const mqttT = school.fobs.transports[0]!;
const deps = () => ({ db: q.db, producer: q.producer, prefix: q.prefix });

const msg = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o));
const onTopic = (device: string, at = '2026-12-05T10:02:05Z') => ({
  receivedAt: new Date(at),
  source: `doorstep/alpha/fobs/${device}/events`,
  deviceId: device,
  signature: null,
});
const heartbeat = (device: string, n: number, extra: Record<string, unknown> = {}) =>
  msg({ dev: device, id: `hb-${device}-${n}`, at: `2026-12-05T10:0${n}:00Z`, battery: 90, ...extra });
const alarmsOf = async (device: string) =>
  (
    await q.db.query<{ id: string; status: string; trust_issue: string }>(
      `SELECT a.id, a.status, a.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
       WHERE e.device_id = $1 ORDER BY a.id`,
      [device],
    )
  ).rows.map((r) => ({ id: String(r.id), status: r.status, trustIssue: r.trust_issue }));
const count = async (sql: string, params: unknown[] = []) =>
  (await q.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
const firstJob = (alarmId: string) => q.producer.queueFor('escalate').getJob(`escalate-${alarmId}-0`);

describe('an SOS raised for want of a known type', () => {
  it("a gateway's type-less messages from one device raise one alarm while it is open; after acknowledgement the next raises anew", async () => {
    const first = await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-1', 1), onTopic('RD-1'));
    expect(first).toMatchObject({ outcome: 'accepted' });
    const alarm = (first as { alarmId: string }).alarmId;
    expect((await alarmsOf('RD-1'))[0]!.trustIssue).toContain('type (no type given; raised as an SOS)');
    // The next messages: noted on it, kept with the refused payloads, answered as duplicates.
    for (const n of [2, 3])
      expect(
        await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-1', n), onTopic('RD-1')),
      ).toMatchObject({ outcome: 'duplicate', alarmId: alarm });
    expect(await alarmsOf('RD-1')).toHaveLength(1);
    expect(
      await count(
        `alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another event from device RD-1 came for the same reason, no type given (event hb-RD-1-_,%'`,
        [alarm],
      ),
    ).toBe(2);
    expect(
      await count(`rejected_events WHERE reason = $1`, [`type: no type given; noted on open alarm ${alarm}`]),
    ).toBe(2);
    // Its own message redelivered is that alarm's, its ladder made sure of.
    expect(
      await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-1', 1), onTopic('RD-1')),
    ).toMatchObject({ outcome: 'duplicate', alarmId: alarm });
    expect(await firstJob(alarm)).toBeDefined();
    // Acknowledged: paging has stopped, so the next one (which may be a real press) pages again.
    await acknowledge(q.db, alarm, 'office', new Date('2026-12-05T10:05:00Z'));
    const after = await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-1', 6), onTopic('RD-1'));
    expect(after).toMatchObject({ outcome: 'accepted' });
    const raised = (after as { alarmId: string }).alarmId;
    expect(raised).not.toBe(alarm);
    expect(await firstJob(raised)).toBeDefined();
    expect((await alarmsOf('RD-1')).map((a) => a.status)).toEqual(['acknowledged', 'open']);
  });

  it('another cause, another device, or another device named in the payload raises its own', async () => {
    const a = await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-2', 1), onTopic('RD-2'));
    const named = await acceptFobPayload(
      deps(),
      school,
      mqttT,
      heartbeat('RD-2', 2, { kind: 'GAS_HIGH' }),
      onTopic('RD-2'),
    );
    const again = await acceptFobPayload(
      deps(),
      school,
      mqttT,
      heartbeat('RD-2', 3, { kind: 'gas_high ' }),
      onTopic('RD-2'),
    );
    // A payload naming another wearer, on this topic (a gateway batching wearers), is not folded in.
    const other = await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-3', 4), onTopic('RD-2'));
    const elsewhere = await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-3', 5), onTopic('RD-3'));
    expect([a, named, other, elsewhere].map((o) => o.outcome)).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'accepted',
    ]);
    // Another spelling is another type as sent: raised, not folded (what it came with is named).
    expect(again).toMatchObject({ outcome: 'accepted' });
    const issues = (await alarmsOf('RD-2')).map((x) => x.trustIssue);
    expect(issues).toEqual([
      expect.stringContaining('type (no type given;'),
      expect.stringContaining('type (unknown type "GAS_HIGH";'),
      expect.stringContaining('type (unknown type "gas_high ";'),
      expect.stringContaining('the payload names device RD-3, the transport RD-2'),
    ]);
    expect(await alarmsOf('RD-3')).toHaveLength(1);
  });

  it('a real, typed SOS from the device is raised whatever is open', async () => {
    await acceptFobPayload(deps(), school, mqttT, heartbeat('RD-3', 6), onTopic('RD-3'));
    const before = (await alarmsOf('RD-3')).length;
    const sos = await acceptFobPayload(
      deps(),
      school,
      mqttT,
      msg({ dev: 'RD-3', id: 'press-1', kind: 'PANIC', at: '2026-12-05T10:07:00Z' }),
      onTopic('RD-3'),
    );
    expect(sos).toMatchObject({ outcome: 'accepted' });
    expect(await alarmsOf('RD-3')).toHaveLength(before + 1);
  });
});
