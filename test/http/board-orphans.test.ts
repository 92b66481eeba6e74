import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';
import { orphansTo, schoolOrFallback } from '../../src/config/school-of.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { insertBoardEvent, publishBoardEvents } from '../../src/store/board.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

/**
 * `trust.orphansTo`: the school that takes the workers out and alarms open of a school the config no
 * longer holds. Checked to name a school of the config; the first school when left out. Its boards
 * hear such a school's alarms live (as another school's, and re-read), no other school's boards do.
 */
function trust(orphans?: string) {
  const school = (id: string) => `
  - id: ${id}
    name: ${id} school
    mis: { kind: sims-xml, dropFolder: ./data/drop/${id} }
    records: { sink: preview }
    policies: [statutory]`;
  return parseConfigText(
    `trust: { id: test-trust, name: Test Trust${orphans ? `, orphansTo: ${orphans}` : ''} }\nschools:${school('alpha')}${school('beta')}\n`,
    { env: {} },
  );
}

describe('trust.orphansTo', () => {
  it('names a school of the config; left out, the first', () => {
    const named = trust('beta');
    const unset = trust();
    if (!named.ok || !unset.ok) throw new Error('expected both configs to load');
    expect(orphansTo(named.config).id).toBe('beta');
    expect(orphansTo(unset.config).id).toBe('alpha');
    expect(schoolOrFallback(named.config, 'gone')).toEqual({
      school: expect.objectContaining({ id: 'beta' }),
      orphan: 'gone, a school no longer in the configuration',
    });
    expect(schoolOrFallback(named.config, 'alpha')).toEqual({
      school: expect.objectContaining({ id: 'alpha' }),
      orphan: null,
    });
    const wrong = trust('gamma');
    expect(wrong.ok).toBe(false);
    if (!wrong.ok)
      expect(wrong.problems).toEqual([
        expect.objectContaining({
          path: 'trust.orphansTo',
          message: expect.stringContaining('no school "gamma" in schools (have: alpha, beta)'),
        }),
      ]);
  });
});

const schema = uniqueName('orphanboard');
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let base: string;
let betaOnly: { cookie: string; csrf: string };
let alphaOnly: { cookie: string; csrf: string };
let alphaAndBeta: { cookie: string; csrf: string };

beforeAll(async () => {
  const r = trust('beta');
  if (!r.ok) throw new Error('expected the config to load');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(r.config, db, { prefix: schema, publisher: conn });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  betaOnly = await sessionFor(db, await addUser(db, 'beta.office', ['office'], { schools: ['beta'] }));
  alphaOnly = await sessionFor(db, await addUser(db, 'alpha.office', ['office'], { schools: ['alpha'] }));
  alphaAndBeta = await sessionFor(
    db,
    await addUser(db, 'both.office', ['office'], { schools: ['alpha', 'beta'] }),
  );
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

/** An open board stream's text so far. */
async function openStream(cookie: string, school: string) {
  const res = await fetch(`${base}/board/events?school=${school}`, { headers: { cookie } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  while (!text.includes('event: heartbeat')) await new Promise((r) => setTimeout(r, 10));
  return { text: () => text, close: () => reader.cancel().catch(() => {}) };
}

describe('an alarm at a school the config no longer holds', () => {
  it("reaches the orphansTo school's open boards at once, and no other school's", async () => {
    const taker = await openStream(betaOnly.cookie, 'beta');
    const other = await openStream(alphaOnly.cookie, 'alpha');
    try {
      const e = await insertBoardEvent(db, 'gone', 'alarm.raised', { alarmId: '4242' });
      const mark = await insertBoardEvent(db, 'alpha', 'alarm.resolved', { alarmId: '1' });
      await publishBoardEvents(conn, schema, [e, mark]);
      const frame =
        'event: alarm-elsewhere\ndata: {"schoolId":"gone","type":"alarm.raised","alarmId":"4242"}\n\n';
      for (let i = 0; i < 500 && !taker.text().includes(frame); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(taker.text()).toContain(frame);
      // Alpha's board heard its own event published after it, and not the other school's.
      for (let i = 0; i < 500 && !other.text().includes(`id: ${mark.id}\n`); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(other.text()).toContain(`id: ${mark.id}\n`);
      expect(other.text()).not.toContain('alarm-elsewhere');
    } finally {
      await taker.close();
      await other.close();
    }
  });

  it("reaches the other boards of a person who may see the orphansTo school, as that school's alarm", async () => {
    const watching = await openStream(alphaAndBeta.cookie, 'alpha');
    try {
      const e = await insertBoardEvent(db, 'gone', 'alarm.raised', { alarmId: '4343' });
      await publishBoardEvents(conn, schema, [e]);
      const frame =
        'event: alarm-elsewhere\ndata: {"schoolId":"beta","type":"alarm.raised","alarmId":"4343"}\n\n';
      for (let i = 0; i < 500 && !watching.text().includes(frame); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(watching.text()).toContain(frame);
    } finally {
      await watching.close();
    }
  });
});
