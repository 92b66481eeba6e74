import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisOptions } from '../../src/queue/redis.ts';
import { ALARM_PATH_TIMEOUT_MS, writeFobEvents } from '../../src/store/alarms.ts';
import type { Db, QueryOptions } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * A server that goes silent without a reset (a failover, a network partition): a TCP proxy in front
 * of the real PostgreSQL and Redis that stops passing bytes either way while `silent` is set.
 */
function silentProxy(target: { host: string; port: number }) {
  const state = { silent: false };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => state.silent || upstream.write(d));
    upstream.on('data', (d) => state.silent || client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return {
    state,
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
      ),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const schema = uniqueName('silent');
const pgUrl = new URL(TEST_DATABASE_URL);
const pgProxy = silentProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
const redisUrl = new URL(TEST_REDIS_URL);
const redisProxy = silentProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
let db: Db;
let proxiedUrl: string;

beforeAll(async () => {
  // The schema and its tables, made directly; the store under test reaches them through the proxy.
  await (await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema })).close();
  const port = await pgProxy.listen();
  const u = new URL(TEST_DATABASE_URL);
  u.host = `127.0.0.1:${port}`;
  proxiedUrl = u.toString();
  db = openPostgres({ url: proxiedUrl, schema, max: 2 });
});

afterAll(async () => {
  pgProxy.state.silent = false;
  await db.close().catch(() => {});
  await pgProxy.close();
  await redisProxy.close();
  await dropSchema(schema);
});

describe('a server that goes silent', () => {
  it('a statement with a time limit is given up when the server goes silent, and statements answer again once it is back', async () => {
    // Two connections open and idle in the pool (max 2).
    await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]);
    // In a transaction: the server goes silent after BEGIN; the statement is given up.
    await expect(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        pgProxy.state.silent = true;
        await tx.query('SELECT 2', [], { timeoutMs: 500 });
      }),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_SERVICE_UNAVAILABLE',
      message: expect.stringMatching(/did not answer within 500 ms/),
    });
    // A statement on its own, on the other open connection.
    await expect(db.query('SELECT 3', [], { timeoutMs: 500 })).rejects.toMatchObject({
      code: 'DOORSTEP_SERVICE_UNAVAILABLE',
    });
    pgProxy.state.silent = false;
    // Both connections were closed: the pool (max 2) is free, and a statement answers at once.
    const again = await Promise.all([
      db.query<{ n: number }>('SELECT 4 AS n', [], { timeoutMs: 5000 }),
      db.transaction((tx) => tx.query<{ n: number }>('SELECT 5 AS n', [], { timeoutMs: 5000 })),
    ]);
    expect(again.map((r) => r.rows[0]!.n)).toEqual([4, 5]);
  });

  it("the alarm path's statements all carry the time limit", async () => {
    const seen: (QueryOptions | undefined)[] = [];
    const spy = {
      query: async (_sql: string, _params?: readonly unknown[], options?: QueryOptions) => {
        seen.push(options);
        return { rows: [], rowCount: 0 };
      },
      exec: async () => {},
    };
    await writeFobEvents(spy as never, [
      {
        schoolId: 'alpha',
        staffId: null,
        contentHash: 'h',
        claimedDeviceId: null,
        trustIssue: null,
        clockSkewMs: null,
        isAlarm: true,
        boardPayload: {},
        event: {
          deviceId: 'PS-1',
          vendorEventId: 'e-1',
          type: 'sos',
          occurredAt: new Date(),
          receivedAt: new Date(),
          batteryPercent: null,
          message: null,
        },
      } as never,
    ]);
    expect(seen).toEqual([{ timeoutMs: ALARM_PATH_TIMEOUT_MS }]);
  });

  it('a producer command Redis never answers fails after its timeout, not when TCP gives up', async () => {
    const port = await redisProxy.listen();
    const redis = new Redis({
      ...redisOptions({ url: `redis://127.0.0.1:${port}` }, 'producer'),
      commandTimeout: 300,
      lazyConnect: true,
    });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    redisProxy.state.silent = true;
    await expect(redis.ping()).rejects.toThrow(/timed out/i);
    redisProxy.state.silent = false;
    redis.disconnect();
    // The setting itself, as every producer connection gets it.
    expect(redisOptions({ url: TEST_REDIS_URL }, 'producer').commandTimeout).toBeGreaterThan(0);
  });
});
