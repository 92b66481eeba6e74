import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fallBackNow } from '../../src/alarms/delivery-fallback.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/** A notification that will not reach its person moves the ladder on now — where the ladder still runs. */
const schema = uniqueName('fallback');
const prefix = uniqueName('fallback');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const now = new Date('2026-11-23T10:00:00Z');

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

async function acknowledgedAlarm(key: string, condition?: string): Promise<string> {
  const policy = {
    levels: [
      { afterMinutes: 0, notify: ['sms:leaders'] },
      { afterMinutes: 15, notify: ['sms:slt'] },
    ],
    repeat: 2,
    ...(condition ? { condition } : {}),
  };
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step,
       next_step_at, acknowledged_at, acknowledged_by)
     VALUES ('alpha', $1, false, 'overdue_visit', 'acknowledged', $2, $3, 1, $4, $2, 'user:office') RETURNING id`,
    [key, now, JSON.stringify(policy), new Date(now.getTime() + 15 * 60_000)],
  );
  return String(rows[0]!.id);
}

describe('a notification given up on, of an acknowledged alarm', () => {
  it('moves on a ladder that runs until the alarm is resolved (an overdue visit)', async () => {
    const id = await acknowledgedAlarm('fb-runs', 'if-not-resolved');
    const outcome = await fallBackNow(
      { db, producer },
      { alarmId: id, step: 0, target: 'sms:leaders' },
      'refused',
      now,
    );
    expect(outcome).toBe('next-level-now');
    expect(await producer.queueFor('escalate').getJob(`escalate-${id}-1`)).toBeDefined();
  });
  // The step that paged queues its next step's delayed job while its sends go out: a failure reported
  // as that job lands, just after the fallback looked for it and found none, once queued nothing —
  // the id was taken, the delayed job kept its 15 minutes (and the watcher found it 2 minutes late).
  it('runs the next step now when its delayed job is queued between the look and the queuing', async () => {
    const id = await acknowledgedAlarm('fb-race', 'if-not-resolved');
    const queue = producer.queueFor('escalate');
    const jobId = `escalate-${id}-1`;
    const look = queue.getJob.bind(queue);
    queue.getJob = async (asked: string) => {
      const found = await look(asked);
      await producer.enqueue('escalate', { alarmId: id, step: 1 }, { jobId, delayMs: 15 * 60_000 });
      return found;
    };
    let outcome: string;
    try {
      outcome = await fallBackNow(
        { db, producer },
        { alarmId: id, step: 0, target: 'sms:leaders' },
        'refused',
        now,
      );
    } finally {
      delete (queue as { getJob?: unknown }).getJob;
    }
    expect(outcome).toBe('next-level-now');
    expect(await (await queue.getJob(jobId))?.getState()).toBe('waiting');
  });
  it('changes nothing where the acknowledgement pauses the ladder', async () => {
    const id = await acknowledgedAlarm('fb-paused');
    const outcome = await fallBackNow(
      { db, producer },
      { alarmId: id, step: 0, target: 'sms:leaders' },
      'refused',
      now,
    );
    expect(outcome).toBe('not-open');
  });
});
