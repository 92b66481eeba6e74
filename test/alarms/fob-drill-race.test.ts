import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseFobDrill } from '../../src/alarms/fob-drill.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

const schema = uniqueName('drill_race');
const prefix = uniqueName('drill-race').replace(/_/g, '-');
const school = configWith({ school: '    fobs: { devices: [{ deviceId: PS-RACE-1, staffId: staff-9 }] }' })
  .schools[0]!;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;

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

describe('a fob drill', () => {
  it('asked for twice at the same moment is one open drill and one refusal', async () => {
    // A table lock that lets both drills read (neither sees an open drill) and holds their inserts:
    // without the device's drill lock both would then write, two open TEST alarms for one fob.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = db.transaction(async (tx) => {
      await tx.query(`LOCK TABLE alarms IN SHARE MODE`);
      locked();
      await held;
    });
    await isLocked;
    const deps = { db, producer, prefix };
    const drill = (second: number) =>
      raiseFobDrill(deps, school, 'PS-RACE-1', 'it:ada', new Date(Date.UTC(2026, 11, 3, 10, 0, second)));
    const both = Promise.allSettled([drill(1), drill(2)]);
    // Both drills waiting on a lock now, one way or the other (seen in the server, not slept for).
    await until(async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND (query LIKE '%fob-drill%' OR query LIKE '%raise_alarms%')`,
      );
      return rows[0]!.n >= 2;
    });
    release();
    await holder;
    const results = await both;
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason.message)).toMatch(
      /a TEST alarm for PS-RACE-1 is still open \(#\d+\): resolve it first/,
    );
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alarms WHERE device_id = 'PS-RACE-1' AND test AND status <> 'resolved'`,
    );
    expect(rows[0]!.n).toBe(1);
  });
});
