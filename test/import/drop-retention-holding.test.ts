import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keptDropFilesHolding } from '../../src/import/drop-retention.ts';

/**
 * `subject erase` and `subject export` find the drop folder's kept MIS exports that hold a pupil by
 * the file's format — their id where the format keeps a pupil's id, their UPN anywhere — decoding
 * each as the importer does. A short MIS id standing elsewhere (a house number, a year group, minutes
 * late) is not the pupil; a file that cannot be read as an export only "may hold" them, and is never
 * deleted.
 */
let root: string;
let day: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drop-holding-'));
  day = join(root, 'processed', '2025-01-13');
  await mkdir(day, { recursive: true });
  await mkdir(join(root, 'quarantine'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const names = (files: { where: string; name: string; holds: string }[]) =>
  files.map((f) => `${f.holds}: ${f.where}/${f.name}`);

const SIMS = (id: string) =>
  `<?xml version="1.0" encoding="utf-16"?>\r\n<SuperStarReport><Record><ID>${id}</ID><Legal_x0020_Surname>Okafor</Legal_x0020_Surname></Record></SuperStarReport>\r\n`;

describe('the kept MIS files that hold a pupil', () => {
  it('reads UTF-16 XML without a byte-order mark as the importer does (either byte order)', async () => {
    await writeFile(join(day, 'le.xml'), Buffer.from(SIMS('1003'), 'utf16le'));
    await writeFile(join(day, 'be.xml'), Buffer.from(SIMS('1003'), 'utf16le').swap16());
    await writeFile(join(day, 'other.xml'), Buffer.from(SIMS('1004'), 'utf16le'));
    expect(names(await keptDropFilesHolding(root, ['1003']))).toEqual([
      'holds: processed/2025-01-13/be.xml',
      'holds: processed/2025-01-13/le.xml',
    ]);
  });

  it("decodes a file that does not say its encoding in the school's mis.encoding", async () => {
    // Windows-1252 bytes (é as 0xE9) that are not UTF-8.
    const csv = Buffer.concat([
      Buffer.from('ID,Legal Surname\r\n1003,Ren'),
      Buffer.from([0xe9]),
      Buffer.from('e\r\n'),
    ]);
    await writeFile(join(day, 'pupils.csv'), csv);
    expect(names(await keptDropFilesHolding(root, ['1003'], { mis: { encoding: 'windows-1252' } }))).toEqual([
      'holds: processed/2025-01-13/pupils.csv',
    ]);
  });

  it('deletes no kept export that does not hold the pupil (their id a house number, a year, minutes late)', async () => {
    await writeFile(
      join(day, 'pupils.csv'),
      'ID,Legal Forename,Legal Surname,Year,Address Line 1,Postcode\r\n1001,Amelia,Okafor,12,12 High Street,LS6 2AB\r\n',
    );
    await writeFile(
      join(day, 'marks.xml'),
      '<SessionAttendances><SessionAttendance><PersonID>1001</PersonID><MinsLate>12</MinsLate></SessionAttendance></SessionAttendances>',
    );
    expect(await keptDropFilesHolding(root, ['12'], { remove: true })).toEqual([]);
    expect((await readdir(day)).sort()).toEqual(['marks.xml', 'pupils.csv']);
  });

  it('finds the id where the format keeps it: a SIMS record, a marks record, a CSV id column, by the column map', async () => {
    await writeFile(
      join(day, 'marks.xml'),
      '<SessionAttendances><SessionAttendance><PersonID> 12 </PersonID></SessionAttendance></SessionAttendances>',
    );
    await writeFile(
      join(day, 'records.xml'),
      '<SuperStarReport><Record><ID><![CDATA[12]]></ID></Record></SuperStarReport>',
    );
    expect(names(await keptDropFilesHolding(root, ['12']))).toEqual([
      'holds: processed/2025-01-13/marks.xml',
      'holds: processed/2025-01-13/records.xml',
    ]);
    // The school's report calls the id "Adno": its "ID" column is not the pupil's id (and a record
    // with an <ID> alone is no export of this school's: it may hold them).
    await writeFile(join(day, 'adno.csv'), 'Adno,ID,Legal Surname\r\n12,99,Short\r\n');
    await writeFile(join(day, 'id.csv'), 'Adno,ID,Legal Surname\r\n99,12,Other\r\n');
    const mis = { columns: { pupils: { misId: 'Adno' } } };
    expect(names(await keptDropFilesHolding(root, ['12'], { mis }))).toEqual([
      'holds: processed/2025-01-13/adno.csv',
      'holds: processed/2025-01-13/marks.xml',
      'may hold: processed/2025-01-13/records.xml',
    ]);
  });

  it('finds a UPN anywhere as a whole token (a CTF, a refused file): no house number is one', async () => {
    const UPN = 'A123456789012';
    await writeFile(
      join(day, 'ctf.xml'),
      `<CTfile><CTFpupilData><Pupil><UPN>${UPN}</UPN></Pupil></CTFpupilData></CTfile>`,
    );
    await writeFile(join(root, 'quarantine', 'odd.txt'), `pupil ${UPN} refused\n`);
    await writeFile(join(root, 'quarantine', 'longer.txt'), `pupil ${UPN}9 refused\n`);
    expect(names(await keptDropFilesHolding(root, ['3003', UPN]))).toEqual([
      'holds: processed/2025-01-13/ctf.xml',
      'holds: quarantine/odd.txt',
    ]);
  });

  it('names a file it cannot read as an export as one that may hold the pupil, and never deletes it', async () => {
    // Semicolon-delimited (no column the map names), and an export without its header row.
    await writeFile(join(root, 'quarantine', 'semi.csv'), 'ID;Legal Surname\r\n12;Short\r\n');
    await writeFile(join(root, 'quarantine', 'semi.csv.error.txt'), 'refused: semicolons\n');
    await writeFile(join(root, 'quarantine', 'headless.csv'), '12,Short,12 High Street\r\n');
    // A quarantined export that holds them goes with its note; the note is not named apart.
    await writeFile(join(root, 'quarantine', 'held.csv'), 'PersonID,AttendanceDate\r\n12,2025-01-13\r\n');
    await writeFile(join(root, 'quarantine', 'held.csv.error.txt'), 'record 1: pupil 12 unknown\n');
    const found = await keptDropFilesHolding(root, ['12'], { remove: true });
    expect(names(found)).toEqual([
      'may hold: quarantine/headless.csv',
      'holds: quarantine/held.csv',
      'may hold: quarantine/semi.csv',
    ]);
    expect((await readdir(join(root, 'quarantine'))).sort()).toEqual([
      'headless.csv',
      'semi.csv',
      'semi.csv.error.txt',
    ]);
  });
});
