import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { signDevicePayload } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { signStandardWebhook } from '../../src/core/standard-webhooks.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { WEBHOOK_READ_MAX_BYTES } from '../../src/http/fob-webhook.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { ingestProblems, refusingFeeds } from '../../src/store/ingest-status.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('the-previous-secret-being-rotated').toString('base64')}`;
/** The Blackline feed's own: one secret per webhook address (a signature does not name its address). */
const BL_SECRET = `whsec_${Buffer.from('the-blackline-feeds-own-secret!!').toString('base64')}`;
const NOW = new Date('2025-11-18T10:02:05Z');
/** The server's clock: NOW, but where a test moves it (and puts it back after). */
let clock = NOW;
const schema = uniqueName('webhook');
const prefix = uniqueName('webhook');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;

const config = configWith({
  env: {
    FOB_SECRET: SECRET,
    FOB_OLD_SECRET: OLD_SECRET,
    FOB_BL_SECRET: BL_SECRET,
    DEVICE_KEY: 'a-per-device-signing-key',
  },
  school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}", previousSecret: "\${FOB_OLD_SECRET}", maxBytes: 4096 }
        - { kind: webhook, profile: blackline, secret: "\${FOB_BL_SECRET}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
        - { deviceId: PS-0042, staffId: staff-42, signingKey: "\${DEVICE_KEY}" }
`,
});
const DEVICE_KEY = 'a-per-device-signing-key';

let n = 0;
function sos(overrides: Record<string, unknown> = {}) {
  n++;
  return {
    event_id: `ev-${n}`,
    device: { id: 'PS-0001' },
    type: 'SOS',
    occurred_at: '2025-11-18T10:02:00Z',
    ...overrides,
  };
}

async function post(
  body: unknown,
  opts: {
    id?: string;
    ts?: number;
    secret?: string;
    profile?: string;
    raw?: string;
    /** `null`: no Content-Type at all. */
    contentType?: string | null;
    headers?: Record<string, string>;
  } = {},
) {
  const raw = Buffer.from(opts.raw ?? JSON.stringify(body));
  const id = opts.id ?? `msg_${n}_${Math.random().toString(36).slice(2)}`;
  const ts = opts.ts ?? Math.floor(NOW.getTime() / 1000);
  return app.inject({
    method: 'POST',
    url: `/hooks/fob/alpha/${opts.profile ?? 'peoplesafe-style'}`,
    headers: {
      ...(opts.contentType === null ? {} : { 'content-type': opts.contentType ?? 'application/json' }),
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(
        opts.secret ?? (opts.profile === 'blackline' ? BL_SECRET : SECRET),
        id,
        ts,
        raw,
      ),
      ...opts.headers,
    },
    payload: raw,
  });
}

async function feedRow(transportKey: string) {
  const { rows } = await db.query<{ refused: number }>(
    'SELECT refused_since_taken AS refused FROM ingest_status WHERE transport_key = $1',
    [transportKey],
  );
  return rows[0];
}

async function count(table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    fobWebhooks: { config, ingest: { db, producer, prefix }, now: () => clock, feedWriteEveryMs: 0 },
  });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('fob webhooks', () => {
  it('accepts a signed SOS: one alarm naming the staff member, audited, on the board, escalation queued', async () => {
    const r = await post(sos());
    expect(r.statusCode).toBe(202);
    const { alarmId } = r.json() as { alarmId: string };
    const { rows } = await db.query(
      `SELECT staff_id, unknown_device, type, status FROM alarms WHERE id = $1`,
      [alarmId],
    );
    expect(rows[0]).toEqual({ staff_id: 'staff-17', unknown_device: false, type: 'sos', status: 'open' });
    expect(await listAudit(db, { entityType: 'alarm', entityId: alarmId })).toHaveLength(1);
    const { rows: board } = await db.query<{ type: string; payload: { alarmId: string } }>(
      'SELECT type, payload FROM board_events',
    );
    expect(board).toContainEqual({ type: 'alarm.raised', payload: expect.objectContaining({ alarmId }) });
    const job = await producer.queueFor('escalate').getJob(`escalate-${alarmId}-0`);
    expect(job?.data).toEqual({ alarmId, step: 0 });
  });

  it('verifies signatures made by the Standard Webhooks reference library, and the previous secret during rotation', async () => {
    const body = JSON.stringify(sos());
    const id = 'msg_reference_1';
    const ts = new Date(NOW.getTime());
    const signature = new Webhook(SECRET).sign(id, ts, body);
    const r = await app.inject({
      method: 'POST',
      url: '/hooks/fob/alpha/peoplesafe-style',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
        'webhook-signature': signature,
      },
      payload: body,
    });
    expect(r.statusCode).toBe(202);
    expect((await post(sos(), { secret: OLD_SECRET })).statusCode).toBe(202);
  });

  it('answers a replayed webhook id or a re-sent device event with 200 and no second alarm', async () => {
    const alarms = await count('alarms');
    const body = sos();
    const first = await post(body, { id: 'msg_replay' });
    expect(first.statusCode).toBe(202);
    const replay = await post(body, { id: 'msg_replay' });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ outcome: 'duplicate' });
    const resent = await post(body, { id: 'msg_other_id' });
    expect(resent.statusCode).toBe(200);
    expect(resent.json()).toMatchObject({
      outcome: 'duplicate',
      alarmId: (first.json() as { alarmId: string }).alarmId,
    });
    expect(await count('alarms')).toBe(alarms + 1);
  });

  it('refuses forged, stale, unverified oversized and malformed webhooks, and none becomes an alarm', async () => {
    const alarms = await count('alarms');
    const forged = await post(sos(), { secret: `whsec_${Buffer.from('not-the-secret').toString('base64')}` });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ message: 'no signature matches' });
    const stale = await post(sos(), { ts: Math.floor(NOW.getTime() / 1000) - 301 });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().message).toContain('outside the 5-minute tolerance');
    const unsigned = await app.inject({
      method: 'POST',
      url: '/hooks/fob/alpha/peoplesafe-style',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(unsigned.statusCode).toBe(401);
    // Over the feed's maxBytes and not verified: refused for its size, as ever (a signed one is
    // raised: below), whether unsigned or signed with another secret.
    const oversized = sos({ message: 'x'.repeat(5000) });
    const unsignedOversized = await app.inject({
      method: 'POST',
      url: '/hooks/fob/alpha/peoplesafe-style',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(oversized),
    });
    expect(unsignedOversized.statusCode).toBe(413);
    const forgedOversized = await post(oversized, {
      secret: `whsec_${Buffer.from('not-the-secret').toString('base64')}`,
    });
    expect(forgedOversized.statusCode).toBe(413);
    expect(forgedOversized.json()).toEqual({
      code: 'DOORSTEP_PAYLOAD_TOO_LARGE',
      message: 'over 4096 bytes',
    });
    // A check-in that cannot be read must not count (an SOS is raised all the same: next test).
    const badField = await post(sos({ type: 'CHECK_IN', occurred_at: 'yesterday' }));
    expect(badField.statusCode).toBe(422);
    expect(badField.json()).toMatchObject({ field: 'occurredAt' });
    expect(await count('alarms')).toBe(alarms);
    const { rows } = await db.query<{ reason: string }>('SELECT reason FROM rejected_events ORDER BY id');
    expect(rows.map((r) => r.reason)).toEqual([expect.stringMatching(/^occurredAt: /)]);
  });

  it('a verified message whose body cannot be read is raised (an SOS, device unknown, the feed named) — one open alarm per feed, later ones on its timeline', async () => {
    const first = await post(null, { raw: '<alert type="SOS" device="PS-0001"/>', id: 'msg_unreadable_1' });
    expect(first.statusCode).toBe(202);
    const alarmId = first.json().alarmId as string;
    const { rows } = await db.query<{ device_id: string; type: string; status: string; trust_issue: string }>(
      `SELECT a.device_id, a.type, a.status, e.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1`,
      [alarmId],
    );
    expect(rows[0]).toMatchObject({ device_id: '(unreadable device)', type: 'sos', status: 'open' });
    expect(rows[0]!.trust_issue).toContain(
      'the body is not JSON; raised as an SOS: a verified message from the peoplesafe-style webhook that names no device Doorstep can read',
    );
    // The vendor's retry of that delivery (same webhook-id) is the same alarm.
    const again = await post(null, { raw: '<alert type="SOS" device="PS-0001"/>', id: 'msg_unreadable_1' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ outcome: 'duplicate', alarmId });
    // Another unreadable message while it is open: noted on it, kept refused, no second alarm.
    const next = await post(null, { raw: '{"event_id": ' });
    expect(next.json()).toMatchObject({ outcome: 'duplicate', alarmId });
    const timeline = await timelineOf(db, alarmId);
    expect(timeline.map((t) => t.event)).toContainEqual(
      expect.stringMatching(
        /^another message from the peoplesafe-style webhook could not be read \(the body is not JSON\)/,
      ),
    );
    // Acknowledged (its paging stopped), the next unreadable message is a new alarm that pages:
    // another worker's SOS in the same format is never only a line on an alarm someone is handling.
    await db.query(`UPDATE alarms SET status = 'acknowledged', acknowledged_at = now() WHERE id = $1`, [
      alarmId,
    ]);
    const second = await post(null, { raw: 'SOS device=PS-0777' });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toMatchObject({ outcome: 'accepted' });
    const secondId = second.json().alarmId as string;
    expect(secondId).not.toBe(alarmId);
    // Resolved, the next unreadable message raises again.
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolved_by = 'user:t', resolution_reason = 'false_alarm' WHERE id = ANY($1)`,
      [[alarmId, secondId]],
    );
    const after = await post(null, { raw: 'garbage' });
    expect(after.statusCode).toBe(202);
    expect([alarmId, secondId]).not.toContain(after.json().alarmId);
  });

  it("a feed whose every request is refused (a secret rotated on one side only) is said on the data manager's page, until one is taken", async () => {
    const wrong = `whsec_${Buffer.from('the-vendor-rotated-to-this-one!!').toString('base64')}`;
    const blackline = (id: number) => ({
      id,
      status: 'unacknowledged',
      type: 'sos_alert',
      date_created: '2025-11-18T10:02:00Z',
      contacts: [{ device_id: 'BL-1' }],
    });
    const refusing = async () =>
      (await refusingFeeds(db, 'alpha')).filter((p) => p.transport === 'webhook:blackline');
    for (let i = 0; i < 2; i++)
      expect((await post(blackline(6000 + i), { profile: 'blackline', secret: wrong })).statusCode).toBe(401);
    // Two stray requests say little.
    await vi.waitFor(async () => expect(await feedRow('webhook:blackline')).toMatchObject({ refused: 2 }));
    expect(await refusing()).toEqual([]);
    expect(
      (
        await post(blackline(6002), {
          profile: 'blackline',
          secret: wrong,
          contentType: 'application/json; note=call-07700900123',
        })
      ).statusCode,
    ).toBe(401);
    await vi.waitFor(async () =>
      expect(await refusing()).toEqual([
        {
          transport: 'webhook:blackline',
          refused: 3,
          since: NOW.toISOString(),
          reason: 'HTTP 401: the signature (or the address token) does not verify',
        },
      ]),
    );
    // Never on the board's red band: anyone can send a request that is refused.
    expect((await ingestProblems(db, 'alpha')).map((p) => p.transport)).not.toContain('webhook:blackline');
    // The vendor's secret put right: the next push is taken and the feed is arriving again.
    expect((await post(blackline(6003), { profile: 'blackline' })).statusCode).toBe(200);
    await vi.waitFor(async () => expect(await feedRow('webhook:blackline')).toMatchObject({ refused: 0 }));
    expect(await refusing()).toEqual([]);
  });

  it('a body over what is read at all (16 MiB), refused before it is read, is counted against its feed all the same', async () => {
    // Every alarm this vendor sends too large: the feed must say it refuses every message.
    const huge = (id: number) => ({ ...sos(), id, padding: 'x'.repeat(WEBHOOK_READ_MAX_BYTES) });
    for (let i = 0; i < 3; i++) {
      const res = await post(huge(7000 + i), { profile: 'blackline' });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toEqual({ code: 'DOORSTEP_PAYLOAD_TOO_LARGE', message: 'over 16777216 bytes' });
    }
    await vi.waitFor(async () =>
      expect((await refusingFeeds(db, 'alpha')).filter((p) => p.transport === 'webhook:blackline')).toEqual([
        {
          transport: 'webhook:blackline',
          refused: 3,
          since: NOW.toISOString(),
          reason: 'HTTP 413: over 16777216 bytes',
        },
      ]),
    );
    expect(
      (
        await post(
          {
            id: 7010,
            status: 'unacknowledged',
            type: 'sos_alert',
            date_created: '2025-11-18T10:02:00Z',
            contacts: [{ device_id: 'BL-1' }],
          },
          { profile: 'blackline' },
        )
      ).statusCode,
    ).toBe(200);
    await vi.waitFor(async () => expect(await feedRow('webhook:blackline')).toMatchObject({ refused: 0 }));
  });

  it('answers a webhook whose write fails (the database away) with a bare 500, never the error, so the vendor sends it again', async () => {
    const broken = {
      ...db,
      query: async () => {
        throw new Error('connect ECONNREFUSED 10.9.8.7:5432');
      },
      transaction: async () => {
        throw new Error('connect ECONNREFUSED 10.9.8.7:5432');
      },
    } as unknown as Db;
    const away = await buildHttpApp({
      log: createLogger({ level: 'silent' }),
      readiness: [],
      metrics: createMetrics([]),
      queues: [],
      fobWebhooks: { config, ingest: { db: broken, producer, prefix }, now: () => NOW, feedWriteEveryMs: 0 },
    });
    try {
      const raw = JSON.stringify(sos());
      const ts = Math.floor(NOW.getTime() / 1000);
      const res = await away.inject({
        method: 'POST',
        url: '/hooks/fob/alpha/peoplesafe-style',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_db_away',
          'webhook-timestamp': String(ts),
          'webhook-signature': signStandardWebhook(SECRET, 'msg_db_away', ts, Buffer.from(raw)),
        },
        payload: raw,
      });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ code: 'DOORSTEP_INTERNAL', message: 'internal error' });
    } finally {
      await away.close();
    }
  });

  it('raises an SOS whose time and battery cannot be read, at its received time, flagged with both', async () => {
    const r = await post(sos({ event_id: 'ps-unreadable', occurred_at: 'yesterday', battery: 'full' }));
    expect(r.statusCode).toBe(202);
    expect(r.json()).toMatchObject({ outcome: 'accepted', trusted: false });
    const { rows } = await db.query<{ raised_at: Date; trust_issue: string }>(
      'SELECT raised_at, trust_issue FROM alarms WHERE id = $1',
      [(r.json() as { alarmId: string }).alarmId],
    );
    expect(rows[0]!.raised_at.toISOString()).toBe(NOW.toISOString());
    expect(rows[0]!.trust_issue).toMatch(/could not be read in full: batteryPercent .*occurredAt/);
  });

  it('raises an alarm for an unknown device instead of dropping it', async () => {
    const r = await post(sos({ device: { id: 'PS-9999' } }));
    expect(r.statusCode).toBe(202);
    const { rows } = await db.query(`SELECT staff_id, unknown_device FROM alarms WHERE id = $1`, [
      (r.json() as { alarmId: string }).alarmId,
    ]);
    expect(rows[0]).toEqual({ staff_id: null, unknown_device: true });
  });

  it('stores check-ins and timers for the visit register without raising an alarm', async () => {
    const alarms = await count('alarms');
    for (const type of ['AMBER_START', 'CHECK_IN', 'AMBER_CANCEL'])
      expect((await post(sos({ type }))).statusCode).toBe(202);
    expect(await count('alarms')).toBe(alarms);
    const { rows } = await db.query<{ type: string }>(`SELECT type FROM fob_events ORDER BY id DESC LIMIT 3`);
    expect(rows.map((r) => r.type)).toEqual(['timer_cancelled', 'check_in', 'timer_started']);
  });

  it('answers Blackline with the MD5 hex of the body, and 404 for a profile the school does not use', async () => {
    const body = {
      id: 5001,
      status: 'unacknowledged',
      type: 'fall_detected_alert',
      date_created: '2025-11-18T10:02:00Z',
      contacts: [{ device_id: 'BL-1' }],
    };
    const r = await post(body, { profile: 'blackline' });
    expect(r.statusCode).toBe(200);
    const { createHash } = await import('node:crypto');
    expect(r.body).toBe(createHash('md5').update(JSON.stringify(body)).digest('hex'));
    expect((await post(sos(), { profile: 'generic' })).statusCode).toBe(404);
  });

  it('raises a real SOS whose event id a TEST pre-empted (202 with an alarm, never "duplicate")', async () => {
    const alarms = await count('alarms');
    const x = { event_id: 'pre-empted-w', device: { id: 'PS-0001' }, occurred_at: '2025-11-18T10:02:00Z' };
    expect((await post({ ...x, type: 'TEST' })).statusCode).toBe(202);
    const real = await post({ ...x, type: 'SOS' });
    expect(real.statusCode).toBe(202);
    expect(real.json()).toMatchObject({ outcome: 'accepted', idConflict: true, alarmId: expect.any(String) });
    expect(await count('alarms')).toBe(alarms + 1);
  });

  it('refuses an unverified webhook whose body is not declared JSON (415), storing nothing', async () => {
    const events = await count('fob_events');
    const rejected = await count('rejected_events');
    const forged = await post(sos(), {
      contentType: 'text/plain',
      secret: `whsec_${Buffer.from('not-the-secret').toString('base64')}`,
    });
    expect(forged.statusCode).toBe(415);
    const unsigned = await app.inject({
      method: 'POST',
      url: '/hooks/fob/alpha/peoplesafe-style',
      payload: Buffer.from(JSON.stringify(sos())),
    });
    expect(unsigned.statusCode).toBe(415);
    expect(await count('fob_events')).toBe(events);
    expect(await count('rejected_events')).toBe(rejected);
  });

  it('raises a verified SOS whatever content type it declares (text/plain, a vendor +json, none), once each', async () => {
    const alarms = await count('alarms');
    for (const [i, contentType] of (
      ['text/plain', 'application/vnd.vendor.alarm+json', null] as const
    ).entries()) {
      const body = sos();
      const id = `msg_any_type_${i}`;
      const first = await post(body, { id, contentType });
      expect(first.statusCode, String(contentType)).toBe(202);
      expect(first.json()).toMatchObject({ outcome: 'accepted', alarmId: expect.any(String) });
      const { rows } = await db.query(`SELECT staff_id, type FROM alarms WHERE id = $1`, [
        first.json().alarmId,
      ]);
      expect(rows[0]).toEqual({ staff_id: 'staff-17', type: 'sos' });
      // The vendor's retry: the same alarm, nothing more.
      const again = await post(body, { id, contentType });
      expect(again.statusCode, String(contentType)).toBe(200);
      expect(again.json()).toMatchObject({ outcome: 'duplicate', alarmId: first.json().alarmId });
      expect(await count('alarms')).toBe(alarms + i + 1);
    }
  });

  it("raises a verified SOS over the feed's maxBytes unread (as over MQTT), once; its retry raises nothing more", async () => {
    // No alarm for an unreadable body left open by an earlier test to fold this one into.
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolved_by = 'user:t', resolution_reason = 'false_alarm' WHERE device_id = '(unreadable device)' AND status <> 'resolved'`,
    );
    const alarms = await count('alarms');
    const body = sos({ message: `on the stairs, ${'x'.repeat(5000)}` });
    const first = await post(body, { id: 'msg_over_max_bytes' });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ outcome: 'accepted', alarmId: expect.any(String) });
    const alarmId = first.json().alarmId as string;
    const { rows } = await db.query<{ device_id: string; type: string; status: string; trust_issue: string }>(
      `SELECT a.device_id, a.type, a.status, e.trust_issue FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1`,
      [alarmId],
    );
    expect(rows[0]).toMatchObject({ device_id: '(unreadable device)', type: 'sos', status: 'open' });
    expect(rows[0]!.trust_issue).toContain('over the 4096 an event may have');
    const again = await post(body, { id: 'msg_over_max_bytes' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ outcome: 'duplicate', alarmId });
    expect(await count('alarms')).toBe(alarms + 1);
    // Declared as text as well: taken all the same.
    const typed = await post(sos({ message: 'y'.repeat(5000) }), {
      id: 'msg_over_text',
      contentType: 'text/plain',
    });
    expect(typed.statusCode).toBe(200);
    expect(typed.json()).toMatchObject({ outcome: 'duplicate', alarmId });
  });

  it("raises a verified Blackline push over its feed's maxBytes, answered with the body's MD5", async () => {
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolved_by = 'user:t', resolution_reason = 'false_alarm' WHERE device_id = '(unreadable device)' AND status <> 'resolved'`,
    );
    const alarms = await count('alarms');
    const body = {
      id: 8001,
      status: 'unacknowledged',
      type: 'sos_alert',
      date_created: '2025-11-18T10:02:00Z',
      contacts: [{ device_id: 'BL-1' }],
      trail: 'x'.repeat(70_000),
    };
    const r = await post(body, { profile: 'blackline', id: 'msg_bl_over' });
    expect(r.statusCode).toBe(200);
    const { createHash } = await import('node:crypto');
    expect(r.body).toBe(createHash('md5').update(JSON.stringify(body)).digest('hex'));
    expect(await count('alarms')).toBe(alarms + 1);
    expect((await post(body, { profile: 'blackline', id: 'msg_bl_over' })).statusCode).toBe(200);
    expect(await count('alarms')).toBe(alarms + 1);
  });

  it('checks a device signature where the device has a key: an unsigned or badly signed check-in is refused, an unsigned SOS is raised flagged', async () => {
    const ev = (type: string) => sos({ type, device: { id: 'PS-0042' } });
    const signed = ev('CHECK_IN');
    const raw = Buffer.from(JSON.stringify(signed));
    const good = await post(signed, {
      headers: { 'doorstep-device-signature': signDevicePayload(DEVICE_KEY, raw) },
    });
    expect(good.statusCode).toBe(202);
    expect(good.json()).toMatchObject({ trusted: true });
    const bad = await post(ev('CHECK_IN'), {
      headers: { 'doorstep-device-signature': signDevicePayload('another-key', raw) },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'DOORSTEP_FOB_EVENT_UNTRUSTED' });
    expect((await post(ev('CHECK_OUT'))).statusCode).toBe(422);
    const sosUnsigned = await post(ev('SOS'));
    expect(sosUnsigned.statusCode).toBe(202);
    expect(sosUnsigned.json()).toMatchObject({ trusted: false, alarmId: expect.any(String) });
    const { rows } = await db.query(`SELECT trust_issue FROM alarms WHERE id = $1`, [
      (sosUnsigned.json() as { alarmId: string }).alarmId,
    ]);
    expect(rows[0]).toEqual({ trust_issue: 'the device signature is missing' });
  });

  it('raises an alarm from a device clock in the future at its received time', async () => {
    const r = await post(sos({ occurred_at: '2099-01-01T00:00:00Z' }));
    expect(r.statusCode).toBe(202);
    const { rows } = await db.query<{ raised_at: Date }>(`SELECT raised_at FROM alarms WHERE id = $1`, [
      (r.json() as { alarmId: string }).alarmId,
    ]);
    expect(rows[0]!.raised_at.toISOString()).toBe(NOW.toISOString());
  });
});

