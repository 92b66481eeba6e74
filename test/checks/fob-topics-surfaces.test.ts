import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../src/cli/check-command.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

/**
 * A gateway's feed (`deviceBinding: none`) subscribed to its whole tree would raise its own status
 * and will messages as SOS: `doorstep check` warns, and so does the data page (where the data manager
 * sets up fobs).
 */
const FEED = `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["gw/alpha/#"], deviceBinding: none }
`;
const WARNING =
  "fobs.transports[0].topics[0] (mqtt, deviceBinding: none) is gw/alpha/#, with #: subscribe to the gateway's events topic only";

const dir = mkdtempSync(join(tmpdir(), 'doorstep-gw-topics-'));
const schema = uniqueName('gwtopics');
const prefix = uniqueName('gwtopics');
let db: Db;
let conn: Redis;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
});
afterAll(async () => {
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

describe("a gateway's feed subscribed with a wildcard", () => {
  it('doorstep check warns of it', async () => {
    const data = join(dir, 'd');
    mkdirSync(join(data, 'drop'), { recursive: true });
    const file = join(data, 'doorstep.yaml');
    writeFileSync(
      file,
      `
trust: { id: test-trust, name: Test Trust }
redis: { url: "${TEST_REDIS_URL}", prefix: doorstep-check }
store: { dataDir: "${data}/pglite" }
policiesDir: "${resolve('config/policies')}"
schools:
  - id: alpha
    name: Alpha Primary
    mis: { kind: csv, dropFolder: ${data}/drop }
    records: { sink: preview }
    policies: [statutory]
${FEED}`,
    );
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    const lines: string[] = [];
    try {
      await checkCommand({ config: file }, (l) => lines.push(l));
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
    expect(lines.filter((l) => l.includes('deviceBinding: none'))).toEqual([
      expect.stringContaining(`  WARN: alpha ${WARNING}`),
    ]);
  });

  it('the data page lists it with what the policy leaves unwatched', async () => {
    const producer = new Producer(catalog, conn, prefix);
    const app = await buildWebApp(configWith({ school: FEED }), db, { prefix, publisher: conn, producer });
    try {
      const dm = await sessionFor(db, await addUser(db, 'dm', ['data-manager']));
      const page = (
        await app.inject({ url: '/api/data?school=alpha', headers: { cookie: dm.cookie } })
      ).json();
      expect(page.watchGaps).toEqual([expect.stringContaining(WARNING)]);
    } finally {
      await app.close();
      await producer.close();
    }
  });
});
