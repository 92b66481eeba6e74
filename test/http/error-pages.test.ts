import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

const schema = uniqueName('errpages');
const prefix = uniqueName('errpages');
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let cookie: string;

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(configWith(), db, { prefix, publisher: conn });
  // A page that fails as an unexpected bug would, with a detail that must never reach the browser.
  app.get('/test-failure', { config: { access: 'public' } }, () => {
    throw new Error('connection to 10.0.0.5 refused at Object.<anonymous> (/srv/secret.ts:12)');
  });
  app.get('/api/test-failure', { config: { access: 'public' } }, () => {
    throw new Error('connection to 10.0.0.5 refused');
  });
  cookie = (await sessionFor(db, await addUser(db, 'office-err', ['office']))).cookie;
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

function expectErrorPage(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['content-security-policy']).toContain("script-src 'self'");
  expect(res.body).toMatch(/^<!doctype html>/);
  expect(res.body).toContain('<link rel="stylesheet" href="/assets/app.css">');
  expect(res.body).toContain('<a href="/">Back to your start page</a>');
  expect(res.body).not.toContain('<script');
  expect(res.body).not.toMatch(/DOORSTEP_|"code"|stack|10\.0\.0\.5|secret\.ts/);
}

describe('error pages for a browser', () => {
  it('a missing page is a page saying so, with a link home — signed in or not', async () => {
    for (const headers of [{ accept: BROWSER }, { accept: BROWSER, cookie }]) {
      const res = await app.inject({ url: '/triggers', headers });
      expect(res.statusCode).toBe(404);
      expectErrorPage(res);
      expect(res.body).toContain('<h1>Page not found</h1>');
    }
    const deep = await app.inject({ url: '/pupils/A123/anything?x=<b>', headers: { accept: BROWSER } });
    expect(deep.statusCode).toBe(404);
    expect(deep.body).not.toContain('<b>');
  });

  it('a server failure is a page saying so, never the error or a stack', async () => {
    const res = await app.inject({ url: '/test-failure', headers: { accept: BROWSER } });
    expect(res.statusCode).toBe(500);
    expectErrorPage(res);
    expect(res.body).toContain('<h1>Something went wrong</h1>');
  });

  it('a visit or day list that does not exist is a page too', async () => {
    for (const url of ['/visits/999999/slip', '/visits/999999/letter', '/visits/list?school=nowhere']) {
      const res = await app.inject({ url, headers: { accept: BROWSER, cookie } });
      expect(res.statusCode, url).toBe(404);
      expectErrorPage(res);
    }
  });

  it('API clients keep JSON { code, message }', async () => {
    const missing = await app.inject({ url: '/api/nothing-here', headers: { accept: BROWSER } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'DOORSTEP_NOT_FOUND', message: 'no such page or API route' });
    const plain = await app.inject('/triggers');
    expect(plain.statusCode).toBe(404);
    expect(plain.json()).toMatchObject({ code: 'DOORSTEP_NOT_FOUND' });
    const posted = await app.inject({ method: 'POST', url: '/nothing', headers: { accept: BROWSER } });
    expect(posted.statusCode).toBe(404);
    expect(posted.json()).toMatchObject({ code: 'DOORSTEP_NOT_FOUND' });
    const failed = await app.inject({ url: '/api/test-failure', headers: { accept: BROWSER } });
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toEqual({ code: 'DOORSTEP_INTERNAL', message: 'internal error' });
  });
});
