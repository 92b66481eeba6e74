import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { enqueueEvaluation, syncAttendance } from '../../jobs/sync-attendance.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog, EVALUATION_CHUNK } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { changedPupilsOf, getCursor } from '../../src/store/imports.ts';
import { openStore } from '../../src/store/open.ts';
import { syncStatus } from '../../src/store/sync-status.ts';
import { configWith } from '../helpers/config.ts';
import { FakeArbor } from '../helpers/fake-arbor.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('sync');
const prefix = uniqueName('sync');
const drop = mkdtempSync(join(tmpdir(), 'doorstep-drop-'));
const run = {
  id: 'j1',
  name: 'sync-attendance',
  attempt: 1,
  maxAttempts: 3,
  signal: new AbortController().signal,
};
// The clock is moved past each dropped file's settle time; the fixtures' marks are in 2024/25.
let clock = new Date('2025-01-20T12:00:00Z');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: JobDeps;

const config = configWith({
  mis: `{ kind: sims-xml, dropFolder: "${drop}" }`,
  school: '    attendance: { codeMap: { X01: B }, academicYears: [2024] }',
});

function dropFile(name: string, content?: string) {
  const path = join(drop, name);
  if (content === undefined) copyFileSync(`test/fixtures/mis/sims/${name}`, path);
  else writeFileSync(path, content);
  clock = new Date(Date.now() + 10_000); // the file is older than the settle time
}

/** The evaluation jobs queued, each with the pupils it evaluates (read from its import, by chunk). */
async function evaluationJobs() {
  const q = producer.queueFor('evaluate-triggers');
  const jobs = await q.getJobs(['waiting', 'delayed', 'active']);
  return Promise.all(
    jobs.map(async (j) => {
      const data = j.data as { importId: string; chunk: number };
      // No pupil id in a payload (a CTF pupil's id is the UPN): the import, and which slice of it.
      expect(Object.keys(j.data).sort()).toEqual(['chunk', 'importId', 'reason', 'schoolId']);
      const all = await changedPupilsOf(db, data.importId);
      return {
        ...data,
        pupilIds: all.slice(data.chunk * EVALUATION_CHUNK, (data.chunk + 1) * EVALUATION_CHUNK),
      };
    }),
  );
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => clock,
    instance: 'test',
    config,
    misHttp: { sleep: async () => {} },
  };
});

afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('sync-attendance job (drop folder)', () => {
  it('imports ready files, moves them to processed/, and hands exactly the changed pupils to evaluation', async () => {
    dropFile('pupils-report.xml');
    const r1 = await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps);
    expect(r1).toEqual({ applied: 1, refused: 0, changedPupils: 0 });
    dropFile('session-attendance.xml');
    const r2 = await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps);
    expect(r2).toEqual({ applied: 1, refused: 0, changedPupils: 3 });
    expect(readdirSync(drop).filter((f) => f.endsWith('.xml'))).toEqual([]);
    const [day] = readdirSync(join(drop, 'processed'));
    const processed = readdirSync(join(drop, 'processed', day!));
    expect(processed.sort()).toEqual(['pupils-report.xml', 'session-attendance.xml']);
    const jobs = await evaluationJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.pupilIds).toEqual(['1001', '1002', '1003']);
  });

  it('enqueues nothing when the same file comes again, and only the changed pupil after a correction', async () => {
    dropFile('session-attendance.xml');
    await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps);
    expect(await evaluationJobs()).toHaveLength(1);
    const corrected = readFileSync('test/fixtures/mis/sims/session-attendance.xml', 'utf8').replace(
      '<PersonID>1002</PersonID><AttendanceDate>2025-01-14</AttendanceDate><SessionName>PM</SessionName><AttendanceMark>I</AttendanceMark>',
      '<PersonID>1002</PersonID><AttendanceDate>2025-01-14</AttendanceDate><SessionName>PM</SessionName><AttendanceMark>M</AttendanceMark>',
    );
    dropFile('corrected.xml', corrected);
    await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps);
    const jobs = await evaluationJobs();
    expect(jobs).toHaveLength(2);
    expect(jobs.map((j) => j.pupilIds)).toContainEqual(['1002']);
  });

  it('two syncs of one school at once (the watcher’s and "Sync now") import a file once: the second waits for the first', async () => {
    const unit = 'pupils-twice.xml';
    // Bytes of its own (a line more): the earlier test's bytes are imported already, never again.
    dropFile(unit, `${readFileSync('test/fixtures/mis/sims/pupils-report.xml', 'utf8')}\n`);
    const [a, b] = await Promise.all([
      syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps),
      syncAttendance({ schoolId: 'alpha', reason: 'manual' }, run, deps),
    ]);
    expect(a.applied + b.applied).toBe(1);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM imports WHERE unit = $1', [
      unit,
    ]);
    expect(rows[0]!.n).toBe(1);
  });

  it("a scheduler's run hands over to the school's one sync job (de-duplicated with the watcher's and Sync now's) and syncs nothing itself", async () => {
    const q = producer.queueFor('sync-attendance');
    const before = await q.getJobs(['waiting', 'delayed', 'active']);
    for (const j of before) await j.remove();
    dropFile('handed-over.xml', `${readFileSync('test/fixtures/mis/sims/pupils-report.xml', 'utf8')}\n\n`);
    for (let i = 0; i < 2; i++)
      expect(await syncAttendance({ schoolId: 'alpha', reason: 'schedule' }, run, deps)).toEqual({
        applied: 0,
        refused: 0,
        changedPupils: 0,
      });
    const jobs = await q.getJobs(['waiting', 'delayed', 'active']);
    expect(jobs.map((j) => j.data)).toEqual([{ schoolId: 'alpha', reason: 'schedule', handedOver: true }]);
    expect(readdirSync(drop)).toContain('handed-over.xml');
    const r = await syncAttendance(jobs[0]!.data, run, deps);
    expect(r.applied).toBe(1);
    await jobs[0]!.remove();
  });

  it('quarantines a bad file with the reason beside it, changes nothing, and goes on with the next', async () => {
    dropFile('bad.xml', '<SessionAttendances><SessionAttendance><PersonID>1001</PersonID>');
    dropFile(
      'zz-good.xml',
      readFileSync('test/fixtures/mis/sims/session-attendance.xml', 'utf8').replaceAll(
        '2025-01-13',
        '2025-01-15',
      ),
    );
    const r = await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps);
    expect(r).toMatchObject({ applied: 1, refused: 1 });
    expect(existsSync(join(drop, 'quarantine', 'bad.xml'))).toBe(true);
    expect(readFileSync(join(drop, 'quarantine', 'bad.xml.error.txt'), 'utf8')).toMatch(
      /bad\.xml, line 1: not well-formed XML/,
    );
    const { rows } = await db.query<{ status: string; error: string }>(
      `SELECT status, error FROM imports WHERE unit = 'bad.xml'`,
    );
    expect(rows).toEqual([{ status: 'refused', error: expect.stringContaining('not well-formed XML') }]);
  });

  it('leaves a file that is still being written, and says so (the data page says it comes in seconds)', async () => {
    mkdirSync(drop, { recursive: true });
    writeFileSync(join(drop, 'arriving.xml'), '<SessionAttendances>');
    clock = new Date(); // just written: not settled
    const r = await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, deps);
    expect(r.applied + r.refused).toBe(0);
    expect(r.settling).toBe(1);
    expect(existsSync(join(drop, 'arriving.xml'))).toBe(true);
  });

  it('hands over an import whose evaluation was never enqueued (crash between commit and enqueue)', async () => {
    await db.query(`UPDATE imports SET evaluation_enqueued_at = NULL WHERE unit = 'zz-good.xml'`);
    // The other imports' evaluations ran (nothing of theirs is handed over again).
    await db.query(`UPDATE imports SET evaluated_chunks = '[0]' WHERE unit <> 'zz-good.xml'`);
    await producer.queueFor('evaluate-triggers').obliterate({ force: true });
    await syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, deps);
    const jobs = await evaluationJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.pupilIds).toEqual(['1001', '1002', '1003']);
  });

  it('hands over again an import handed over whose evaluation job was lost (Redis restarted empty)', async () => {
    await db.query(`UPDATE imports SET evaluated_chunks = '[]' WHERE unit = 'zz-good.xml'`);
    await producer.queueFor('evaluate-triggers').obliterate({ force: true });
    await syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, deps);
    const jobs = await evaluationJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.pupilIds).toEqual(['1001', '1002', '1003']);
    // Still waiting: the next sync adds nothing.
    await syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, deps);
    expect(await evaluationJobs()).toHaveLength(1);
  });

  it('hands an import that changed more pupils than one job carries over in several jobs, once', async () => {
    const ids = Array.from({ length: 2 * EVALUATION_CHUNK + 5 }, (_, i) => `P${i}`);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO imports (school_id, source, unit, status, started_at, changed_pupils)
       VALUES ('alpha', 'ctf', 'whole-school.xml', 'applied', now(), $1::jsonb) RETURNING id`,
      [JSON.stringify(ids)],
    );
    const importId = String(rows[0]!.id);
    await producer.queueFor('evaluate-triggers').obliterate({ force: true });
    expect(await enqueueEvaluation(deps, 'alpha', importId)).toBe(ids.length);
    // Again (a crash between the enqueue and its record): nothing doubled.
    await enqueueEvaluation(deps, 'alpha', importId);
    const jobs = await evaluationJobs();
    expect(jobs.map((j) => j.pupilIds.length).sort((a, b) => b - a)).toEqual([
      EVALUATION_CHUNK,
      EVALUATION_CHUNK,
      5,
    ]);
    expect(new Set(jobs.flatMap((j) => j.pupilIds)).size).toBe(ids.length);
  });
});

describe('sync-attendance job (Arbor API)', () => {
  const arborConfig = configWith({
    mis: '{ kind: arbor, baseUrl: "https://alpha.uk.arbor.sc", username: app, password: "${ARBOR_PW}" }',
    school: '    attendance: { academicYears: [2024] }',
    env: { ARBOR_PW: 'pw' },
  });

  const fakeWith = (badMark: boolean) => {
    const f = new FakeArbor('https://alpha.uk.arbor.sc', `Basic ${Buffer.from('app:pw').toString('base64')}`);
    f.addPupil({ id: 77, first: 'Test', last: 'Pupil', dob: '2014-01-01' });
    f.addMark(1, 77, 1, 'UNAUTH_N');
    if (badMark) {
      f.addAttendanceMark({ code: 'LOCAL_Q7', attendanceMark: 'Q7' });
      f.addMark(2, 77, 2, 'LOCAL_Q7');
    }
    f.install();
    return f;
  };

  it('stores the changelog cursor and resumes from it on the next sync', async () => {
    const arborDeps = { ...deps, config: arborConfig };
    nock.disableNetConnect();
    try {
      fakeWith(false);
      const r = await syncAttendance(
        { schoolId: 'alpha', reason: 'schedule', handedOver: true },
        run,
        arborDeps,
      );
      expect(r).toMatchObject({ applied: 2, changedPupils: 1 });
      expect(JSON.parse((await getCursor(db, 'alpha', 'arbor'))!)).toEqual({
        students: 1,
        attendanceRecords: 2,
      });
      nock.cleanAll();
      const f = fakeWith(false);
      expect(
        await syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, arborDeps),
      ).toMatchObject({
        applied: 0,
      });
      expect(f.requests).toEqual([
        '/rest-v2/students/changelog?from-revision=1',
        '/rest-v2/attendance-records/changelog?from-revision=2',
      ]);
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });

  it('fails the job, leaving the cursor, when a page is malformed', async () => {
    nock.disableNetConnect();
    try {
      fakeWith(true);
      await expect(
        syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, {
          ...deps,
          config: arborConfig,
        }),
      ).rejects.toThrow(/unknown attendance code "Q7"/);
      expect(JSON.parse((await getCursor(db, 'alpha', 'arbor'))!)).toEqual({
        students: 1,
        attendanceRecords: 2,
      });
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });

  it('says on the data page that every sync fails, since when and why, until one works', async () => {
    const arborDeps = { ...deps, config: arborConfig };
    nock.disableNetConnect();
    try {
      // From a sync that works (the test before left one failed).
      fakeWith(false);
      await syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, arborDeps);
      nock.cleanAll();
      clock = new Date(clock.getTime() + 60_000);
      const failingAt = clock;
      for (let i = 0; i < 2; i++) {
        fakeWith(true);
        await expect(
          syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, arborDeps),
        ).rejects.toThrow();
        nock.cleanAll();
        clock = new Date(clock.getTime() + 60_000);
      }
      expect(await syncStatus(db, 'alpha')).toMatchObject({
        failingSince: failingAt.toISOString(),
        failures: 2,
        lastError: expect.stringMatching(/unknown attendance code/),
      });
      fakeWith(false);
      await syncAttendance({ schoolId: 'alpha', reason: 'schedule', handedOver: true }, run, arborDeps);
      expect(await syncStatus(db, 'alpha')).toEqual({
        lastOkAt: clock.toISOString(),
        failingSince: null,
        failures: 0,
        lastError: null,
      });
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });
});

describe('sync-attendance job: a leaving date judged by the school’s own retention', () => {
  // Alpha erases a leaver 30 days after their leaving date (the trust default is 366): an MIS date 50
  // days back would be erased by tonight's purge, so the sync holds it and reports it, as
  // `doorstep subject left` would ask.
  const leaversDrop = mkdtempSync(join(tmpdir(), 'doorstep-drop-leavers-'));
  const schema2 = uniqueName('sync_leavers');
  let db2: Db;
  const cfg = configWith({
    mis: `{ kind: csv, dropFolder: "${leaversDrop}" }`,
    school: '\nretention: { schools: { alpha: { leaverShownDays: 20, leaverDataDays: 30 } } }',
  });
  beforeAll(async () => {
    db2 = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: schema2 });
  });
  afterAll(async () => {
    await db2.close();
    await dropSchema(schema2);
  });

  it('holds an MIS leaving date the school’s purge would erase tonight (not the trust default’s)', async () => {
    // The file is judged on the day the sync runs (the clock past the file's settle time).
    clock = new Date(Date.now() + 10_000);
    const fiftyDaysBack = new Date(clock.getTime() - 50 * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(
      join(leaversDrop, 'pupils.csv'),
      'ID,UPN,Legal Forename,Legal Surname,DOB,Date of Leaving,Destination\n' +
        `1001,A123456789012,Ada,Lovelace,2014-01-02,${fiftyDaysBack},Riverside Academy\n` +
        '1002,B123456789012,Ben,Hart,2014-03-04,,\n',
    );
    clock = new Date(Date.now() + 10_000);
    await syncAttendance({ schoolId: 'alpha', reason: 'drop-folder' }, run, {
      ...deps,
      db: db2,
      config: cfg,
    });
    const { rows } = await db2.query<{ mis_id: string; left_on: string | null }>(
      `SELECT mis_id, to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils ORDER BY mis_id`,
    );
    expect(rows).toEqual([
      { mis_id: '1001', left_on: null },
      { mis_id: '1002', left_on: null },
    ]);
  });
});
