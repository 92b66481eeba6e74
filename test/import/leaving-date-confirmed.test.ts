import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FileFormat, fileUnit } from '../../connectors/mis/file-unit.ts';
import type { MisBatch } from '../../connectors/mis/types.ts';
import { subjectCommand } from '../../src/cli/subject-command.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { configWith } from '../helpers/config.ts';
import { applyUnitAt, expectOneRejected, unitOf } from '../helpers/import-units.ts';
import { BACKENDS, insert, type TestStore } from '../store/dp-fixtures.ts';

/**
 * A leaving date a data manager confirmed by hand (`doorstep subject left --yes`, over the doubt of a
 * date before the pupil last attended) is a person's explicit word: the next sync keeps it over the
 * MIS's different date and reports the two for someone to resolve, until a person records the date
 * again or the MIS sends the same one. The MIS having the pupil on roll still puts them back on roll
 * (a pupil wrongly kept off roll gets no visit triggers), reported with the date that was cleared.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
const config = configWith();
const school = config.schools[0]!;
const where = (line: number) => ({ unit: 'pupils.csv', line });

describe.each(BACKENDS)('a leaving date confirmed by hand, then a sync ($name)', ({ open }) => {
  let store: TestStore;
  let db: Db;
  beforeAll(async () => {
    store = await open();
    db = store.db;
    await insert(db, 'users', { username: 'ada', display_name: 'Ada', password_hash: 'x', roles: ['admin'] });
    // Each in school (present) on 2 March: a leaving date before that is doubtful.
    for (const id of ['1001', '1002', '1003', '1004', '1005', '1006', '1007', '1008', '1009']) {
      await insert(db, 'pupils', { school_id: school.id, mis_id: id });
      await insert(db, 'attendance_marks', {
        school_id: school.id,
        pupil_mis_id: id,
        date: '2026-03-02',
        session: 'AM',
        code: '/',
        category: 'present',
        import_id: 1,
      });
    }
  });
  afterAll(async () => store.close());

  const left = async (pupil: string, on: string, yes = false) => {
    const lines: string[] = [];
    const deps = {
      config,
      withStore: <T>(fn: (d: Db) => Promise<T>) => fn(db),
      readPassword: async () => '',
      progress: () => undefined,
    };
    await subjectCommand(
      'left',
      { config: 'x', school: school.id, pupil, on, by: 'ada', ...(yes ? { yes } : {}) },
      (l) => lines.push(l),
      deps,
      () => NOW,
    );
    return lines.join('\n');
  };
  const sync = (...batches: MisBatch[]) => applyUnitAt(db, school, NOW, unitOf('pupils.csv', batches), 'csv');
  /** The school's export as a file, read by its own reader (its lines as the file has them). */
  const syncFile = (name: string, format: FileFormat, content: string) =>
    applyImportUnit(
      db,
      fileUnit(name, format, school, undefined, () => Readable.from([Buffer.from(content)])),
      importContextFor(school, NOW, { actor: 't', source: format }),
    );
  const backOnRoll = (id: string) =>
    `pupil ${id} is on roll in the MIS: back on roll, the leaving date 2026-02-27 confirmed with doorstep subject left --yes cleared — if they left, enter the Date of Leaving in the MIS`;
  const leavers = (dates: Record<string, string>): MisBatch => ({
    kind: 'leavers',
    leavers: Object.entries(dates).map(([misId, leftOn], i) => ({ misId, leftOn, where: where(i + 2) })),
  });
  const stored = async (id: string) =>
    (
      await db.query<{ left_on: string | null; confirmed: boolean }>(
        `SELECT to_char(left_on, 'YYYY-MM-DD') AS left_on, left_on_confirmed AS confirmed
         FROM pupils WHERE school_id = $1 AND mis_id = $2`,
        [school.id, id],
      )
    ).rows[0];

  it('keeps the confirmed date over the MIS’s different one, reporting both dates, until a person records it again', async () => {
    const out = await left('1001', '2026-02-27', true);
    // A sound later date from the MIS (after the last day attended) would replace a doubtful one.
    const s = await sync(leavers({ '1001': '2026-03-09' }));
    expect((await stored('1001'))?.left_on).toBe('2026-02-27');
    expect(await stored('1001')).toEqual({ left_on: '2026-02-27', confirmed: true });
    expect(out).toContain('kept over a different leaving date from the MIS');
    expectOneRejected(
      s,
      {
        where: 'pupils.csv, line 2',
        pupil: '1001',
        reason:
          'leaver pupil 1001: leaving date 2026-03-09 not taken: the leaving date 2026-02-27 confirmed with doorstep subject left --yes is kept — correct the Date of Leaving in the MIS, or record the right date with doorstep subject left',
      },
      { cause: expect.stringMatching(/^leaving date differs from one confirmed by hand/) },
    );
    // An earlier (itself doubtful) date from the MIS: the same disagreement, not a doubt about it.
    const earlier = await sync(leavers({ '1001': '2026-02-20' }));
    expect(await stored('1001')).toEqual({ left_on: '2026-02-27', confirmed: true });
    expect(earlier.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(
        /^leaver pupil 1001: leaving date 2026-02-20 not taken: the leaving date 2026-02-27 confirmed/,
      ),
    ]);
    // Every sync reports it again while they disagree.
    expect((await sync(leavers({ '1001': '2026-03-09' }))).rejected).toHaveLength(1);

    // The data manager records the MIS's (sound) date: no longer a confirmed one, the MIS agrees.
    await left('1001', '2026-03-09');
    expect(await stored('1001')).toEqual({ left_on: '2026-03-09', confirmed: false });
    expect((await sync(leavers({ '1001': '2026-03-09' }))).rejected).toEqual([]);
    expect(await stored('1001')).toEqual({ left_on: '2026-03-09', confirmed: false });
  });

  it('ends the confirmation once the MIS sends the same date: its later correction is then taken', async () => {
    await left('1002', '2026-02-27', true);
    const same = await sync(leavers({ '1002': '2026-02-27' }));
    expect(same.rejected).toEqual([]);
    expect(await stored('1002')).toEqual({ left_on: '2026-02-27', confirmed: false });
    // Agreed once: the MIS's later correction of a date before the last day attended wins, as for any.
    const fixed = await sync(leavers({ '1002': '2026-03-09' }));
    expect(fixed.rejected).toEqual([]);
    expect(await stored('1002')).toEqual({ left_on: '2026-03-09', confirmed: false });
  });

  it('puts a pupil the MIS has on roll back on roll, confirmation and all, and reports the date cleared', async () => {
    await left('1003', '2026-02-27', true);
    const s = await sync({
      kind: 'pupils',
      pupils: [
        { misId: '2001', where: where(2) },
        { misId: '1003', onRoll: true, where: where(3) },
      ],
    });
    expect(await stored('1003')).toEqual({ left_on: null, confirmed: false });
    // Named at the line of the pupil's record, as every report about a record is.
    expectOneRejected(
      s,
      { where: 'pupils.csv, line 3', pupil: '1003', reason: backOnRoll('1003') },
      {
        cause: expect.stringMatching(/^on roll in the MIS: a leaving date confirmed by hand cleared/),
        firstAt: 'pupils.csv, line 3',
      },
    );
    // Back on roll, a later leaving date from the MIS is taken as any other.
    expect((await sync(leavers({ '1003': '2026-03-09' }))).rejected).toEqual([]);
    expect(await stored('1003')).toEqual({ left_on: '2026-03-09', confirmed: false });
  });

  it('names the line of the record that has the pupil on roll in a SIMS XML or CSV export, and the record from an API', async () => {
    await left('1007', '2026-02-27', true);
    const xml = [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<SuperStarReport>',
      '  <Record><ID>2001</ID><Legal_x0020_Surname>Okafor</Legal_x0020_Surname></Record>',
      '  <Record>',
      '    <ID>1007</ID>',
      '    <Date_x0020_of_x0020_Leaving></Date_x0020_of_x0020_Leaving>',
      '  </Record>',
      '</SuperStarReport>',
      '',
    ].join('\n');
    const fromXml = await syncFile('pupils.xml', 'sims-xml', xml);
    expect(await stored('1007')).toEqual({ left_on: null, confirmed: false });
    expect(fromXml.rejected).toEqual([
      { where: 'pupils.xml, line 4, record 2', pupil: '1007', reason: backOnRoll('1007') },
    ]);

    await left('1008', '2026-02-27', true);
    const csv = ['ID,Date of Leaving', '2001,', '1008,', ''].join('\n');
    const fromCsv = await syncFile('roll.csv', 'csv', csv);
    expect(await stored('1008')).toEqual({ left_on: null, confirmed: false });
    expect(fromCsv.rejected).toEqual([
      { where: 'roll.csv, line 3, record 2', pupil: '1008', reason: backOnRoll('1008') },
    ]);

    // An API's students (Wonde's are those on roll) have no line: the record, as its other reports.
    await left('1009', '2026-02-27', true);
    const fromApi = await sync({
      kind: 'pupils',
      pupils: [{ misId: '1009', onRoll: true, where: { unit: 'wonde students page 1', record: 4 } }],
    });
    expect(fromApi.rejected).toEqual([
      { where: 'wonde students page 1, record 4', pupil: '1009', reason: backOnRoll('1009') },
    ]);
  });

  it('keeps a confirmed date silently against a leavers list that gives no date (Wonde: every leaver, every sync, dated the day read)', async () => {
    await left('1005', '2026-02-27', true);
    // Wonde's students-leaver list names no leaving date: each sync dates every leaver the day it
    // reads the list, so no date from it is the MIS disagreeing, and no Date of Leaving could end it.
    const fullList = (on: string): MisBatch => ({
      kind: 'leavers',
      leavers: [
        {
          misId: '1005',
          leftOn: on,
          fromFullList: true,
          undated: true,
          where: { unit: 'wonde students-leaver', record: 1 },
        },
      ],
    });
    for (const on of ['2026-03-15', '2026-03-16']) {
      const s = await sync(fullList(on));
      expect(s.rejected).toEqual([]);
      expect(await stored('1005')).toEqual({ left_on: '2026-02-27', confirmed: true });
    }
  });

  it('keeps a confirmed date silently against a deletion that gives no date (Arbor: dated the day the changelog is read)', async () => {
    await left('1006', '2026-02-27', true);
    const deleted: MisBatch = {
      kind: 'leavers',
      leavers: [
        { misId: '1006', leftOn: '2026-03-20', undated: true, where: { unit: 'arbor students', record: 1 } },
      ],
    };
    const s = await sync(deleted);
    expect(s.rejected).toEqual([]);
    expect(await stored('1006')).toEqual({ left_on: '2026-02-27', confirmed: true });
  });

  it('does not confirm a sound date recorded by hand, nor keep it against the MIS’s earlier one', async () => {
    const out = await left('1004', '2026-03-10');
    expect(out).not.toContain('kept over');
    expect(await stored('1004')).toEqual({ left_on: '2026-03-10', confirmed: false });
    expect((await sync(leavers({ '1004': '2026-03-09' }))).rejected).toEqual([]);
    expect(await stored('1004')).toEqual({ left_on: '2026-03-09', confirmed: false });
  });
});
