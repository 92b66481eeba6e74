import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUTURE_MTIME_MS } from '../../connectors/mis/drop-folder/folder.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { syncAttendance } from '../../jobs/sync-attendance.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { DropWatcher } from '../../src/import/drop-watcher.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { syncStatus } from '../../src/store/sync-status.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('dropwatch');
const log = createLogger({ level: 'silent' });
let db: Db;
let conn: Redis;
const prefixes: string[] = [];

async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
});
afterAll(async () => {
  conn.disconnect();
  for (const p of prefixes) await dropRedisPrefix(await connectRedis({ url: TEST_REDIS_URL }, 'producer'), p);
  await db.close();
  await dropSchema(schema);
});

function producerFor(name: string) {
  const prefix = uniqueName(name);
  prefixes.push(prefix);
  return { prefix, producer: new Producer(catalog, conn, prefix) };
}

describe('drop folder watcher', () => {
  it('imports a file written in two parts once it has settled, never the first part alone, long before the poll', async () => {
    const drop = mkdtempSync(join(tmpdir(), 'doorstep-watch-'));
    const config = configWith({
      mis: `{ kind: sims-xml, dropFolder: "${drop}" }`,
      school: '    attendance: { codeMap: { X01: B }, academicYears: [2024] }',
    });
    const { prefix, producer } = producerFor('dropwatch');
    const deps: JobDeps = { db, log, producer, now: () => new Date(), instance: 'test', config };
    const host = new WorkerHost({
      catalog,
      handlers: { 'sync-attendance': syncAttendance },
      deps,
      roles: ['worker'],
      redis: { url: TEST_REDIS_URL },
      prefix,
      log,
    });
    host.run();
    await host.waitUntilReady();
    const looks: { ready: number; settling: number; again: boolean }[] = [];
    const watcher = new DropWatcher(producer, log);
    // The poll is out of reach of this test: only the watcher can bring the file in.
    watcher.start(config, { pollMs: 3_600_000, onLook: (l) => looks.push(l) });
    try {
      const whole = readFileSync('test/fixtures/mis/sims/pupils-report.xml');
      const cut = Math.floor(whole.length / 2);
      const file = join(drop, 'pupils-report.xml');
      writeFileSync(file, whole.subarray(0, cut));
      // Still being written: its writer keeps it changing. Dating it ahead holds it "just changed"
      // however slowly this machine runs, so the test does not depend on timing — within the minutes
      // a file's clock may run ahead of the server's (further ahead, it is read at once).
      const ahead = new Date(Date.now() + FUTURE_MTIME_MS - 60_000);
      utimesSync(file, ahead, ahead);
      const before = looks.length;
      await until(() => looks.slice(before).filter((l) => l.settling === 1).length >= 2, 'two looks at it');
      expect(existsSync(file)).toBe(true);
      const none = await db.query(`SELECT 1 FROM imports WHERE unit = 'pupils-report.xml'`);
      expect(none.rows).toEqual([]);

      appendFileSync(file, whole.subarray(cut)); // the rest, and its mtime is now
      await until(async () => {
        const r = await db.query(`SELECT 1 FROM imports WHERE unit = 'pupils-report.xml'`);
        return r.rows.length > 0;
      }, 'the import');
      const { rows } = await db.query<{ status: string; pupils_inserted: number }>(
        `SELECT status, pupils_inserted FROM imports WHERE unit = 'pupils-report.xml'`,
      );
      expect(rows).toEqual([{ status: 'applied', pupils_inserted: 3 }]);
      await until(() => !existsSync(file), 'moved to processed/');
      const [day] = readdirSync(join(drop, 'processed'));
      expect(readFileSync(join(drop, 'processed', day!, 'pupils-report.xml'))).toEqual(whole);
      expect(existsSync(join(drop, 'quarantine'))).toBe(false);
    } finally {
      watcher.stop();
      await host.close(2000);
      await producer.close();
    }
  });

  it('stops looking again at a file that never settles (the poll takes over)', async () => {
    const drop = mkdtempSync(join(tmpdir(), 'doorstep-watch-'));
    const config = configWith({ mis: `{ kind: csv, dropFolder: "${drop}" }` });
    const { producer } = producerFor('dropwatch-giveup');
    const looks: { ready: number; settling: number; again: boolean }[] = [];
    const watcher = new DropWatcher(producer, log);
    writeFileSync(join(drop, 'marks.csv'), 'PersonID,AttendanceDate,AM,PM\n');
    const ahead = new Date(Date.now() + FUTURE_MTIME_MS - 60_000);
    utimesSync(join(drop, 'marks.csv'), ahead, ahead);
    watcher.start(config, { pollMs: 3_600_000, settleMs: 200, giveUpMs: 600, onLook: (l) => looks.push(l) });
    try {
      await until(() => looks.some((l) => l.settling === 1 && !l.again), 'the look that gives up');
      const last = looks.findIndex((l) => l.settling === 1 && !l.again);
      // It looked again while the file was within giveUpMs, then left it (no look is scheduled).
      expect(looks.slice(0, last).some((l) => l.settling === 1 && l.again)).toBe(true);
      const waiting = await producer.queueFor('sync-attendance').getJobs(['waiting', 'delayed']);
      // Only the start-up sync: nothing was ready.
      expect(waiting.filter((j) => (j.data as { reason: string }).reason === 'drop-folder')).toHaveLength(1);
    } finally {
      watcher.stop();
      await producer.close();
    }
  });

  it('runs the sync again after the running one when asked while it runs (a file that settled meanwhile is not missed)', async () => {
    const { prefix, producer } = producerFor('dropwatch-rerun');
    let release: () => void = () => {};
    const runs: string[] = [];
    const host = new WorkerHost({
      catalog,
      handlers: {
        'sync-attendance': async (p: { schoolId: string }) => {
          runs.push(p.schoolId);
          if (runs.length === 1) await new Promise<void>((r) => (release = r));
          return { applied: 0, refused: 0, changedPupils: 0 };
        },
      },
      deps: {},
      roles: ['worker'],
      redis: { url: TEST_REDIS_URL },
      prefix,
      log,
    });
    host.run();
    await host.waitUntilReady();
    const ask = () =>
      producer.enqueue(
        'sync-attendance',
        { schoolId: 'alpha', reason: 'drop-folder' },
        { deduplicationId: 'sync:alpha', rerunIfActive: true },
      );
    try {
      await ask();
      await until(() => runs.length === 1, 'the first sync running');
      await ask(); // while it runs: kept, once
      await ask();
      release();
      await until(() => runs.length === 2, 'the second sync');
      await until(
        async () => (await producer.queueFor('sync-attendance').getJobCounts('completed')).completed === 2,
        'both completed',
      );
      expect(runs).toEqual(['alpha', 'alpha']);
    } finally {
      release();
      await host.close(2000);
      await producer.close();
    }
  });

  it('starts every other school when one school’s folder cannot be made, says so, and watches that folder once it can be', async () => {
    const base = mkdtempSync(join(tmpdir(), 'doorstep-watch-bad-'));
    writeFileSync(join(base, 'not-a-dir'), 'x');
    const r = parseConfigText(
      `
trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: "${base}/not-a-dir/alpha" }
    records: { sink: preview }
    policies: [statutory]
  - id: beta
    name: Beta
    mis: { kind: csv, dropFolder: "${base}/beta" }
    records: { sink: preview }
    policies: [statutory]
`,
      { env: {} },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const config = r.config;
    const lines: { msg: string; schoolId?: string }[] = [];
    const logged = createLogger({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const { producer } = producerFor('dropwatch-bad');
    const looks: { schoolId: string; ready: number }[] = [];
    const watcher = new DropWatcher(producer, logged);
    const old = new Date(Date.now() - 60_000);
    try {
      // Before: mkdirSync threw out of start(), and `doorstep start` came up for no school.
      expect(() =>
        watcher.start(config, { pollMs: 300, settleMs: 50, onLook: (l) => looks.push(l) }),
      ).not.toThrow();
      expect(lines).toContainEqual(
        expect.objectContaining({
          schoolId: 'alpha',
          msg: expect.stringMatching(/^drop folder cannot be created or watched/),
        }),
      );
      // The other school's folder is watched: a file dropped there is seen at once.
      writeFileSync(join(base, 'beta', 'pupils.csv'), 'ID,Legal Forename\n1001,A\n');
      utimesSync(join(base, 'beta', 'pupils.csv'), old, old);
      await until(() => looks.some((l) => l.schoolId === 'beta' && l.ready === 1), 'a look in beta');

      // Alpha's syncs fail naming the folder (said on the data page until one works).
      const deps = { db, log, producer, now: () => new Date(), instance: 'test', config } as JobDeps;
      await expect(
        syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, {} as never, deps),
      ).rejects.toThrow(`drop folder ${base}/not-a-dir/alpha cannot be created or read (ENOTDIR)`);
      expect((await syncStatus(db, 'alpha')).lastError).toMatch(
        /^drop folder .* cannot be created or read \(ENOTDIR\)/,
      );

      // Mended: the next poll makes and watches it.
      rmSync(join(base, 'not-a-dir'));
      await until(() => existsSync(join(base, 'not-a-dir', 'alpha')), 'alpha made at a poll');
      await until(
        () => lines.some((l) => l.schoolId === 'alpha' && l.msg === 'drop folder watched again'),
        'watched',
      );
      writeFileSync(join(base, 'not-a-dir', 'alpha', 'pupils.csv'), 'ID,Legal Forename\n1001,A\n');
      utimesSync(join(base, 'not-a-dir', 'alpha', 'pupils.csv'), old, old);
      await until(() => looks.some((l) => l.schoolId === 'alpha' && l.ready === 1), 'a look in alpha');
    } finally {
      watcher.stop();
      await producer.close();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
