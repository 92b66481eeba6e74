import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArborSource } from '../../connectors/mis/arbor/source.ts';
import { FIELD_LIMITS } from '../../connectors/mis/field-limits.ts';
import { type FileFormat, fileUnit } from '../../connectors/mis/file-unit.ts';
import { getJson } from '../../connectors/mis/http.ts';
import type { FileMisSettings } from '../../connectors/mis/settings.ts';
import { studentsPage } from '../../connectors/mis/wonde/wire.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { Secret } from '../../src/core/secret.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { FakeArbor } from '../helpers/fake-arbor.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/** Every imported field has a limit (FIELD_LIMITS); an absurd value is never read whole. */
const NOW = new Date('2025-01-20T12:00:00Z');
const schema = uniqueName('limits');
const dir = mkdtempSync(join(tmpdir(), 'doorstep-limits-'));
let db: Db;
let school: SchoolConfig;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
  nock.disableNetConnect();
});
afterAll(async () => {
  nock.enableNetConnect();
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await db.query('DELETE FROM pupil_contacts');
  await db.query('DELETE FROM attendance_marks');
  await db.query('DELETE FROM pupils');
  await db.query('DELETE FROM imports');
});

function run(name: string, content: string, format: FileFormat) {
  const path = join(dir, name);
  writeFileSync(path, content);
  // A CTF as the school's own MIS export: its new pupils are added (under their UPN).
  const s =
    format === 'ctf'
      ? { ...school, mis: { ...(school.mis as FileMisSettings), kind: 'ctf' as const } }
      : school;
  return applyImportUnit(
    db,
    fileUnit(path, format, s),
    importContextFor(s, NOW, { actor: 'test', source: format }),
  );
}

async function stored(): Promise<{ mis_id: string; longest: number }[]> {
  const { rows } = await db.query<{ mis_id: string; longest: number }>(
    `SELECT p.mis_id, greatest(length(p.forename), length(p.surname), length(p.address::text),
            (SELECT max(length(c.phone)) FROM pupil_contacts c WHERE c.pupil_mis_id = p.mis_id), 0) AS longest
     FROM pupils p ORDER BY mis_id`,
  );
  return rows;
}

