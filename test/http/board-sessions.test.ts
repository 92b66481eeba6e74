import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeAccount } from '../../src/auth/accounts.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { insertBoardEvent, publishBoardEvents } from '../../src/store/board.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { createSession, type User } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, sessionFor, webDeps } from '../helpers/web.ts';

const schema = uniqueName('boardsess');
const prefix = uniqueName('boardsess');
const config = configWith();
let db: Db;
let conn: Redis;
const apps: FastifyInstance[] = [];
/** Two web processes on one Redis and one store, and a third that re-checks sessions often. */
let one: string;
let two: string;
let rechecking: string;
let admin: { cookie: string; csrf: string };

async function webProcess(revalidateMs?: number): Promise<string> {
  const app = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    boardEvents: {
      config,
      db,
      subscriber: await connectRedis({ url: TEST_REDIS_URL }, 'worker'),
      prefix,
      ...(revalidateMs ? { revalidateMs } : {}),
    },
    web: webDeps(config, db, { prefix, publisher: conn }),
  });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  [one, two, rechecking] = [await webProcess(), await webProcess(), await webProcess(300)];
  admin = await sessionFor(db, await addUser(db, 'the.admin', ['admin']));
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

/** An open board stream: its text so far, and a promise that settles when the server ends it. */
async function openStream(base: string, cookie: string) {
  const res = await fetch(`${base}/board/events?school=alpha`, { headers: { cookie } });
  expect(res.status).toBe(200);
  let text = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let stop!: () => void;
  const cancelled = new Promise<'open'>((resolve) => {
    stop = () => resolve('open');
  });
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended' as const;
      text += decoder.decode(value, { stream: true });
    }
  })();
  // The stream has started once the catch-up is written (`retry:` first).
  while (!text.includes('retry:')) await new Promise((r) => setTimeout(r, 10));
  return {
    text: () => text,
    /** Ended by the server, or still open after `ms` (a bound, not a speed claim). */
    outcome: (ms = 10_000) => {
      const t = setTimeout(stop, ms);
      return Promise.race([ended, cancelled]).finally(() => clearTimeout(t));
    },
    close: () => reader.cancel().catch(() => {}),
  };
}

const post = (base: string, path: string, who: { cookie: string; csrf: string }, body: object = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function officeUser(name: string): Promise<{ user: User; session: { cookie: string; csrf: string } }> {
  const user = await addUser(db, name, ['office']);
  return { user, session: await sessionFor(db, user) };
}

describe('board streams live no longer than their session', () => {
  it('signing out ends every open stream of that session, in every process, and no other', async () => {
    const { session } = await officeUser('office.out');
    const { session: colleague } = await officeUser('office.stays');
    const onOne = await openStream(one, session.cookie);
    const onTwo = await openStream(two, session.cookie);
    const other = await openStream(two, colleague.cookie);
    expect((await post(one, '/api/logout', session)).status).toBe(200);
    expect(await onOne.outcome()).toBe('ended');
    expect(await onTwo.outcome()).toBe('ended');
    expect(onTwo.text()).toContain('event: session-ended');
    // The colleague's stream is still open and still hears alarms.
    const e = await insertBoardEvent(db, 'alpha', 'alarm.raised', { alarmId: '1' });
    await publishBoardEvents(conn, prefix, [e]);
    while (!other.text().includes(`id: ${e.id}`)) await new Promise((r) => setTimeout(r, 10));
    await other.close();
    // Reconnecting with the ended session is refused.
    expect(
      (await fetch(`${one}/board/events?school=alpha`, { headers: { cookie: session.cookie } })).status,
    ).toBe(401);
  });

  it('disabling the account, or giving it a new password, ends its streams', async () => {
    for (const [action, body] of [
      ['disable', {}],
      ['password', { password: 'a brand new long password' }],
    ] as const) {
      const { user, session } = await officeUser(`office.${action}`);
      const stream = await openStream(two, session.cookie);
      expect((await post(one, `/api/users/${user.id}/${action}`, admin, body)).status).toBe(200);
      expect(await stream.outcome(), action).toBe('ended');
    }
  });

  it('a stream ends when its session expires', async () => {
    const { user } = await officeUser('office.expiring');
    const s = await createSession(db, user.id, 1500, new Date());
    const stream = await openStream(one, `doorstep_session=${s.token}`);
    expect(await stream.outcome()).toBe('ended');
    expect(stream.text()).toContain('event: session-ended');
  });

  it('a change no process announced (the CLI) is caught by the periodic re-check', async () => {
    const { user, session } = await officeUser('office.cli');
    const stream = await openStream(rechecking, session.cookie);
    await changeAccount(db, user.id, 'disable', 'system:cli'); // no Redis message
    expect(await stream.outcome()).toBe('ended');
  });
});
