import { describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { configWith } from '../helpers/config.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * A fob that lost its network (or tipped over) and whose wearer then pressed SOS / duress while it
 * was out of signal: the gateway sends the backlog as one message. The SOS must be its own alarm, with
 * its own (SOS/duress) ladder and severity — not a line on a low-priority device-fault alarm.
 */
const q = storeAndQueue('batch_fold_types');
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices:
        - { deviceId: PS-0001, staffId: s-1 }
        - { deviceId: PS-0002, staffId: s-2 }
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
