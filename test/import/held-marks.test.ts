import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { WondeSource } from '../../connectors/mis/wonde/source.ts';
import { Secret } from '../../src/core/secret.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { FAKE_ARBOR_AUTH, FakeArbor, fakeArborSource } from '../helpers/fake-arbor.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * An API sync's cursor moves past every record it read: a mark it could not apply yet — dated ahead
 * (a planned absence entered in advance), or for a pupil created in the MIS after the students were
 * read — was never read again, and the child's absence never arrived. Such marks are kept
 * (`held_marks`) and applied by the first sync that can.
 */
const BASE = 'https://held.uk.arbor.sc';
const config = configWith({
  mis: `{ kind: arbor, baseUrl: "${BASE}", username: doorstep-app, password: "\${ARBOR_PW}" }`,
  env: { ARBOR_PW: 's3cret' },
  school: `    calendar:
      terms: [{ start: "2025-01-06", end: "2025-02-14" }]
`,
});
const school = config.schools[0]!;
let db: Db;
let schema: string;
const sync = (now: Date) =>
  syncSchool(
    db,
    school,
    fakeArborSource(BASE, () => now),
    { now: () => now, actor: 'system:sync' },
  );
const marks = async () =>
  (
    await db.query<{ k: string }>(
      `SELECT pupil_mis_id || ' ' || to_char(date, 'YYYY-MM-DD') || ' ' || session || ' ' || code AS k FROM attendance_marks ORDER BY 1`,
    )
  ).rows.map((r) => r.k);
const heldCount = async () =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM held_marks')).rows[0]!.n;

beforeAll(() => nock.disableNetConnect());
afterEach(async () => {
  nock.cleanAll();
  await db.close();
  await dropSchema(schema);
});
afterAll(() => nock.enableNetConnect());
const fresh = async () => {
  schema = uniqueName('held');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
};
/** A fresh store and an Arbor that has pupil 7. */
const arborWithPupil7 = async () => {
  await fresh();
  const f = new FakeArbor(BASE, FAKE_ARBOR_AUTH);
  f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
  return f;
};
/** The next sync, Arbor as it is now. */
const again = (f: FakeArbor, now: Date) => {
  nock.cleanAll();
  f.install();
  return sync(now);
};

