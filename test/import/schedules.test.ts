import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleAttendanceSyncs, syncCron } from '../../src/import/schedules.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const prefix = uniqueName('sched');
let conn: Redis;
let producer: Producer<typeof catalog>;

beforeAll(async () => {
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
});

describe('attendance sync schedules', () => {
  it('turns a time into a school-day cron', () => {
    expect(syncCron('10:30')).toBe('30 10 * * 1-5');
    expect(syncCron('07:05')).toBe('5 7 * * 1-5');
  });

  it('keeps one scheduler per school and time in Europe/London, and removes times no longer configured', async () => {
    const twice = configWith({ school: '    attendance: { syncAt: ["10:30", "14:30"] }' });
    await scheduleAttendanceSyncs(producer, twice);
    await scheduleAttendanceSyncs(producer, twice); // idempotent
    const queue = producer.queueFor('sync-attendance');
    let schedulers = await queue.getJobSchedulers(0, -1);
    expect(schedulers.map((s) => [s.key, s.pattern, s.tz]).sort()).toEqual([
      ['sync-attendance:alpha:1030', '30 10 * * 1-5', 'Europe/London'],
      ['sync-attendance:alpha:1430', '30 14 * * 1-5', 'Europe/London'],
    ]);
    await scheduleAttendanceSyncs(producer, configWith({ school: '    attendance: { syncAt: ["11:00"] }' }));
    schedulers = await queue.getJobSchedulers(0, -1);
    expect(schedulers.map((s) => s.key)).toEqual(['sync-attendance:alpha:1100']);
    const next = await queue.getJobs(['delayed']);
    expect(
      next.some((j) => j.name === 'sync-attendance' && (j.data as { reason: string }).reason === 'schedule'),
    ).toBe(true);
  });
});
