import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('routing');
const prefix = uniqueName('routing');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices: [{ deviceId: PS-1, staffId: st-1 }]
    escalation:
      sos: { levels: [{ afterMinutes: 0, notify: [board, sms:office] }] }
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
        sos: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
        alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
      weekend:
        sos: { levels: [{ afterMinutes: 0, notify: [board, sms:weekend-duty] }, { afterMinutes: 5, notify: [board, sms:head] }] }
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

async function sos(id: string, receivedAt: string, type = 'SOS') {
  const payload = { event_id: id, device: { id: 'PS-1' }, type, occurred_at: receivedAt };
  const r = await acceptFobPayload(
    { db, producer, prefix },
    school,
    transport,
    Buffer.from(JSON.stringify(payload)),
    {
      receivedAt: new Date(receivedAt),
      source: 'doorstep/alpha/fobs/PS-1/events',
      deviceId: 'PS-1',
      signature: null,
    },
  );
  expect(r).toMatchObject({ outcome: 'accepted' });
  const { rows } = await db.query<{ policy: { period: string; levels: { notify: string[] }[] } }>(
    'SELECT a.policy FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = $1',
    [id],
  );
  return rows[0]!.policy;
}

describe('the alarm writer snapshots the ladder chosen for the instant it was received', () => {
  it('school hours, out of hours (London time, after the March clock change) and the weekend', async () => {
    // Wednesday 1 April 2026, 07:30 UTC = 08:30 BST: school hours.
    const morning = await sos('r-1', '2026-04-01T07:30:00.000Z');
    expect([morning.period, morning.levels.map((l) => l.notify)]).toEqual([
      'school-hours',
      [['board', 'sms:office']],
    ]);
    // 16:30 UTC = 17:30 BST: out of hours.
    const evening = await sos('r-2', '2026-04-01T16:30:00.000Z');
    expect([evening.period, evening.levels[0]!.notify]).toEqual(['out-of-hours', ['board', 'sms:on-call']]);
    // Saturday 4 April: the weekend ladder, both levels.
    const saturday = await sos('r-3', '2026-04-04T12:00:00.000Z');
    expect([saturday.period, saturday.levels.length]).toEqual(['weekend', 2]);
  });
});

describe('a fob’s own missed check-in', () => {
  it('follows the school’s device ladder for its period, not the visit register’s default (which texts the wearer first)', async () => {
    // School hours: the school gives no `alarm` or `missed-check-in` ladder, so Doorstep's device default.
    const day = await sos('m-1', '2026-04-01T07:30:00.000Z', 'MISSED_CHECK_IN');
    expect([day.period, day.levels.map((l) => l.notify)]).toEqual([
      'school-hours',
      DEFAULT_ALARM_POLICY.levels.map((l) => l.notify),
    ]);
    // Out of hours the period's `alarm` ladder holds for it, as for any device alarm.
    const evening = await sos('m-2', '2026-04-01T16:30:00.000Z', 'MISSED_CHECK_IN');
    expect([evening.period, evening.levels.map((l) => l.notify)]).toEqual([
      'out-of-hours',
      [['board', 'sms:on-call-leaders']],
    ]);
  });
});
