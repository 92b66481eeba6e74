import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DropFolderSource } from '../../../connectors/mis/drop-folder/source.ts';
import { syncSchool } from '../../../src/import/sync-school.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../../helpers/services.ts';

/**
 * Found by review: a regular FILE named `quarantine` or `processed` in the drop folder (a hostile
 * writer's, or a mistake) was taken as an export; moving it, or any file after it, then needed that
 * name to be a folder, so the sync failed — and failed again at every later sync, leaving every file
 * after it unimported. Now such a file is a refused entry: never opened, recorded as refused, moved
 * aside into quarantine/ with its note, and the rest of the folder is imported.
 */
const schema = uniqueName('dropreserved');
const base = mkdtempSync(join(tmpdir(), 'drop-reserved-'));
const drop = join(base, 'drop');
const NOW = new Date('2025-01-20T12:00:00Z');
const OLDER = new Date('2025-01-20T10:00:00Z');
const OLD = new Date('2025-01-20T11:00:00Z');
let db: Db;
const school = configWith({
  mis: `{ kind: csv, dropFolder: "${drop}" }`,
  school: '    attendance: { academicYears: [2024] }',
}).schools[0]!;
const sync = () =>
  syncSchool(db, school, new DropFolderSource(school, 'csv', drop, () => NOW), {
    now: () => NOW,
    actor: 'test',
  });

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(base, { recursive: true, force: true });
});
beforeEach(async () => {
  rmSync(drop, { recursive: true, force: true });
  mkdirSync(drop, { recursive: true });
  await db.query('DELETE FROM pupils');
  await db.query('DELETE FROM imports');
});

describe('a file named like one of the drop folder’s own folders', () => {
  for (const name of ['quarantine', 'processed']) {
    it(`a regular file named "${name}" is refused and quarantined, and the files after it imported`, async () => {
      // An import that would apply, were it taken: it is not (never opened).
      const reserved = join(drop, name);
      writeFileSync(reserved, 'ID,Legal Forename\n9,X\n');
      utimesSync(reserved, OLDER, OLDER);
      const good = join(drop, 'pupils.csv');
      writeFileSync(good, 'ID,UPN,Legal Forename,Legal Surname\n1001,A123456789012,Amelia,Okafor\n');
      utimesSync(good, OLD, OLD);

      const report = await sync();
      expect(report.refused).toEqual([
        { unit: name, reason: expect.stringContaining(`the name of the drop folder's own ${name}/ folder`) },
      ]);
      expect(report.applied.map((s) => s.unit)).toEqual(['pupils.csv']);
      const { rows } = await db.query<{ mis_id: string }>('SELECT mis_id FROM pupils ORDER BY mis_id');
      expect(rows.map((r) => r.mis_id)).toEqual(['1001']);

      // Both folders are real folders now; the refused file is in quarantine/ with its note.
      expect(lstatSync(join(drop, 'quarantine')).isDirectory()).toBe(true);
      expect(lstatSync(join(drop, 'processed')).isDirectory()).toBe(true);
      expect(readFileSync(join(drop, 'quarantine', name), 'utf8')).toBe('ID,Legal Forename\n9,X\n');
      expect(readFileSync(join(drop, 'quarantine', `${name}.error.txt`), 'utf8')).toContain('never imported');
      expect(readdirSync(drop).sort()).toEqual(['processed', 'quarantine']);

      // The next sync has nothing left to do, and fails on nothing.
      const next = await sync();
      expect(next).toEqual({ applied: [], refused: [], left: [], alreadyImported: [] });
    });
  }
});

describe("a file still under an upload or download client's temporary name", () => {
  // WinSCP uploads a file over 100 KB as `name.filepart` and renames it at the end: a stalled upload
  // was read once it had not changed for the settle time, half applied and moved to processed/.
  const temporary = [
    'pupils.csv.filepart', // WinSCP
    'pupils2.csv.FILEPART', // the same, its name in capitals
    'pupils.csv.crdownload', // Chrome, Edge
    'pupils.csv.partial', // older Edge, Internet Explorer
    'pupils.csv.!Sync', // Resilio Sync
    'pupils.csv.part', // as the docs advise a writer
    'pupils.csv.tmp',
    '~$pupils.csv', // Office's lock file beside a file open in Excel
  ];
  it('is passed over, neither imported, refused nor moved, and the finished file beside it imported', async () => {
    for (const name of temporary) {
      const p = join(drop, name);
      writeFileSync(p, 'ID,Legal Forename,Legal Surname\n9,Cut\n');
      utimesSync(p, OLDER, OLDER);
    }
    const good = join(drop, 'pupils.csv');
    writeFileSync(good, 'ID,UPN,Legal Forename,Legal Surname\n1001,A123456789012,Amelia,Okafor\n');
    utimesSync(good, OLD, OLD);

    const report = await sync();
    expect(report.refused).toEqual([]);
    expect(report.left).toEqual([]);
    expect(report.applied.map((s) => s.unit)).toEqual(['pupils.csv']);
    const { rows } = await db.query<{ mis_id: string }>('SELECT mis_id FROM pupils ORDER BY mis_id');
    expect(rows.map((r) => r.mis_id)).toEqual(['1001']);
    expect(
      readdirSync(drop)
        .filter((n) => n !== 'processed')
        .sort(),
    ).toEqual([...temporary].sort());
  });
});