const name101 = 'A'.repeat(101);
const sims = (records: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<SuperStarReport>\n${records.join('\n')}\n</SuperStarReport>\n`;
const simsRecord = (id: string, fields: string) => `  <Record><ID>${id}</ID>${fields}</Record>`;
const ctf = (pupils: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n<Header><CTFversion>25.0</CTFversion></Header>\n<CTFpupilData>\n${pupils.join('\n')}\n</CTFpupilData>\n</CTfile>\n`;
const ctfPupil = (upn: string, surname: string) =>
  `<Pupil><UPN>${upn}</UPN><Surname>${surname}</Surname><Forename>Amelia</Forename></Pupil>`;

describe('field limits: a value over its limit is left out and named (file, line and field); the rest of the pupil applied', () => {
  it('CSV: names, contacts — the pupils are applied without the long values (one over-long value never keeps a child and their marks out)', async () => {
    const s = await run(
      'pupils.csv',
      [
        'ID,Legal Forename,Legal Surname,Priority 1 Contact,Priority 1 Phone',
        `1001,${name101},Okafor,Grace,0113 496 0000`,
        `1002,Yusuf,Haddad,Sam,${'0'.repeat(33)}`,
        '1003,Renée,O’Neill,Ann,0113 496 0001',
        '', // its last row ends with a line break (a file without one is refused as perhaps cut short)
      ].join('\n'),
      'csv',
    );
    expect(s.rejected).toEqual([
      {
        where: 'pupils.csv, line 2, record 1',
        pupil: '1001',
        reason: `field forename: expected at most 100 characters, got 101; not taken (the rest of the pupil's record applied)`,
      },
      {
        where: 'pupils.csv, line 3, record 2',
        pupil: '1002',
        reason: `field contacts[1].phone: expected at most 32 characters, got 33; not taken (the rest of the pupil's record applied)`,
      },
    ]);
    expect(s.pupils.inserted).toBe(3);
    expect((await stored()).map((r) => r.mis_id)).toEqual(['1001', '1002', '1003']);
    // The long values themselves are not stored.
    expect(Math.max(...(await stored()).map((r) => r.longest))).toBeLessThanOrEqual(100);
    const { rows: kept } = await db.query(
      `SELECT p.mis_id, p.surname, c.name, c.phone FROM pupils p JOIN pupil_contacts c ON c.pupil_mis_id = p.mis_id WHERE p.mis_id IN ('1001', '1002') ORDER BY 1`,
    );
    expect(kept).toEqual([
      { mis_id: '1001', surname: 'Okafor', name: 'Grace', phone: '0113 496 0000' },
      { mis_id: '1002', surname: 'Haddad', name: 'Sam', phone: null },
    ]);
    // A value at the limit is fine.
    const ok = await run(
      'at-limit.csv',
      `ID,Legal Forename\n1004,${'A'.repeat(FIELD_LIMITS.forename)}\n`,
      'csv',
    );
    expect(ok.rejected).toEqual([]);
  });

  it("a contact's over-long value keeps what was stored for the same person; another person at that priority gets none of it", async () => {
    const header = 'ID,Legal Surname,Priority 1 Contact,Priority 1 Phone';
    await run('p1.csv', `${header}\n1001,Okafor,Grace,0113 496 0000\n1002,Haddad,Sam,0113 496 0001\n`, 'csv');
    const long = `0113 496 0000 ${'(work; ask for reception) '.repeat(2)}`;
    const s = await run(
      'p2.csv',
      `${header}\n1001,Okafor,Grace,${long}\n1002,Haddad,Lee,${long.replace('0000', '0001')}\n`,
      'csv',
    );
    expect(s.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^field contacts\[1\]\.phone: expected at most 32 characters/),
      expect.stringMatching(/^field contacts\[1\]\.phone: expected at most 32 characters/),
    ]);
    const { rows } = await db.query(
      `SELECT pupil_mis_id, name, phone FROM pupil_contacts ORDER BY pupil_mis_id`,
    );
    expect(rows).toEqual([
      // The same person: the number stored before is kept.
      { pupil_mis_id: '1001', name: 'Grace', phone: '0113 496 0000' },
      // Another person now at priority 1: Sam's number is never given as Lee's.
      { pupil_mis_id: '1002', name: 'Lee', phone: null },
    ]);
  });

  it('SIMS XML: an address line over 200 characters', async () => {
    const s = await run(
      'pupils.xml',
      sims([
        simsRecord('1001', `<Address_x0020_Line_x0020_1>${'9'.repeat(201)}</Address_x0020_Line_x0020_1>`),
        simsRecord('1002', '<Legal_x0020_Surname>Haddad</Legal_x0020_Surname>'),
      ]),
      'sims-xml',
    );
    expect(s.rejected).toEqual([
      {
        where: 'pupils.xml, line 3, record 1',
        pupil: '1001',
        reason: `field address.line1: expected at most 200 characters, got 201; not taken (the rest of the pupil's record applied)`,
      },
    ]);
    expect((await stored()).map((r) => r.mis_id)).toEqual(['1001', '1002']);
    const { rows } = await db.query(`SELECT address FROM pupils WHERE mis_id = '1001'`);
    expect(rows).toEqual([{ address: null }]);
  });

  it('CTF: a surname over 100 characters', async () => {
    const s = await run(
      'ctf.xml',
      ctf([ctfPupil('A123456789012', name101), ctfPupil('E523456789012', 'Haddad')]),
      'ctf',
    );
    expect(s.rejected).toEqual([
      {
        where: 'ctf.xml, line 5, record 1',
        reason: `field surname: expected at most 100 characters, got 101; not taken (the rest of the pupil's record applied)`,
      },
    ]);
    expect((await stored()).map((r) => r.mis_id)).toEqual(['A123456789012', 'E523456789012']);
  });

  it("CSV marks: a pupil id over its limit rejects that row's marks, not the unit", async () => {
    await run('pupils.csv', 'ID,Legal Surname\n1001,Okafor\n', 'csv');
    const s = await run(
      'marks.csv',
      ['PersonID,AttendanceDate,AM,PM', '1001,15/01/2025,/,\\', `${'1'.repeat(65)},15/01/2025,/,/`, ''].join(
        '\n',
      ),
      'csv',
    );
    expect(s.rejected).toEqual([
      {
        where: 'marks.csv, line 3, record 2',
        reason: 'field pupilMisId: expected at most 64 characters, got 65',
      },
      {
        where: 'marks.csv, line 3, record 2',
        reason: 'field pupilMisId: expected at most 64 characters, got 65',
      },
    ]);
    expect(s.marks.inserted).toBe(2);
  });

  it('Arbor: a student whose first name is over the limit', async () => {
    const f = new FakeArbor('https://limits.uk.arbor.sc', `Basic ${Buffer.from('u:p').toString('base64')}`);
    f.addPupil({ id: 7, first: name101, last: 'Long', dob: '2014-01-01' });
    f.addPupil({ id: 8, first: 'Amelia', last: 'Short', dob: '2014-01-01' });
    f.install();
    const source = new ArborSource({
      baseUrl: 'https://limits.uk.arbor.sc',
      username: 'u',
      password: new Secret('p', 'env:T'),
      http: { sleep: async () => {} },
    });
    const summaries = [];
    for await (const unit of source.pull({ value: null })) {
      summaries.push(
        await applyImportUnit(db, unit, importContextFor(school, NOW, { actor: 'test', source: 'arbor' })),
      );
    }
    expect(summaries[0]!.rejected).toEqual([
      {
        where: 'arbor students changelog from revision 0, record 1',
        pupil: '7',
        reason: `field forename: expected at most 100 characters, got 101; not taken (the rest of the pupil's record applied)`,
      },
    ]);
    expect((await stored()).map((r) => r.mis_id)).toEqual(['7', '8']);
  });

  it('an MIS API page larger than the bound is refused without being read whole', async () => {
    nock('https://api.wonde.com')
      .get('/v1.0/schools/A1/students')
      .reply(
        200,
        JSON.stringify({ data: [{ id: 'S1', mis_id: '1', forename: 'x'.repeat(5000) }], meta: {} }),
      );
    await expect(
      getJson(
        'https://api.wonde.com/v1.0/schools/A1/students',
        studentsPage,
        { authorization: 'Bearer t', maxBytes: 4096 },
        'Wonde students',
      ),
    ).rejects.toThrow(/Wonde students .*: the response is larger than 4096 bytes/);
  });
});

