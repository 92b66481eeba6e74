import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { FOB_BATTERY_OF_VISIT, visitFobBatteryLow } from '../../src/store/alarm-lookups.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * A fob going flat on a visit raised nothing and showed nowhere but on an alarm card: the worker
 * believed its SOS button protected them. Its low battery, reported while they are out, is on the
 * board's visit card and on the worker's phone page.
 */
const id = uniqueName('fobbattery');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let visitId = '';
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices:
        - { deviceId: PS-1, staffId: staff-1 }
`,
}).schools[0]!;
const report = (eventId: string, type: string, battery: number | null, at: string) =>
  acceptFobPayload(
    { db, producer, prefix: id },
    school,
    school.fobs.transports[0]!,
    Buffer.from(
      JSON.stringify({
        event_id: eventId,
        device: { id: 'PS-1' },
        type,
        occurred_at: at,
        ...(battery !== null ? { battery } : {}),
      }),
    ),
    {
      receivedAt: new Date(at),
      source: 'doorstep/alpha/fobs/PS-1/events',
      deviceId: 'PS-1',
      signature: null,
    },
  );

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, id);
  await addPupils(db, ['alpha']);
  const sam = await addUser(db, 'sam', ['visiting-staff'], { schools: ['alpha'] });
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by,
       lead_user_id, departed_at, expected_return_at, fob_device_id)
     VALUES ('alpha', 'P1', 'welfare', '{"line1": "1 Road", "postcode": "LS6 2QT"}', '2026-11-23', 'departed', $1,
       $1, '2026-11-23T10:00:00Z', '2026-11-23T14:00:00Z', 'PS-1') RETURNING id`,
    [sam.id],
  );
  visitId = String(rows[0]!.id);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, id);
  await db.close();
  await dropSchema(id);
});

const onBoard = async () =>
  (
    await boardState(db, 'alpha', '2026-11-23', new Date('2026-11-23T11:00:00Z'), DEFAULT_VISIT_RULES)
  ).visits.find((v) => v.id === visitId)!.fobBatteryLow;

describe('the fob a worker is out with reports a low battery', () => {
  it('a low-battery event since leaving is on the board card and the phone page; one from before leaving is not', async () => {
    await report('b-0', 'LOW_BATTERY', 8, '2026-11-23T09:30:00Z'); // before they left
    expect(await onBoard()).toBeNull();
    expect(await visitFobBatteryLow(db, visitId)).toBeNull();
    await report('b-1', 'LOW_BATTERY', 12, '2026-11-23T10:40:00Z');
    const low = { percent: 12, at: '2026-11-23T10:40:00.000Z' };
    expect(await onBoard()).toEqual(low);
    expect(await visitFobBatteryLow(db, visitId)).toEqual(low);
    // A later report well above the bar (a fob swapped or charged): no longer said.
    await report('b-2', 'CHECK_IN', 90, '2026-11-23T10:50:00Z');
    expect(await onBoard()).toBeNull();
    // Back safe: nothing to say.
    await db.query(
      `UPDATE visits SET returned_at = '2026-11-23T10:55:00Z', status = 'returned' WHERE id = $1`,
      [visitId],
    );
    expect(await visitFobBatteryLow(db, visitId)).toBeNull();
  });

  it("reads the device's battery reports by their own index, never every event the device sent", async () => {
    const plan = await db.transaction(async (tx) => {
      // The table is small here: the planner is told a scan of it is out of the question, as it is at a
      // device's 260,000 heartbeats; what it uses instead is what it would use then.
      await tx.query('SET LOCAL enable_seqscan = off');
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT ${FOB_BATTERY_OF_VISIT} AS fob_battery FROM visits v WHERE v.id = $1`,
        [visitId],
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index (Only )?Scan using fob_events_battery on fob_events/);
  });
});
