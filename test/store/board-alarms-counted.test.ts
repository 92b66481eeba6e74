import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { BOARD_ALARMS, boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * The board is sent the first alarm cards, not all: more open alarms than that (a flood from a
 * hostile or broken gateway) are counted whole, so the board says how many it is not showing and its
 * title counts every unacknowledged one — a real alarm behind the flood is never hidden unsaid.
 */
const id = uniqueName('boardcount');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
`,
}).schools[0]!;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, id);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, id);
  await db.close();
  await dropSchema(id);
});

describe('the board with more open alarms than it has cards for', () => {
  it('counts every open and unacknowledged alarm, beyond the cards it is sent', async () => {
    const now = new Date('2026-11-23T10:00:00Z');
    const n = BOARD_ALARMS + 3;
    for (let i = 0; i < n; i++)
      await acceptFobPayload(
        { db, producer, prefix: id },
        school,
        school.fobs.transports[0]!,
        Buffer.from(
          JSON.stringify({
            event_id: `e-${i}`,
            device: { id: `D-${i}` },
            type: 'SOS',
            occurred_at: now.toISOString(),
          }),
        ),
        { receivedAt: now, source: `doorstep/alpha/fobs/D-${i}/events`, deviceId: `D-${i}`, signature: null },
      );
    await db.query(
      `UPDATE alarms SET status = 'acknowledged', acknowledged_at = now() WHERE device_id = 'D-0'`,
    );
    const board = await boardState(db, 'alpha', '2026-11-23', now, DEFAULT_VISIT_RULES);
    expect(board.alarms).toHaveLength(BOARD_ALARMS);
    expect(board.alarmsOpen).toEqual({ all: n, unacknowledged: n - 1 });
  }, 60_000);
});
