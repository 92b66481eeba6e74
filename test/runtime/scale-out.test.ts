import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { academicYearOf, addDays, londonDate } from '../../src/domain/attendance/dates.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * The scale-out proof: a trust of 20 schools on five processes — two `ingest`, two `worker`, one
 * `web` — sharing one PostgreSQL and one Redis (and the broker, through shared subscriptions). Every
 * school imports a file, its pupils' triggers are evaluated by whichever worker takes the job, and
 * its fob alarms arrive at whichever ingest process the broker hands them to, each one twice (a
 * redelivery). Then: every file applied once, every trigger raised once, every alarm raised once and
 * its first level taken once, nothing lost.
 */
const SCHOOLS = Array.from({ length: 20 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
const ALARMS_PER_SCHOOL = 5;
const schema = uniqueName('scale');
const prefix = uniqueName('scale').replace(/_/g, '-');

/** The last `n` weekdays ending `before` weekdays before `today`. */
function weekdays(today: string, before: number, n: number): string[] {
  const out: string[] = [];
  let d = today;
  let skipped = 0;
  while (out.length < n) {
    d = addDays(d, -1);
    const dow = new Date(`${d}T12:00:00Z`).getUTCDay();
    if (dow === 0 || dow === 6) continue;
    if (skipped < before) skipped++;
    else out.push(d);
  }
  return out.reverse();
}

/** A SIMS session-attendance export: pupils 1–3 coded N (reason never established), 4–5 present. */
function simsXml(days: readonly string[]): string {
  const rows: string[] = [];
  for (const day of days)
    for (let p = 1; p <= 5; p++)
      for (const s of ['AM', 'PM'])
        rows.push(
          `<SessionAttendance><PersonID>${1000 + p}</PersonID><AttendanceDate>${day}</AttendanceDate><SessionName>${s}</SessionName><AttendanceMark>${p <= 3 ? 'N' : '/'}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>`,
        );
  return `<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n${rows.join('\n')}\n</SessionAttendances>\n`;
}

const spawned: Spawned[] = [];
afterAll(async () => {
  await Promise.all(
    spawned.map(async (s) => {
      if (s.child.exitCode === null) s.child.kill('SIGTERM');
      await s.exited;
    }),
  );
  await dropSchema(schema);
  const redis = new Redis(TEST_REDIS_URL);
  await dropRedisPrefix(redis, prefix);
});

describe('a trust on many processes (two ingest, two worker, one web; one PostgreSQL, one Redis)', () => {
  it('imports, evaluates triggers and raises alarms: every job done once, every alarm once, nothing lost', async () => {
    const today = londonDate(new Date());
    const year = academicYearOf(today);
    // Ten school days of N, ending eight school days ago: older than the 5 school days the rule allows.
    const days = weekdays(today, 8, 10);
    const port = await freePort();
    const { file, dir } = writeTempConfig('');
    const schools = SCHOOLS.map((id) => {
      const drop = join(dir, id);
      mkdirSync(drop);
      return `  - id: ${id}
    name: School ${id}
    mis: { kind: sims-xml, dropFolder: "${drop}" }
    attendance: { academicYears: [${year - 1}, ${year}] }
    records: { sink: preview }
    policies: [statutory]
    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board] }
          - { afterMinutes: 60, notify: [board] }
    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["${prefix}/${id}/fobs/+/events"], shared: true, clientId: "${prefix}-${id}", sessionExpirySeconds: 60 }
      devices: [{ deviceId: FOB-1, staffId: staff-1 }]`;
    });
    writeFileSync(
      file,
      `trust: { id: scale-trust, name: Scale Trust }
redis: { url: "${TEST_REDIS_URL}", prefix: ${prefix} }
store: { schema: ${schema} }
http: { host: 127.0.0.1, port: ${port} }
shutdown: { deadlineMs: 5000 }
schools:
${schools.join('\n')}
`,
    );
    // The pupils are on roll before their marks arrive.
    const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
    for (const id of SCHOOLS)
      await db.query(
        `INSERT INTO pupils (school_id, mis_id, forename, surname) SELECT $1, (1000 + g)::text, 'Pupil', 'P' || g FROM generate_series(1, 5) g`,
        [id],
      );
    await db.close();

    const env = { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'info' };
    const start = (role: string, instance: string) => {
      const s = runCli(['start', '--role', role, '--config', file], { ...env, DOORSTEP_INSTANCE: instance });
      spawned.push(s);
      return s;
    };
    const ingest = [start('ingest', 'ingest-a'), start('ingest', 'ingest-b')];
    const workers = [start('worker', 'worker-a'), start('worker', 'worker-b')];
    const web = start('web', 'web-a');
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, 200, 60_000);
    for (const p of [...ingest, ...workers, web])
      await until(() => /running roles/.test(p.stderr()), 90_000, 'every process running');
    // Each ingest process has subscribed for every school (its own share group: each gets every message).
    for (const p of ingest)
      await until(
        () => (p.stdout().match(/"msg":"mqtt subscribed"/g) ?? []).length >= SCHOOLS.length,
        90_000,
        'each ingest process subscribed for every school',
      );

    // 1. Imports: one file per school, four at a time; evaluation is left to the workers.
    const xml = join(dir, 'marks.xml');
    writeFileSync(xml, simsXml(days));
    for (let i = 0; i < SCHOOLS.length; i += 4) {
      const batch = SCHOOLS.slice(i, i + 4).map((id) =>
        runCli(['import', '--config', file, '--school', id, '--format', 'sims-xml', xml], env),
      );
      const results = await Promise.all(batch.map((b) => b.exited));
      results.forEach((r, j) => {
        expect(r.code, batch[j]!.stderr()).toBe(0);
      });
    }

    // 2. Alarms: each school's fob sends SOS events, every one delivered twice.
    const publisher = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { clientId: `${prefix}-pub` });
    try {
      for (const id of SCHOOLS)
        for (let n = 0; n < ALARMS_PER_SCHOOL; n++) {
          const payload = JSON.stringify({
            event_id: `${id}-sos-${n}`,
            device: { id: 'FOB-1' },
            type: 'SOS',
            occurred_at: new Date().toISOString(),
          });
          for (let copy = 0; copy < 2; copy++)
            await publisher.publishAsync(`${prefix}/${id}/fobs/FOB-1/events`, payload, { qos: 1 });
        }
    } finally {
      await publisher.endAsync();
    }

    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${schema}"`);
      const count = async (sql: string, params: unknown[] = []) =>
        Number((await client.query<{ n: string }>(sql, params)).rows[0]!.n);
      const expected = SCHOOLS.length * ALARMS_PER_SCHOOL;
      await until(
        async () =>
          (await count(`SELECT count(*) AS n FROM alarm_timeline WHERE event = 'level 1: notified board'`)) >=
          expected,
        90_000,
        'every alarm raised and its first level taken',
      );
      await until(
        async () =>
          (await count(
            `SELECT count(DISTINCT school_id) AS n FROM trigger_episodes WHERE rule_key LIKE '%n-unresolved'`,
          )) === SCHOOLS.length,
        90_000,
        'every school evaluated',
      );

      // Every file applied once.
      expect(
        await count(`SELECT count(*) AS n FROM imports WHERE status = 'applied' AND marks_inserted = 100`),
      ).toBe(SCHOOLS.length);
      expect(await count('SELECT count(*) AS n FROM attendance_marks')).toBe(SCHOOLS.length * 100);
      // Every trigger raised once: three pupils per school, one episode each.
      const unresolved = await client.query<{ school_id: string; n: string }>(
        `SELECT school_id, count(*) AS n FROM trigger_episodes WHERE rule_key LIKE '%n-unresolved' GROUP BY school_id`,
      );
      expect(unresolved.rows.map((r) => Number(r.n))).toEqual(SCHOOLS.map(() => 3));
      // Every alarm once, whichever process took each copy; its first level once.
      expect(await count('SELECT count(*) AS n FROM alarms')).toBe(expected);
      expect(
        await count('SELECT count(*) AS n FROM fob_events WHERE vendor_event_id LIKE $1', [`%-sos-%`]),
      ).toBe(expected);
      expect(
        await count(`SELECT count(*) AS n FROM alarm_timeline WHERE event = 'level 1: notified board'`),
      ).toBe(expected);
      expect(await count(`SELECT count(*) AS n FROM audit_log WHERE action = 'alarm.raised'`)).toBe(expected);
      const perSchool = await client.query<{ school_id: string; n: string }>(
        'SELECT school_id, count(*) AS n FROM alarms GROUP BY school_id',
      );
      expect(perSchool.rows.map((r) => Number(r.n))).toEqual(SCHOOLS.map(() => ALARMS_PER_SCHOOL));
    } finally {
      await client.end();
    }
  }, 300_000);
});
