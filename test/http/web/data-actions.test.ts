import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../../src/queue/catalog.ts';
import { Producer } from '../../../src/queue/producer.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/** The data page's trust overview (from stored marks), grouped rejections, and "sync now" (a real queue). */
const schema = uniqueName('dataactions');
const prefix = uniqueName('dataactions');
// Autumn term from Tue 1 Sep 2026, an INSET day on Fri 4 Sep; "today" Mon 7 Sep. The school judges
// persistent absence on 8 possible sessions and severe absence on 6 (the rules' own minimum is 20).
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2026-09-01", end: "2026-10-23" }]
      closures: [{ from: "2026-09-04", kind: inset }]
    triggers:
      overrides:
        "statutory:persistent-absence": { minSessions: 8 }
        "statutory:severe-absence": { minSessions: 6 }`,
});
const now = new Date('2026-09-07T15:00:00Z');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
const as = new Map<string, { cookie: string; csrf: string }>();

const CATEGORY: Record<string, string> = { '/': 'present', N: 'unauthorised_absence', X: 'not_possible' };

/** One pupil's marks, AM then PM, one code per session from Tue 1 Sep. */
async function pupil(id: string, sessions: Record<string, string[]>, leftOn: string | null = null) {
  await db.query(`INSERT INTO pupils (school_id, mis_id, forename, left_on) VALUES ('alpha', $1, 'P', $2)`, [
    id,
    leftOn,
  ]);
  for (const [date, codes] of Object.entries(sessions))
    for (const [i, code] of codes.entries())
      await db.query(
        `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
         VALUES ('alpha', $1, $2, $3, $4, $5, 1)`,
        [id, date, i === 0 ? 'AM' : 'PM', code, CATEGORY[code]],
      );
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildWebApp(config, db, { prefix, publisher: conn, producer, now: () => now });
  for (const [name, roles] of [
    ['dm', ['data-manager']],
    ['office', ['office']],
    ['admin', ['admin']],
  ] as const)
    as.set(name, await sessionFor(db, await addUser(db, name, [...roles])));
  // School days so far: 1, 2, 3 and 7 Sep (4 is INSET): 8 sessions.
  const days = ['2026-09-01', '2026-09-02', '2026-09-03', '2026-09-07'];
  const all = (codes: string[][]) => Object.fromEntries(days.map((d, i) => [d, codes[i]!]));
  await pupil(
    'good',
    all([
      ['/', '/'],
      ['/', '/'],
      ['/', '/'],
      ['/', '/'],
    ]),
  ); // 100%
  await pupil(
    'pa',
    all([
      ['/', '/'],
      ['/', '/'],
      ['/', 'N'],
      ['/', '/'],
    ]),
  ); // 7/8 = 87.5%: persistent
  await pupil(
    'edge',
    all([
      ['/', '/'],
      ['/', '/'],
      ['/', '/'],
      ['/', 'X'],
    ]),
  ); // 7/7: X is not possible
  await pupil(
    'sa',
    all([
      ['N', 'N'],
      ['N', 'N'],
      ['/', '/'],
      ['/', 'N'],
    ]),
  ); // 3/8: severe and persistent
  // Joined on Wed 2 Sep: 6 possible sessions, 1 attended — severe absence (judged on 6), too few
  // sessions for persistent absence (judged on 8), as the school's trigger rules judge them.
  await pupil('joined', {
    '2026-09-02': ['N', 'N'],
    '2026-09-03': ['N', 'N'],
    '2026-09-07': ['/', 'N'],
  });
  // Absent only on the INSET day: that day does not count (a calendar problem), so 100%.
  await pupil('inset', { '2026-09-03': ['/', '/'], '2026-09-04': ['N', 'N'] });
  await pupil(
    'left',
    all([
      ['N', 'N'],
      ['N', 'N'],
      ['N', 'N'],
      ['N', 'N'],
    ]),
    '2026-09-03',
  ); // off roll
  await db.query(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     VALUES ('alpha', 'sa', 'statutory:severe-absence', 'Severe', 'la-notification', 'attendance-officer', 'open', '2026-09-07', 'x', '{}'),
            ('alpha', 'pa', 'statutory:n-unresolved', 'N', 'phone-call', 'attendance-officer', 'closed', '2026-09-03', 'x', '{}')`,
  );
  await db.query(
    `INSERT INTO alarms (school_id, dedup_key, type, unknown_device, status, raised_at)
     VALUES ('alpha', 'a1', 'sos', false, 'open', now()), ('alpha', 'a2', 'sos', false, 'resolved', now())`,
  );
  await db.query(
    `INSERT INTO imports (school_id, source, unit, status, started_at, pupils_inserted, pupils_updated, marks_inserted, rejected, rejected_causes)
     VALUES ('alpha', 'csv', 'marks.csv', 'applied', now(), 3, 2, 40, $1, $2),
            ('alpha', 'csv', 'older.csv', 'applied', now() - interval '1 day', 0, 0, 0, $3, '[]')`,
    [
      JSON.stringify([
        {
          where: 'marks.csv, line 2',
          reason: "unknown pupil 901: not in the school's pupil list (import pupils first)",
        },
        {
          where: 'marks.csv, line 3',
          reason: "unknown pupil 902: not in the school's pupil list (import pupils first)",
        },
        { where: 'marks.csv, line 7', reason: 'date 2026-12-01 is in the future' },
      ]),
      JSON.stringify([
        {
          cause: "unknown pupil: not in the school's pupil list (import pupils first)",
          rows: 14,
          idKind: 'pupils',
          ids: 2,
          first: ['901', '902'],
          firstAt: 'marks.csv, line 2',
        },
        {
          cause: 'date in the future',
          rows: 1,
          idKind: 'dates',
          ids: 1,
          first: ['2026-12-01'],
          firstAt: 'marks.csv, line 7',
        },
      ]),
      // Recorded before causes were kept: its kept rows are counted, not grouped.
      JSON.stringify([{ where: 'older.csv, line 2', reason: 'date 2026-12-01 is in the future' }]),
    ],
  );
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object, csrf = true) =>
  app.inject({
    method,
    url,
    headers: { cookie: as.get(who)!.cookie, ...(csrf ? { 'x-csrf-token': as.get(who)!.csrf } : {}) },
    ...(payload ? { payload } : {}),
  });

