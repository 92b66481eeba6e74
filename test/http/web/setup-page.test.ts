import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp } from '../../helpers/web.ts';

const schema = uniqueName('setup');
const prefix = uniqueName('setup');
let db: Db;
let conn: Redis;
let app: FastifyInstance;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(configWith(), db, { prefix, publisher: conn });
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('a first run with no accounts', () => {
  it('the sign-in page carries a hidden link to the setup page, shown when the server says no account exists', () => {
    const login = readFileSync('web/pages/login.html', 'utf8');
    expect(login).toMatch(
      /<p id="first-run" hidden>[\s\S]*<a href="\/setup">How to create the first admin<\/a>/,
    );
    expect(readFileSync('web/assets/login.js', 'utf8')).toContain("fetch('/api/first-run'");
  });

  it('explains how to create the first admin with the CLI, and offers no form that would make one', async () => {
    expect((await app.inject('/api/first-run')).json()).toEqual({ needsFirstAdmin: true });
    const page = await app.inject('/setup');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('npx doorstep user add --config config/doorstep.example.yaml');
    expect(page.body).toContain('--roles admin,office');
    expect(page.body).toContain('in a second terminal (Doorstep keeps running)');
    expect(page.body).not.toMatch(/stop it first/);
    expect(page.body).not.toMatch(/<form|<script|<input/);
  });

  it('once an account exists, says only to ask the admin', async () => {
    await addUser(db, 'first-admin', ['admin']);
    expect((await app.inject('/api/first-run')).json()).toEqual({ needsFirstAdmin: false });
    const page = await app.inject('/setup');
    expect(page.body).toContain('ask your Doorstep admin');
    expect(page.body).not.toContain('npx doorstep user add');
  });
});