describe('a 40 MB forename', () => {
  const MB40 = 40 * 1024 * 1024;
  const huge = 'A'.repeat(MB40);
  const cases: { format: FileFormat; file: string; content: () => string; at: RegExp }[] = [
    {
      format: 'sims-xml',
      file: 'huge.xml',
      content: () =>
        sims([
          simsRecord('1001', '<Legal_x0020_Surname>Okafor</Legal_x0020_Surname>'),
          simsRecord('1002', `<Legal_x0020_Forename>${huge}</Legal_x0020_Forename>`),
        ]),
      at: /^huge\.xml, line 4, field Legal Forename: a value longer than 65536 characters/,
    },
    {
      format: 'csv',
      file: 'huge.csv',
      content: () => `ID,Legal Surname,Legal Forename\n1001,Okafor,Amelia\n1002,Haddad,${huge}\n`,
      at: /^huge\.csv, line 3, field Legal Forename: a row longer than 65536 characters/,
    },
    {
      format: 'ctf',
      file: 'huge-ctf.xml',
      content: () => ctf([ctfPupil('A123456789012', 'Okafor'), ctfPupil('E523456789012', huge)]),
      at: /^huge-ctf\.xml, line 6, field Surname: a value longer than 65536 characters/,
    },
  ];

  for (const c of cases) {
    it(`${c.format}: refused naming file, line and field; nothing stored; read under a 48 MB heap cap`, async () => {
      const path = join(dir, c.file);
      writeFileSync(path, c.content());
      const out = execFileSync(
        process.execPath,
        ['--max-old-space-size=48', 'test/helpers/import-file-capped.ts', path, c.format, schema],
        { encoding: 'utf8', timeout: 120_000 },
      );
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
        ok: boolean;
        error?: string;
        peakHeapMb: number;
      };
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(c.at);
      // Less than the value itself: it was never held whole.
      expect(r.peakHeapMb).toBeLessThan(40);
      expect(await stored()).toEqual([]);
      const { rows } = await db.query<{ status: string; error: string }>('SELECT status, error FROM imports');
      expect(rows).toEqual([{ status: 'refused', error: expect.stringMatching(c.at) }]);
    }, 150_000);
  }
});
