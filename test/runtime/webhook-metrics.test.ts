import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/core/standard-webhooks.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type RunningDoorstep, startDoorstep } from '../../src/runtime/start.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * The webhook is a way into the alarm path like MQTT, started as `doorstep start` starts it: what it
 * refuses or cannot trust is counted in `/metrics` as the MQTT path's is, so an alert rule on those
 * counters sees a vendor gateway sending unsigned or unreadable events.
 */
const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`;
const schema = uniqueName('hookmetrics');
const prefix = uniqueName('hookmetrics').replace(/_/g, '-');
const base = configWith({
  env: { FOB_SECRET: SECRET, DEVICE_KEY: 'a-per-device-signing-key' },
  school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
      devices:
        - { deviceId: PS-0042, staffId: staff-42, signingKey: "\${DEVICE_KEY}" }
`,
});
const config = {
  ...base,
  http: { ...base.http, host: '127.0.0.1', port: 0 },
  redis: { ...base.redis, url: TEST_REDIS_URL, prefix },
  store: { ...base.store, schema },
};
let running: RunningDoorstep;

beforeAll(async () => {
  running = await startDoorstep({
    config,
    roles: ['web'],
    log: createLogger({ level: 'silent' }),
    databaseUrl: TEST_DATABASE_URL,
  });
});
afterAll(async () => {
  await running.stop(5_000);
  const redis = new Redis(TEST_REDIS_URL);
  await dropRedisPrefix(redis, prefix);
  redis.disconnect();
  await dropSchema(schema);
});

async function hook(body: string, n: number) {
  const raw = Buffer.from(body);
  const id = `msg_metrics_${n}`;
  const ts = Math.floor(Date.now() / 1000);
  return fetch(`${running.url}/hooks/fob/alpha/peoplesafe-style`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(SECRET, id, ts, raw),
    },
    body: raw,
  });
}

describe('doorstep start: the fob webhook in /metrics', () => {
  it('counts an unsigned alarm from a device that signs (raised, untrusted) and an unreadable event (refused)', async () => {
    const sos = {
      event_id: 'ev-unsigned',
      device: { id: 'PS-0042' },
      type: 'SOS',
      occurred_at: new Date().toISOString(),
    };
    expect((await hook(JSON.stringify(sos), 1)).status).toBe(202);
    // A check-in that cannot be read (no device, no time) is refused whole (an alarm never is).
    expect((await hook('{"type": "CHECK_IN", "event_id": "c-1"}', 2)).status).toBeGreaterThanOrEqual(400);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/doorstep_fob_untrusted_total\{school="alpha",transport="webhook[^"]*"\} 1/);
    expect(metrics).toMatch(/doorstep_fob_rejected_total\{school="alpha",transport="webhook[^"]*"\} 1/);
  });
});
