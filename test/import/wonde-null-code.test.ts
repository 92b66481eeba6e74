import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WondeSource } from '../../connectors/mis/wonde/source.ts';
import { Secret } from '../../src/core/secret.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Found by review: one Wonde attendance row whose included code is null (`attendance_code:
 * {data: null}` or `null`) refused its whole page, and the cursor never moved past it: every later
 * sync stopped on the same page, and no mark of the school arrived again. Now that row alone is
 * rejected and reported (by cause, with its pupil), as an unknown pupil's row is; the page's other
 * marks apply and the cursor moves on.
 */
const config = configWith({});
const school = config.schools[0]!;
let db: Db;
let schema: string;

const none = { data: [], meta: { pagination: { next: null, more: false } } };
const row = (student: string, session: string, code: unknown) => ({
  student,
  date: { date: '2025-01-13 00:00:00.000000' },
  session,
  attendance_code: code,
  updated_at: { date: '2025-01-13 16:00:00.000000', timezone_type: 3, timezone: 'UTC' },
});
const stu = (id: string, misId: number) => ({ id, mis_id: misId, forename: 'A', surname: `P${misId}` });
function wondeAnswers(marks: unknown[]) {
  nock('https://api.wonde.com')
    .get('/v1.0/schools/A1/students')
    .query(true)
    .reply(200, { data: [stu('S1', 1), stu('S2', 2)], meta: { pagination: { next: null, more: false } } })
    .get('/v1.0/schools/A1/deletions')
    .query(true)
    .reply(200, none)
    .get('/v1.0/schools/A1/students-leaver')
    .query(true)
    .reply(200, none)
    .get('/v1.0/schools/A1/attendance/session')
    .query(true)
    .reply(200, { data: marks, meta: { pagination: { next: null, more: false } } });
}
const source = (now: Date) =>
  new WondeSource({
    baseUrl: 'https://api.wonde.com/v1.0',
    schoolId: 'A1',
    token: new Secret('wonde-token', 'env:T'),
    now: () => now,
  });

beforeAll(async () => {
  nock.disableNetConnect();
  schema = uniqueName('wondenullcode');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await db.close();
  await dropSchema(schema);
});

describe('Wonde: an attendance row with no code', () => {
  it('is rejected alone and reported; the rest of the page applies and the cursor moves on', async () => {
    const now = new Date('2025-01-14T10:00:00Z');
    wondeAnswers([
      row('S1', 'AM', { data: { id: 'C-N', code: 'N' } }),
      row('S2', 'AM', { data: null }),
      row('S2', 'PM', null),
    ]);
    const report = await syncSchool(db, school, source(now), { now: () => now, actor: 'test' });
    expect(report.refused).toEqual([]);
    const page = report.applied.find((s) => s.unit === 'wonde attendance page 1')!;
    expect(page.rejectedByCause).toEqual([
      {
        cause: 'field attendance_code not a code (Wonde gave none) (the row not applied)',
        rows: 2,
        idKind: 'pupils',
        ids: 1,
        first: ['2'],
        firstAt: 'wonde attendance page 1, record 2',
      },
    ]);
    expect(page.rejected).toEqual([
      {
        where: 'wonde attendance page 1, record 2',
        reason:
          'field attendance_code: expected a code (Wonde gave none); the row is not applied (the rest are)',
      },
      {
        where: 'wonde attendance page 1, record 3',
        reason:
          'field attendance_code: expected a code (Wonde gave none); the row is not applied (the rest are)',
      },
    ]);
    const { rows } = await db.query<{ k: string }>(
      `SELECT pupil_mis_id || ' ' || session || ' ' || code AS k FROM attendance_marks ORDER BY 1`,
    );
    expect(rows.map((r) => r.k)).toEqual(['1 AM N']);
    // Nothing held for it (there is no mark to apply later): Wonde's correction comes as a changed row.
    const held = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM held_marks');
    expect(held.rows[0]!.n).toBe(0);
    const cursor = await db.query<{ v: string | null }>('SELECT cursor AS v FROM sync_cursors');
    expect(cursor.rows.map((r) => r.v)).toEqual(['2025-01-13 15:55:00']);
  });
});