describe('the trust overview', () => {
  it('counts pupils on roll, persistent and severe absence from the stored marks on school days (on the possible sessions the rules need), open triggers and alarms', async () => {
    const r = await call('dm', 'GET', '/api/data/overview');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      from: '2026-09-01',
      to: '2026-09-07',
      schools: [
        {
          id: 'alpha',
          name: 'Alpha Primary',
          pupils: 6,
          persistentlyAbsent: 2,
          severelyAbsent: 2,
          openTriggers: 1,
          openAlarms: 1,
        },
      ],
    });
  });

  it('is the data manager’s (and an admin’s), not the office’s', async () => {
    expect((await call('admin', 'GET', '/api/data/overview')).statusCode).toBe(200);
    expect((await call('office', 'GET', '/api/data/overview')).statusCode).toBe(403);
  });
});

describe('imports on the data page', () => {
  it('give the rejected rows by cause as the import counted them (every row), and pupils added and updated', async () => {
    const r = await call('dm', 'GET', '/api/data?school=alpha');
    expect(r.statusCode).toBe(200);
    type Listed = {
      unit: string;
      rejected_causes?: unknown;
      rejections: { groups: { cause: string; rows: number }[] };
    };
    const imports = r.json().imports as Listed[];
    const i = imports.find((x) => x.unit === 'marks.csv')!;
    const older = imports.find((x) => x.unit === 'older.csv');
    expect(i).toMatchObject({ unit: 'marks.csv', pupils_inserted: 3, pupils_updated: 2, rejected: 15 });
    expect(i.rejected_causes).toBeUndefined();
    expect(i.rejections.groups.map((g: { cause: string; rows: number }) => [g.cause, g.rows])).toEqual([
      ["unknown pupil: not in the school's pupil list (import pupils first)", 14],
      ['date in the future', 1],
    ]);
    expect(i.rejections.groups[0]).toMatchObject({
      ids: 2,
      first: ['901', '902'],
      firstAt: 'marks.csv, line 2',
    });
    expect(older).toMatchObject({ unit: 'older.csv', rejected: 1, rejections: { total: 1, groups: [] } });
  });
});

describe('sync now', () => {
  it('queues the school’s sync-attendance job once while it waits, and audits each press', async () => {
    const first = await call('dm', 'POST', '/api/data/sync', { school: 'alpha' });
    expect(first.statusCode).toBe(202);
    const again = await call('dm', 'POST', '/api/data/sync', { school: 'alpha' });
    expect(again.statusCode).toBe(202);
    const jobs = await producer.queueFor('sync-attendance').getJobs(['waiting', 'delayed', 'prioritized']);
    const syncs = jobs.filter((j) => j.name === 'sync-attendance');
    expect(syncs).toHaveLength(1);
    expect(syncs[0]!.data).toEqual({ schoolId: 'alpha', reason: 'manual' });
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'attendance.sync-requested' AND school_id = 'alpha'`,
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('needs the CSRF token, the data manager role and a school the person works at', async () => {
    expect((await call('dm', 'POST', '/api/data/sync', { school: 'alpha' }, false)).statusCode).toBe(403);
    expect((await call('office', 'POST', '/api/data/sync', { school: 'alpha' })).statusCode).toBe(403);
    const unknown = await call('dm', 'POST', '/api/data/sync', { school: 'nowhere' });
    expect(unknown.statusCode).toBe(404);
    const bad = await call('dm', 'POST', '/api/data/sync', { school: 'alpha', extra: 1 });
    expect(bad.statusCode).toBe(400);
  });
});

describe('who is told of a visit waiting for authorisation', () => {
  it('the data page says so while a school whose policy needs authorisation names no one to tell', async () => {
    const lime = await buildWebApp(visitSchoolsConfig(), db, {
      prefix,
      publisher: conn,
      producer,
      now: () => now,
    });
    try {
      const get = async (school: string) =>
        (
          await lime.inject({ url: `/api/data?school=${school}`, headers: { cookie: as.get('dm')!.cookie } })
        ).json().noticeGaps as string[];
      // Lime Hills: each visit authorised by the safeguarding team (the Principal included); Hampton
      // asks for no authorisation.
      expect(await get('lime')).toContain(
        'Visits wait for authorisation by safeguarding or headteacher, but notices.awaitingAuthorisation names no one to tell: they see a waiting visit only on the board',
      );
      expect((await get('hampton')).join('\n')).not.toContain('awaitingAuthorisation');
    } finally {
      await lime.close();
    }
  });
});