describe('marks an API sync could not apply yet', () => {
  it('a mark entered ahead (next Monday) is kept, said so, and applied by the first sync on or after its day', async () => {
    const f = await arborWithPupil7();
    f.addSession(3, '2025-01-20 08:40:00', 'AM');
    f.addMark(100, 7, 3, 'UNAUTH_N');
    f.install();
    const first = await sync(new Date('2025-01-13T15:00:00Z'));
    expect(first.applied.flatMap((s) => s.rejected).map((r) => r.reason)).toEqual([
      'date 2025-01-20 is in the future: kept, and applied at the first sync on or after it',
    ]);
    expect(await heldCount()).toBe(1);
    // Not yet: the day has not come.
    await again(f, new Date('2025-01-17T15:00:00Z'));
    expect(await marks()).toEqual([]);
    // The day comes; the record never changed in Arbor.
    const later = await again(f, new Date('2025-01-20T15:00:00Z'));
    expect(await marks()).toEqual(['7 2025-01-20 AM N']);
    expect(later.applied[0]).toMatchObject({
      unit: '1 held mark from earlier arbor syncs',
      marks: { inserted: 1 },
    });
    expect(await heldCount()).toBe(0);
  });

  it('a mark whose pupil arrives in a later sync is applied then; one whose record the MIS deleted meanwhile is not', async () => {
    const f = await arborWithPupil7();
    f.addMark(100, 8, 1, 'UNAUTH_N'); // student 8 created after Doorstep read the students' changelog
    f.addMark(101, 9, 1, 'UNAUTH_N');
    f.install();
    const first = await sync(new Date('2025-01-13T15:00:00Z'));
    expect(first.applied.flatMap((s) => s.rejected).map((r) => r.reason)).toEqual([
      expect.stringMatching(/^unknown pupil 8: .* kept for 30 days and applied once the pupil is imported$/),
      expect.stringMatching(/^unknown pupil 9: /),
    ]);
    expect(await heldCount()).toBe(2);
    nock.cleanAll();
    f.addPupil({ id: 8, first: 'C', last: 'D', dob: '2014-01-01' });
    f.addPupil({ id: 9, first: 'E', last: 'F', dob: '2014-01-01' });
    f.addMark(101, 9, 1, 'UNAUTH_N', true); // 101 deleted in Arbor
    f.install();
    await sync(new Date('2025-01-13T16:00:00Z'));
    // Pupil 8's mark arrives (held, applied at the next sync once 8 is in); 9's record was deleted.
    await again(f, new Date('2025-01-13T17:00:00Z'));
    expect(await marks()).toEqual(['8 2025-01-13 AM N']);
    expect(await heldCount()).toBe(0);
  });

  it('a held mark never overwrites a newer mark for its session that a later sync applied', async () => {
    const f = await arborWithPupil7();
    f.addMark(100, 8, 1, 'UNAUTH_N'); // pupil 8 not imported yet: held
    f.install();
    await sync(new Date('2025-01-13T10:00:00Z'));
    expect(await heldCount()).toBe(1);
    // Pupil 8 arrives, and the register is corrected: the child was in after all.
    nock.cleanAll();
    f.addPupil({ id: 8, first: 'C', last: 'D', dob: '2014-01-01' });
    f.addMark(100, 8, 1, 'PRESENT_AM', false, 'UPDATE');
    f.install();
    await sync(new Date('2025-01-13T11:00:00Z'));
    expect(await marks()).toEqual(['8 2025-01-13 AM /']);
    await again(f, new Date('2025-01-13T12:00:00Z'));
    expect(await marks()).toEqual(['8 2025-01-13 AM /']);
    expect(await heldCount()).toBe(0);
  });

  it("a held mark never overwrites a later file import's correction for its session", async () => {
    const f = await arborWithPupil7();
    f.addMark(100, 8, 1, 'UNAUTH_N'); // pupil 8 not imported yet: held
    f.install();
    await sync(new Date('2025-01-13T10:00:00Z'));
    expect(await heldCount()).toBe(1);
    // The data manager imports pupil 8 and the corrected register from a file.
    const dir = mkdtempSync(join(tmpdir(), 'doorstep-held-'));
    try {
      writeFileSync(join(dir, 'pupils.csv'), 'ID,Legal Surname\n8,D\n');
      writeFileSync(
        join(dir, 'marks.csv'),
        'PersonID,AttendanceDate,SessionName,AttendanceMark\n8,2025-01-13,AM,/\n',
      );
      for (const name of ['pupils.csv', 'marks.csv'])
        await applyImportUnit(
          db,
          fileUnit(join(dir, name), 'csv', school),
          importContextFor(school, new Date('2025-01-13T11:00:00Z'), { actor: 'test', source: 'csv' }),
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await marks()).toEqual(['8 2025-01-13 AM /']);
    await again(f, new Date('2025-01-13T12:00:00Z'));
    expect(await marks()).toEqual(['8 2025-01-13 AM /']);
    expect(await heldCount()).toBe(0);
  });

  it('a page that repeats a session it must hold (the same mark twice) holds it once and the sync goes on', async () => {
    const f = await arborWithPupil7();
    f.addSession(3, '2025-01-20 08:40:00', 'AM');
    f.addMark(100, 8, 1, 'UNAUTH_N');
    f.addMark(101, 8, 1, 'UNAUTH_N');
    f.addMark(102, 7, 3, 'UNAUTH_N');
    f.addMark(103, 7, 3, 'UNAUTH_N');
    f.install();
    const first = await sync(new Date('2025-01-13T15:00:00Z'));
    expect(first.refused).toEqual([]);
    expect(await heldCount()).toBe(2);
  });

  it('Wonde: a mark dated ahead on any attendance page is kept, not only on the page that moves the cursor', async () => {
    await fresh();
    const W = 'https://api.wonde.com/v1.0/schools/A1';
    const now = new Date('2025-01-14T10:00:00Z');
    const row = (date: string, s: string, updated: string) => ({
      student: 'S1',
      date: { date: `${date} 00:00:00.000000` },
      session: s,
      attendance_code: { data: { id: 'C-N', code: 'N' } },
      updated_at: { date: updated, timezone_type: 3, timezone: 'Europe/London' },
    });
    const none = { data: [], meta: { pagination: { next: null, more: false } } };
    nock('https://api.wonde.com')
      .get('/v1.0/schools/A1/students')
      .query(true)
      .reply(200, {
        data: [
          { id: 'S1', mis_id: 7, forename: 'A', surname: 'B', education_details: { data: { upn: null } } },
        ],
        meta: { pagination: { next: null, more: false } },
      })
      .get('/v1.0/schools/A1/deletions')
      .query(true)
      .reply(200, none)
      .get('/v1.0/schools/A1/students-leaver')
      .query(true)
      .reply(200, none)
      .get('/v1.0/schools/A1/attendance/session')
      .query((q) => q.page === undefined)
      // A planned absence next Monday, on the first of two pages.
      .reply(200, {
        data: [row('2025-01-20', 'AM', '2025-01-13 16:00:00')],
        meta: { pagination: { next: `${W}/attendance/session?page=2`, more: true } },
      })
      .get('/v1.0/schools/A1/attendance/session')
      .query({ page: '2' })
      .reply(200, {
        data: [row('2025-01-13', 'AM', '2025-01-13 10:00:00')],
        meta: { pagination: { next: null, more: false } },
      });
    const wonde = new WondeSource({
      baseUrl: 'https://api.wonde.com/v1.0',
      schoolId: 'A1',
      token: new Secret('wonde-token', 'env:T'),
      now: () => now,
    });
    const report = await syncSchool(db, school, wonde, { now: () => now, actor: 'system:sync' });
    expect(report.refused).toEqual([]);
    expect(await marks()).toEqual(['7 2025-01-13 AM N']);
    expect(await heldCount()).toBe(1);
  });

  it('a held mark whose code no longer resolves is dropped alone, and said so; the marks held with it are applied', async () => {
    const f = await arborWithPupil7();
    f.addMark(100, 8, 1, 'UNAUTH_N'); // pupils 8 and 9 not imported yet: held
    f.addMark(101, 9, 1, 'UNAUTH_N');
    f.install();
    await sync(new Date('2025-01-13T10:00:00Z'));
    expect(await heldCount()).toBe(2);
    // Pupil 9's held mark as the school's code map no longer resolves it (the map changed since).
    await db.query(`UPDATE held_marks SET mark = 'Q9' WHERE pupil_mis_id = '9'`);
    nock.cleanAll();
    f.addPupil({ id: 8, first: 'C', last: 'D', dob: '2014-01-01' });
    f.addPupil({ id: 9, first: 'E', last: 'F', dob: '2014-01-01' });
    f.install();
    await sync(new Date('2025-01-13T11:00:00Z'));

    const later = await again(f, new Date('2025-01-13T12:00:00Z'));

    expect(await marks()).toEqual(['8 2025-01-13 AM N']);
    expect(await heldCount()).toBe(0);
    expect(later.applied[0]).toMatchObject({
      unit: '1 held mark from earlier arbor syncs',
      marks: { inserted: 1 },
    });
    expect(later.refused).toEqual([
      {
        unit: '1 held mark from earlier arbor syncs',
        reason:
          'dropped: their code no longer resolves with the school\'s code map (pupil 9 2025-01-13 AM: unknown attendance code "Q9" (not statutory and not in the school\'s code map)); the other held marks are applied — map the code and re-send these marks from the MIS',
      },
    ]);
    const { rows } = await db.query(
      `SELECT unit, status FROM imports WHERE unit LIKE '%held mark%' ORDER BY id`,
    );
    expect(rows).toEqual([
      { unit: '1 held mark from earlier arbor syncs', status: 'refused' },
      { unit: '1 held mark from earlier arbor syncs', status: 'applied' },
    ]);
  });

  it('a held mark that still cannot apply a month on is dropped', async () => {
    const f = await arborWithPupil7();
    f.addMark(100, 8, 1, 'UNAUTH_N'); // a pupil never imported
    f.install();
    await sync(new Date('2025-01-13T15:00:00Z'));
    expect(await heldCount()).toBe(1);
    const later = await again(f, new Date('2025-02-13T15:00:00Z'));
    expect(await heldCount()).toBe(0);
    // Said to the data manager, not dropped silently: in the sync's report and among the imports.
    expect(later.refused).toEqual([
      {
        unit: '1 held mark from earlier arbor syncs',
        reason: expect.stringMatching(/^dropped: still not applicable 30 days after they were held/),
      },
    ]);
    const { rows } = await db.query(`SELECT unit, status FROM imports WHERE status = 'refused'`);
    expect(rows).toEqual([{ unit: '1 held mark from earlier arbor syncs', status: 'refused' }]);
  });

  it('a mark entered more than a month ahead, for a pupil Doorstep has, is applied on its day — never dropped as stale', async () => {
    const f = await arborWithPupil7();
    f.addSession(3, '2025-02-24 08:40:00', 'AM');
    f.addMark(100, 7, 3, 'UNAUTH_N');
    f.install();
    await sync(new Date('2025-01-13T15:00:00Z'));
    expect(await heldCount()).toBe(1);
    const onTheDay = await again(f, new Date('2025-02-24T15:00:00Z'));
    expect(onTheDay.refused).toEqual([]);
    expect(await marks()).toEqual(['7 2025-02-24 AM N']);
    expect(await heldCount()).toBe(0);
  });

  it('a mark dated beyond the next academic year (2099) is refused, not kept for ever', async () => {
    const f = await arborWithPupil7();
    f.addSession(3, '2099-01-20 08:40:00', 'AM');
    f.addSession(4, '2025-09-08 08:40:00', 'AM');
    f.addMark(100, 7, 3, 'UNAUTH_N');
    f.addMark(101, 7, 4, 'UNAUTH_N'); // next September: kept
    f.install();
    const first = await sync(new Date('2025-01-13T15:00:00Z'));
    expect(first.applied.flatMap((s) => s.rejected).map((r) => r.reason)).toEqual([
      'date 2099-01-20 is in the future',
      'date 2025-09-08 is in the future: kept, and applied at the first sync on or after it',
    ]);
    expect(await heldCount()).toBe(1);
  });
});