/**
 * An alarm from a fob whose clock reset (its time more than 30 days off) is told from a new press
 * by what the transport gives besides its time: over a webhook, the delivery id a sender's retry
 * keeps (Standard Webhooks) — never the 2-minute window it happened to arrive in, which a retry
 * 5 minutes later falls outside of. (Blackline's push, with no delivery id: blackline-push.test.ts.)
 */
describe('a webhook retry of an alarm from a reset clock', () => {
  afterEach(() => {
    clock = NOW;
  });
  /** The same delivery (same webhook-id, same body), signed afresh at the current clock — as a Standard Webhooks sender retries. */
  const deliver = (raw: string, id: string) =>
    post(undefined, { raw, id, ts: Math.floor(clock.getTime() / 1000) });

  it('control: a merely late alarm (2 h behind) retried under the same webhook-id 5 min later is a duplicate', async () => {
    const raw = JSON.stringify({
      event_id: 'late-1',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2025-11-18T08:00:00Z',
    });
    const before = await count('alarms');
    expect((await deliver(raw, 'msg_late')).statusCode).toBe(202);
    clock = new Date(NOW.getTime() + 5 * 60_000);
    const retry = await deliver(raw, 'msg_late');
    expect(retry.statusCode).toBe(200);
    expect(await count('alarms')).toBe(before + 1);
  });

  it('a reset-clock SOS (dated 2000) retried under the same webhook-id 5 min later is the same alarm', async () => {
    const raw = JSON.stringify({
      event_id: 'reset-1',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2000-01-01T00:00:00Z',
    });
    const before = await count('alarms');
    const first = await deliver(raw, 'msg_reset');
    expect(first.statusCode).toBe(202);
    clock = new Date(NOW.getTime() + 5 * 60_000); // Standard Webhooks' (Svix) second retry: 5 minutes
    const retry = await deliver(raw, 'msg_reset');
    // What a redelivery should get (the docs: "200 for an exact redelivery (no second alarm)"):
    expect(retry.statusCode).toBe(200);
    expect(await count('alarms')).toBe(before + 1);
  });

  it('a new delivery (a new webhook-id) of the same reset-clock bytes is a new press: raised again', async () => {
    const raw = JSON.stringify({
      event_id: 'reset-2',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2000-01-01T00:00:00Z',
    });
    const before = await count('alarms');
    expect((await deliver(raw, 'msg_press_1')).statusCode).toBe(202);
    clock = new Date(NOW.getTime() + 60_000);
    expect((await deliver(raw, 'msg_press_2')).statusCode).toBe(202);
    expect(await count('alarms')).toBe(before + 2);
  });
});
