import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAssets } from '../../src/http/web/pages.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, testConfig } from '../helpers/spawn.ts';
import { buildWebApp } from '../helpers/web.ts';

const schema = uniqueName('assets');
const prefix = uniqueName('assets');
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
  // The web process started below wrote its queues' keys under its own prefix (as its config says it).
  await dropRedisPrefix(
    await connectRedis({ url: TEST_REDIS_URL }, 'producer'),
    `${prefix}-cli`.replace(/_/g, '-'),
  );
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('the front end’s files', () => {
  it('are served from memory with an ETag, and a 304 when the browser has them', async () => {
    const res = await app.inject('/assets/board.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const etag = String(res.headers.etag);
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect(res.body).toBe(loadAssets().assets.get('board.js')!.body.toString());
    const again = await app.inject({ url: '/assets/board.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await app.inject('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    for (const url of [
      '/assets/nothing.js',
      '/assets/..%2Fpages%2Flogin.html',
      '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
    ])
      expect((await app.inject(url)).statusCode, url).toBe(404);
  });

  it('include every module a page imports: a missing part of a split page is named at start', () => {
    const web = mkdtempSync(join(tmpdir(), 'doorstep-web-'));
    try {
      cpSync('web', web, { recursive: true });
      expect(loadAssets(web).assets.has('board-sound.js')).toBe(true);
      for (const part of ['board-sound.js', 'visit-out.js']) {
        rmSync(join(web, 'assets', part));
        expect(() => loadAssets(web)).toThrow(part);
        cpSync(join('web', 'assets', part), join(web, 'assets', part));
      }
    } finally {
      rmSync(web, { recursive: true, force: true });
    }
  });

  it('missing from the folder stop the web role from starting: one line naming the folder, exit 3', async () => {
    // A copy of Doorstep without its web folder.
    const root = mkdtempSync(join(tmpdir(), 'doorstep-noweb-'));
    try {
      for (const part of ['src', 'connectors', 'jobs', 'config', 'package.json'])
        cpSync(part, join(root, part), { recursive: true });
      symlinkSync(resolve('node_modules'), join(root, 'node_modules'), 'dir');
      const port = await freePort();
      const config = join(root, 'doorstep.yaml');
      writeFileSync(
        config,
        testConfig({
          prefix: `${prefix}-cli`,
          port,
          redisUrl: TEST_REDIS_URL,
          dataDir: join(root, 'data'),
          schema: `${schema}_cli`,
        }),
      );
      const child = spawn(
        process.execPath,
        ['src/cli/main.ts', 'start', '--role', 'web', '--config', config],
        {
          cwd: root,
          env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'silent' },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += String(d);
      });
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(code).toBe(3);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(
        `doorstep: the web front end's files are missing from ${join(root, 'web')} (`,
      );
      // Nothing was listening meanwhile that would have served 404s.
      await expect(fetch(`http://127.0.0.1:${port}/login`)).rejects.toThrow();
    } finally {
      rmSync(root, { recursive: true, force: true });
      await dropSchema(`${schema}_cli`);
    }
  });
});

describe('after sign-in', () => {
  const page = pathToFileURL(resolve('web/assets/login-next.js')).href;
  it('goes to the page it came from only when that is on this site', async () => {
    const { afterSignIn } = (await import(page)) as {
      afterSignIn: (search: string, origin: string, home: string) => string;
    };
    const origin = 'http://127.0.0.1:8080';
    const next = (n: string) => afterSignIn(`?next=${encodeURIComponent(n)}`, origin, '/board');
    expect(next('/\\127.0.0.1:8199/phish')).toBe('/board'); // the address: a browser reads \ as /
    expect(afterSignIn('?next=/\\127.0.0.1:8199/phish', origin, '/board')).toBe('/board');
    for (const off of [
      '//evil.example/x',
      '\\\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/\t/evil.example',
    ])
      expect(next(off), off).toBe('/board');
    // A path that normalises to `//host` stays on this origin as an absolute URL.
    expect(next('/.//evil.example/x')).toBe(`${origin}//evil.example/x`);
    expect(next('/visits/12?school=alpha#top')).toBe(`${origin}/visits/12?school=alpha#top`);
    expect(afterSignIn('', origin, '/board')).toBe('/board');
  });
});
