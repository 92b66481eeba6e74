import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropWatcher } from '../../src/import/drop-watcher.ts';
import { scheduleAttendanceSyncs, syncCron } from '../../src/import/schedules.ts';
import { createLogger } from '../../src/log/logger.ts';
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

  it('enqueues one deduplicated drop-folder sync when files arrive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorstep-watch-'));
    const config = configWith({ mis: `{ kind: csv, dropFolder: "${dir}" }` });
    const queue = producer.queueFor('sync-attendance');
    await queue.obliterate({ force: true });
    const watcher = new DropWatcher(producer, createLogger({ level: 'silent' }));
    watcher.start(config, { settleMs: 60_000, pollMs: 60_000 });
    try {
      writeFileSync(join(dir, 'marks-1.csv'), 'PersonID,AttendanceDate,AM,PM\n');
      writeFileSync(join(dir, 'marks-2.csv'), 'PersonID,AttendanceDate,AM,PM\n');
      const end = Date.now() + 5000;
      let jobs = await queue.getJobs(['delayed', 'waiting']);
      while (
        jobs.filter((j) => (j.data as { reason: string }).reason === 'drop-folder').length === 0 &&
        Date.now() < end
      ) {
        await new Promise((r) => setTimeout(r, 50));
        jobs = await queue.getJobs(['delayed', 'waiting']);
      }
      await new Promise((r) => setTimeout(r, 300)); // let every change event land
      jobs = (await queue.getJobs(['delayed', 'waiting'])).filter(
        (j) => (j.data as { reason: string }).reason === 'drop-folder',
      );
      expect(jobs.map((j) => j.data)).toEqual([{ schoolId: 'alpha', reason: 'drop-folder' }]);
    } finally {
      watcher.stop();
    }
  });
});
