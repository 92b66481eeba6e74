import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { newSetupToken } from '../../../src/auth/setup-link.ts';
import { loadConfigFile } from '../../../src/config/load.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * What a newcomer's browser console showed on every page: a 404 for /favicon.ico, a 404 for
 * /api/push/key on a board whose school has no push channel, and "Pattern attribute value … is not a
 * valid regular expression" on the setup page (browsers compile `pattern` with the `v` flag).
 */
const schema = uniqueName('furniture');
const prefix = uniqueName('furniture');
const vapid = webpush.generateVAPIDKeys();
let db: Db;
let conn: Redis;
let example: FastifyInstance;
let withPush: FastifyInstance;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  example = await buildWebApp(loadConfigFile('config/doorstep.example.yaml', {}), db, {
    prefix,
    publisher: conn,
  });
  withPush = await buildWebApp(
    configWith({
      env: { VAPID_PRIVATE: vapid.privateKey },
      school: `    channels:
      push: { publicKey: ${vapid.publicKey}, privateKey: "\${VAPID_PRIVATE}", subject: "mailto:office@alpha.example" }
`,
    }),
    db,
    { prefix, publisher: conn },
  );
});
afterAll(async () => {
  await example.close();
  await withPush.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe("the pages' furniture", () => {
  it('answers /favicon.ico with an icon, without a session', async () => {
    const r = await example.inject('/favicon.ico');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(r.body).toMatch(/^<svg /);
    expect((await example.inject('/assets/favicon.svg')).body).toBe(r.body);
  });

  it('every pattern attribute the pages carry is a valid regular expression with the v flag', async () => {
    const token = await newSetupToken(db, new Date());
    const setup = (await example.inject(`/setup?token=${token}`)).body;
    expect(setup).toMatch(/<form id="setup"/);
    const patterns = [...setup.matchAll(/\spattern="([^"]*)"/g)].map((m) => m[1]!);
    // The front end's modules too (h('input', { pattern: '…' })).
    for (const f of readdirSync('web/assets').filter((n) => n.endsWith('.js')))
      for (const m of readFileSync(`web/assets/${f}`, 'utf8').matchAll(/\bpattern:\s*'([^']*)'/g))
        patterns.push(m[1]!);
    expect(patterns.length).toBeGreaterThan(0);
    for (const p of patterns) {
      const html = p.replaceAll('&#92;', '\\');
      expect(() => new RegExp(`^(?:${html})$`, 'v'), p).not.toThrow();
    }
    // And it still means what the server checks: 2–64 of lower-case letters, digits, dot, dash, underscore.
    const username = new RegExp(`^(?:${patterns[0]})$`, 'v');
    expect(['ada.admin', 'a-b_c', 'x1'].every((n) => username.test(n))).toBe(true);
    expect(['A', 'a', '-ab', 'ab cd'].some((n) => username.test(n))).toBe(false);
  });

  it("says which of the person's schools has a push channel, so the board asks no key of one without", async () => {
    const admin = await addUser(db, 'furniture-admin', ['admin', 'office']);
    const s = await sessionFor(db, admin);
    const me = (app: FastifyInstance) => app.inject({ url: '/api/me', headers: { cookie: s.cookie } });
    expect((await me(example)).json().schools).toEqual([
      { id: 'heath-lane', name: 'Heath Lane Academy', push: false },
      { id: 'hampton-infant', name: 'Hampton Infant School and Nursery', push: false },
    ]);
    expect((await me(withPush)).json().schools).toEqual([{ id: 'alpha', name: 'Alpha Primary', push: true }]);
    // The board's module asks for the key only after the school list says there is one.
    const board = readFileSync('web/assets/board-push.js', 'utf8');
    const pushToggle = board.slice(board.indexOf('export async function pushToggle'));
    expect(pushToggle.indexOf('.push)')).toBeGreaterThan(-1);
    expect(pushToggle).not.toContain('/api/push/key');
  });
});
