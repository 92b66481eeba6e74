import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The data page tests the fobs' MQTT broker as `doorstep check` does (its credentials and topics on a
 * throwaway session, and whether it lets anyone in), beside the MIS, records and channels: a data
 * manager setting up fobs had no way to see from the page that the broker would take Doorstep in.
 */
const schema = uniqueName('fobconn');
const topic = `doorstep/${schema.replace(/_/g, '-')}/fobs/+/events`;
const config = configWith({
  school: `    fobs:\n      transports:\n        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${topic}"] }\n`,
});
let db: Db;
let conn: Awaited<ReturnType<typeof connectRedis>>;
let app: FastifyInstance;
let dm: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  dm = await sessionFor(db, await addUser(db, 'dana', ['data-manager'], { displayName: 'Dana' }));
});
afterAll(async () => {
  await app.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe("the data page's fob broker connection test", () => {
  it('connects to the real broker, says anonymous access is allowed as a warning, and audits the test', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/data/test-connection',
      headers: { cookie: dm.cookie, 'x-csrf-token': dm.csrf },
      payload: { school: 'alpha', connector: 'fobs' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().results).toEqual([
      {
        name: 'alpha mqtt',
        ok: true,
        detail: `${TEST_MQTT_URL} without a username: connected and subscribed at QoS 1 to ${topic}`,
      },
      expect.objectContaining({ name: 'alpha mqtt anonymous', ok: true, warning: true }),
    ]);
    const { rows } = await db.query<{ entity_id: string; after: unknown }>(
      `SELECT entity_id, after FROM audit_log WHERE action = 'connector.tested'`,
    );
    expect(rows).toEqual([{ entity_id: 'fobs', after: { ok: true } }]);
  });

  it('says a broker that does not answer, naming it, never a 500', async () => {
    const down = configWith({
      school: `    fobs:\n      transports:\n        - { kind: mqtt, url: "mqtt://127.0.0.1:1", topics: ["${topic}"] }\n`,
    });
    const other = await buildWebApp(down, db, { prefix: `${schema}-down`, publisher: conn });
    try {
      const res = await other.inject({
        method: 'POST',
        url: '/api/data/test-connection',
        headers: { cookie: dm.cookie, 'x-csrf-token': dm.csrf },
        payload: { school: 'alpha', connector: 'fobs' },
      });
      expect(res.statusCode).toBe(200);
      const [creds] = res.json().results;
      expect(creds).toMatchObject({ name: 'alpha mqtt', ok: false });
      expect(creds.detail).toContain('mqtt://127.0.0.1:1');
    } finally {
      await other.close();
    }
  });
});
