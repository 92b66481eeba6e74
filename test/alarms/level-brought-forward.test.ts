import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

/**
 * Found by a newcomer's walk of the board: a school with no SMS channel, its alarm's first text failing
 * for good, had its ladder's second level brought forward at once — and the card showed only the NEXT
 * step's words (the first level's, milder, for the next round), never the level just sent ("call the
 * police"). The board now gives the words of the level last sent, and that it came early and why. The
 * same send was logged "failed for good" and then "its job retries it": only the first is true.
 */
const schema = uniqueName('brought_fwd');
const prefix = uniqueName('brought_fwd');
const lines: string[] = [];
const log = createLogger({ level: 'debug' }, { write: (l: string) => lines.push(l) } as never);

let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let config: DoorstepConfig;
let deps: JobDeps;
let k = 0;

const run: JobRun = {
  id: 'brought-forward',
  name: 'escalate',
  attempt: 1,
  maxAttempts: 6,
  signal: new AbortController().signal,
};

beforeAll(async () => {
  // No `channels:`: every text fails for good ("no sms channel is configured").
  config = configWith({
    school: `    escalation:
      sos:
        levels:
          - { afterMinutes: 0, notify: [board, sms:leaders], prompt: "Call the worker now" }
          - { afterMinutes: 10, notify: [board, sms:leaders], prompt: "Still no word: call the police (999)" }
        repeat: 1
      fall:
        levels:
          - { afterMinutes: 0, notify: [board], prompt: "Call the worker now" }
          - { afterMinutes: 10, notify: [board], prompt: "Still no word: call the police (999)" }
        repeat: 1
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }]
`,
  });
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = { db, log, producer, now: () => new Date(), instance: 't', config, publisher: conn };
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

async function raise(type: string): Promise<string> {
  k++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    config.schools[0]!,
    fobEvent(`brought-fwd-${k}`, { type: type as 'sos', deviceId: `PS-BF-${k}` }),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  return (r as { alarmId: string }).alarmId;
}

/** The step's text to the leaders, once it has been tried. */
const textOf = (alarmId: string, step: number) =>
  until(async () => {
    const { rows } = await db.query<{ id: string; status: string }>(
      `SELECT id, status FROM notifications WHERE alarm_id = $1 AND step = $2 AND target = 'sms:leaders'`,
      [alarmId, step],
    );
    return rows[0]?.status === 'failed' ? String(rows[0].id) : null;
  });

const cardOf = async (alarmId: string) =>
  (
    await boardState(db, 'alpha', new Date().toISOString().slice(0, 10), new Date(), DEFAULT_VISIT_RULES)
  ).alarms.find((a) => a.id === alarmId)!;

/** The log lines about one notification, by their message. */
const saidOf = (notificationId: string) =>
  lines
    .map((l) => JSON.parse(l) as { msg: string; notification?: string })
    .filter((l) => l.notification === notificationId)
    .map((l) => l.msg);

describe('a level brought forward because the level before it was not delivered', () => {
  let alarmId = '';

  it('logs a text that cannot be sent as failed for good, and never that its job retries it', async () => {
    alarmId = await raise('sos');
    await escalate({ alarmId, step: 0 }, run, deps);
    const text = await textOf(alarmId, 0);
    await until(() => saidOf(text).includes('notification failed for good'));
    // The step's own handler of the failed send has run (it is settled before the next macrotask).
    await new Promise((r) => setImmediate(r));
    expect(saidOf(text)).toEqual(['notification failed for good']);
  });

  it('the card gives the words of the level sent (what to do now) and that it came early, and why', async () => {
    // The level brought forward: its job, promoted, runs now.
    await escalate({ alarmId, step: 1 }, run, deps);
    await textOf(alarmId, 1);
    const card = await cardOf(alarmId);
    expect(card.levelSent).toEqual({
      level: 2,
      of: 2,
      round: 1,
      prompt: 'Still no word: call the police (999)',
      broughtForward: { failed: ['sms:leaders'] },
    });
    // The next step (the next round, at its time) keeps its own words.
    expect(card.nextStep).toMatchObject({ level: 1, prompt: 'Call the worker now' });
  });

  it('a level sent at its time: its words, and nothing said of coming early', async () => {
    const id = await raise('fall');
    await escalate({ alarmId: id, step: 0 }, run, deps);
    expect((await cardOf(id)).levelSent).toEqual({
      level: 1,
      of: 2,
      round: 1,
      prompt: 'Call the worker now',
      broughtForward: null,
    });
    await escalate({ alarmId: id, step: 1 }, run, deps);
    expect((await cardOf(id)).levelSent).toMatchObject({
      level: 2,
      prompt: 'Still no word: call the police (999)',
      broughtForward: null,
    });
  });
});
