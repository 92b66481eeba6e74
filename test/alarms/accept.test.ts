import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('accept');
const prefix = uniqueName('accept');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
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

describe('a payload that is refused', () => {
  it('is kept only up to a bound (with its length), never whole', async () => {
    const junk = Buffer.alloc(1_048_576, 'x');
    const r = await acceptFobPayload({ db, producer, prefix }, school, transport, junk, {
      receivedAt: new Date(),
      source: 'doorstep/alpha/fobs/PS-1/events',
      deviceId: 'PS-1',
      signature: null,
    });
    expect(r).toMatchObject({ outcome: 'invalid', field: '(body)' });
    const { rows } = await db.query<{ n: number; raw_bytes: number }>(
      'SELECT length(raw) AS n, raw_bytes FROM rejected_events',
    );
    expect(rows).toEqual([{ n: 4096, raw_bytes: 1_048_576 }]);
  });
});
