import { describe, expect, it } from 'vitest';
import { signDevicePayload } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { configWith } from '../helpers/config.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * A fob that lost its network (or tipped over) and whose wearer then pressed SOS / duress while it
 * was out of signal: the gateway sends the backlog as one message. The SOS must be its own alarm, with
 * its own (SOS/duress) ladder and severity — not a line on a low-priority device-fault alarm.
 */
const q = storeAndQueue('batch_fold_types');
const KEY = 'k'.repeat(32);
const school = configWith({
  env: { PS_KEY: KEY },
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices:
        - { deviceId: PS-0001, staffId: s-1 }
        - { deviceId: PS-0002, staffId: s-2 }
        - { deviceId: PS-0003, staffId: s-3, signingKey: "\${PS_KEY}" }
        - { deviceId: PS-0004, staffId: s-4 }
        - { deviceId: PS-0005, staffId: s-5, signingKey: "\${PS_KEY}" }
        - { deviceId: PS-0006, staffId: s-6 }
    escalation:
      network-timeout:
        levels:
          - { afterMinutes: 0, notify: [board] }
`,
}).schools[0]!;
const mqttT = school.fobs.transports[0]!;
const deps = () => ({ db: q.db, producer: q.producer, prefix: q.prefix });
const ev = (id: string, type: string, at: string) => ({
  event_id: id,
  device: { id: 'X' },
  type,
  occurred_at: at,
});
const on = (device: string) => ({
  receivedAt: new Date(),
  source: `doorstep/alpha/fobs/${device}/events`,
  deviceId: device,
  signature: null,
});
const alarmTypes = async (device: string) =>
  (
    await q.db.query<{ type: string }>(
      `SELECT type FROM alarms WHERE device_id = $1 AND status = 'open' ORDER BY id`,
      [device],
    )
  ).rows.map((r) => r.type);

describe('a batch: a device fault, then an SOS from the same wearer', () => {
  it('raises the SOS as its own alarm (its ladder, its severity), not folded into the network-timeout alarm', async () => {
    const now = Date.now();
    const t1 = new Date(now - 60_000).toISOString();
    const t2 = new Date(now - 30_000).toISOString();
    const body = Buffer.from(
      JSON.stringify([ev('nt-1', 'NETWORK_TIMEOUT', t1), ev('sos-1', 'SOS', t2)]).replaceAll(
        '"X"',
        '"PS-0001"',
      ),
    );
    await acceptFobPayload(deps(), school, mqttT, body, on('PS-0001'));
    expect(await alarmTypes('PS-0001')).toContain('sos');
  });

  it('raises a duress as its own alarm, not folded into a fall', async () => {
    const now = Date.now();
    const body = Buffer.from(
      JSON.stringify([
        ev('f-1', 'FALL', new Date(now - 60_000).toISOString()),
        ev('d-1', 'DURESS', new Date(now - 30_000).toISOString()),
      ]).replaceAll('"X"', '"PS-0002"'),
    );
    await acceptFobPayload(deps(), school, mqttT, body, on('PS-0002'));
    expect(await alarmTypes('PS-0002')).toContain('duress');
  });
});

/**
 * A gateway that batches a fob's heartbeats and positions (no type field, or a type no map names)
 * with the wearer's presses: the type-less report is raised as an untrusted SOS (when in doubt,
 * raise) and looks like the false alarm it is. The wearer's real press behind it must not be a line
 * on that card — resolved as a false alarm, it would take the SOS with it.
 */
describe('a batch: a report with no known type, then the wearer’s real SOS', () => {
  const signedOn = (device: string, body: Buffer) => ({
    ...on(device),
    signature: signDevicePayload(KEY, body),
  });
  const alarmsOf = async (device: string) =>
    (
      await q.db.query<{ id: string; event: string; trusted: boolean; status: string }>(
        `SELECT a.id, e.vendor_event_id AS event, a.trust_issue IS NULL AS trusted, a.status
         FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.device_id = $1 ORDER BY a.id`,
        [device],
      )
    ).rows;

  it('raises the signed SOS as its own trusted alarm, still open once the report’s card is resolved as a false alarm', async () => {
    const at = new Date().toISOString();
    const body = Buffer.from(
      JSON.stringify([
        { event_id: 'hb-1', device: { id: 'PS-0003' }, occurred_at: at, battery: 80 },
        { event_id: 'sos-3', device: { id: 'PS-0003' }, type: 'SOS', occurred_at: at },
      ]),
    );
    await acceptFobPayload(deps(), school, mqttT, body, signedOn('PS-0003', body));
    const raised = await alarmsOf('PS-0003');
    expect(raised.map((a) => [a.event, a.trusted])).toEqual([
      ['hb-1', false],
      ['sos-3', true],
    ]);
    const { rows: folded } = await q.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rejected_events WHERE reason LIKE '(batch): another sos of device PS-0003%'`,
    );
    expect(folded[0]!.n).toBe(0);
    // The office resolves the heartbeat's card as the false alarm it is: the SOS still stands.
    await q.db.query(
      `UPDATE alarms SET status = 'resolved', resolution_reason = 'false_alarm' WHERE id = $1`,
      [raised[0]!.id],
    );
    expect((await alarmsOf('PS-0003')).map((a) => [a.event, a.status])).toEqual([
      ['hb-1', 'resolved'],
      ['sos-3', 'open'],
    ]);
  });

  it('raises a readable SOS on its own behind a report of a type no map names, on an unsigned fob too', async () => {
    const at = new Date().toISOString();
    const body = Buffer.from(
      JSON.stringify([
        { event_id: 'pos-1', device: { id: 'PS-0004' }, type: 'POSITION_REPORT', occurred_at: at },
        { event_id: 'sos-4', device: { id: 'PS-0004' }, type: 'SOS', occurred_at: at },
      ]),
    );
    await acceptFobPayload(deps(), school, mqttT, body, on('PS-0004'));
    expect((await alarmsOf('PS-0004')).map((a) => [a.event, a.trusted])).toEqual([
      ['pos-1', false],
      ['sos-4', true],
    ]);
  });

  it('raises a trusted SOS on its own behind an SOS flagged untrusted (a field it could not read)', async () => {
    const at = new Date().toISOString();
    const body = Buffer.from(
      JSON.stringify([
        { event_id: 'sos-6a', device: { id: 'PS-0006' }, type: 'SOS', occurred_at: at, battery: 'low' },
        { event_id: 'sos-6b', device: { id: 'PS-0006' }, type: 'SOS', occurred_at: at },
      ]),
    );
    await acceptFobPayload(deps(), school, mqttT, body, on('PS-0006'));
    expect((await alarmsOf('PS-0006')).map((a) => [a.event, a.trusted])).toEqual([
      ['sos-6a', false],
      ['sos-6b', true],
    ]);
  });

  it('still pages once for two real, signed SOS presses in one message: the second noted on the first', async () => {
    const at = new Date().toISOString();
    const body = Buffer.from(
      JSON.stringify([
        { event_id: 'sos-5a', device: { id: 'PS-0005' }, type: 'SOS', occurred_at: at },
        { event_id: 'sos-5b', device: { id: 'PS-0005' }, type: 'SOS', occurred_at: at },
      ]),
    );
    await acceptFobPayload(deps(), school, mqttT, body, signedOn('PS-0005', body));
    const raised = await alarmsOf('PS-0005');
    expect(raised.map((a) => [a.event, a.trusted])).toEqual([['sos-5a', true]]);
    const { rows } = await q.db.query<{ event: string }>(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'another %'`,
      [raised[0]!.id],
    );
    expect(rows.map((r) => r.event)).toEqual([
      expect.stringMatching(/^another sos from device PS-0005 came in the same message \(event sos-5b,/),
    ]);
  });
});
