import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { FAKE_ARBOR_AUTH, FakeArbor, fakeArborSource } from '../helpers/fake-arbor.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A mark deleted in Arbor: the changelog names the deleted AttendanceRecord by its id only. The
 * session that record gave a mark to loses it (audited, the pupil re-evaluated); a record a newer
 * one replaced removes nothing; a record changed twice between syncs is its last state — and none of
 * this refuses the page (before, one deletion refused it and every sync after it).
 */
const BASE = 'https://heathlane.uk.arbor.sc';
const AUTH = FAKE_ARBOR_AUTH;
const NOW = new Date('2025-01-13T15:00:00Z');
const schema = uniqueName('arbor_deleted');
let db: Db;
const config = configWith({
  mis: `{ kind: arbor, baseUrl: "${BASE}", username: doorstep-app, password: "\${ARBOR_PW}" }`,
  env: { ARBOR_PW: 's3cret' },
});
const school = config.schools[0]!;
const source = () => fakeArborSource(BASE, () => NOW);
const sync = () => syncSchool(db, school, source(), { now: () => NOW, actor: 'system:sync' });
const marks = async () =>
  (
    await db.query<{ p: string; s: string; code: string }>(
      `SELECT pupil_mis_id AS p, session AS s, code FROM attendance_marks WHERE school_id = 'alpha'
       ORDER BY pupil_mis_id, session`,
    )
  ).rows;

beforeAll(async () => {
  nock.disableNetConnect();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await db.close();
  await dropSchema(schema);
});

describe('a mark deleted in Arbor', () => {
  const f = new FakeArbor(BASE, AUTH);

  it('takes the mark off its session, leaves a session a newer record gave alone, and reads a record changed twice as its last state', async () => {
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-03-02' });
    f.addPupil({ id: 8, first: 'C', last: 'D', dob: '2014-03-02' });
    f.addMark(100, 7, 1, 'UNAUTH_N');
    f.addMark(101, 7, 2, 'UNAUTH_N');
    f.addMark(102, 8, 1, 'UNAUTH_N');
    f.install();
    expect((await sync()).refused).toEqual([]);
    expect(await marks()).toEqual([
      { p: '7', s: 'AM', code: 'N' },
      { p: '7', s: 'PM', code: 'N' },
      { p: '8', s: 'AM', code: 'N' },
    ]);

    // Since then: 100 deleted (named by its id only); 101 corrected twice; 8's morning re-marked as
    // a new record (105) before the old one (102) was deleted; 103 created and deleted.
    f.deleteMark(100);
    f.addMark(101, 7, 2, 'ILLNESS', false, 'UPDATE');
    f.addMark(101, 7, 2, 'PRESENT_AM', false, 'UPDATE');
    f.addMark(105, 8, 1, 'ILLNESS');
    f.deleteMark(102);
    f.addMark(103, 8, 2, 'UNAUTH_N');
    f.deleteMark(103);
    nock.cleanAll();
    f.install();
    const report = await sync();
    expect(report.refused).toEqual([]);
    expect(await marks()).toEqual([
      { p: '7', s: 'PM', code: '/' },
      { p: '8', s: 'AM', code: 'I' },
    ]);
    const summary = report.applied.find((s) => s.unit.startsWith('arbor attendance-records'))!;
    // 100's mark is removed; 103, made and deleted since the last sync, never gave one.
    expect(summary.marks).toMatchObject({ removed: 1 });
    expect(summary.changedPupils).toEqual(['7', '8']);
    const { rows: audit } = await db.query<{ entity_id: string; before: unknown; after: unknown }>(
      `SELECT entity_id, before, after FROM audit_log WHERE action = 'attendance.mark.removed' ORDER BY entity_id`,
    );
    expect(audit).toEqual([
      {
        entity_id: '7/2025-01-13/AM',
        before: { code: 'N', localCode: null, importId: expect.any(Number) },
        after: { code: null, deletedRecord: '100', importId: expect.any(Number) },
      },
    ]);
  });

  it('a register corrected between two syncs by a new record and the old one deleted is one mark, not a refused page', async () => {
    f.addMark(110, 8, 2, 'UNAUTH_N');
    f.addMark(111, 8, 2, 'ILLNESS');
    f.deleteMark(110);
    nock.cleanAll();
    f.install();
    const report = await sync();
    expect(report.refused).toEqual([]);
    expect((await marks()).filter((m) => m.p === '8')).toEqual([
      { p: '8', s: 'AM', code: 'I' },
      { p: '8', s: 'PM', code: 'I' },
    ]);
  });

  it('removes nothing for a record it never stored a mark from, and a mark given again stays', async () => {
    f.deleteMark(999);
    f.addMark(106, 7, 1, 'ILLNESS');
    nock.cleanAll();
    f.install();
    const report = await sync();
    expect(report.refused).toEqual([]);
    expect(await marks()).toEqual([
      { p: '7', s: 'AM', code: 'I' },
      { p: '7', s: 'PM', code: '/' },
      { p: '8', s: 'AM', code: 'I' },
      { p: '8', s: 'PM', code: 'I' },
    ]);
    // Deleting the morning's old record (100) again changes nothing: 106 gave the mark now.
    f.deleteMark(100);
    nock.cleanAll();
    f.install();
    expect((await sync()).refused).toEqual([]);
    expect(await marks()).toHaveLength(4);
  });

  it('a mark a file import changed since is left when Arbor deletes the record that gave the old one', async () => {
    // 7's afternoon came from record 101 ('/'); the data manager imports a correction from a file.
    const fix = {
      label: 'fix.csv',
      batches: async function* () {
        yield {
          kind: 'marks' as const,
          marks: [
            {
              pupilMisId: '7',
              date: '2025-01-13',
              session: 'PM' as const,
              mark: 'N',
              where: { unit: 'fix.csv', line: 2 },
            },
          ],
        };
      },
    };
    const applied = await applyImportUnit(
      db,
      fix,
      importContextFor(school, NOW, { actor: 'cli', source: 'csv' }),
    );
    expect(applied.marks).toMatchObject({ updated: 1 });
    f.deleteMark(101);
    nock.cleanAll();
    f.install();
    expect((await sync()).refused).toEqual([]);
    expect((await marks()).find((m) => m.p === '7' && m.s === 'PM')).toEqual({ p: '7', s: 'PM', code: 'N' });
  });
});
