import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DropFolderSource } from '../../../connectors/mis/drop-folder/source.ts';
import { syncSchool } from '../../../src/import/sync-school.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../../helpers/services.ts';

/**
 * A file the delivering account wrote 0600 cannot be opened by Doorstep's account. The tests run as
 * root (who may open anything), so the open is made to fail as it does for the service's account.
 */
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof fs.open = (path, ...rest) =>
    String(path).endsWith('1-private.csv')
      ? Promise.reject(
          Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES' }),
        )
      : fs.open(path, ...rest);
  return { ...fs, open, default: { ...fs, open } };
});

const schema = uniqueName('dropunreadable');
const drop = mkdtempSync(join(tmpdir(), 'doorstep-unreadable-'));
const NOW = new Date('2025-01-20T12:00:00Z');
const school = configWith({
  mis: `{ kind: csv, dropFolder: "${drop}" }`,
  school: '    attendance: { academicYears: [2024] }',
}).schools[0]!;
let db: Db;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(drop, { recursive: true, force: true });
});

function put(name: string, content: string, at: string) {
  writeFileSync(join(drop, name), content);
  execFileSync('touch', ['-d', at, join(drop, name)]);
}

describe('drop folder: a file Doorstep may not read', () => {
  it('is refused, recorded and quarantined with a note saying why, and the next file is imported', async () => {
    put('1-private.csv', 'ID,Legal Forename\n1001,A\n', '2025-01-20T11:00:00Z');
    put('2-readable.csv', 'ID,Legal Forename\n2002,B\n', '2025-01-20T11:10:00Z');

    const report = await syncSchool(db, school, new DropFolderSource(school, 'csv', drop, () => NOW), {
      now: () => NOW,
      actor: 'test',
    });

    const reason =
      "1-private.csv cannot be opened (EACCES): Doorstep's account is not allowed to read it (check the file's owner and permissions)";
    expect(report.refused).toEqual([{ unit: '1-private.csv', reason }]);
    expect(report.applied.map((s) => s.unit)).toEqual(['2-readable.csv']);
    const { rows } = await db.query<{ unit: string; status: string }>(
      'SELECT unit, status FROM imports ORDER BY id',
    );
    expect(rows).toEqual([
      { unit: '1-private.csv', status: 'refused' },
      { unit: '2-readable.csv', status: 'applied' },
    ]);
    expect(readdirSync(join(drop, 'quarantine')).sort()).toEqual([
      '1-private.csv',
      '1-private.csv.error.txt',
    ]);
    expect(readFileSync(join(drop, 'quarantine', '1-private.csv.error.txt'), 'utf8')).toBe(
      `${NOW.toISOString()}\n${reason}\n`,
    );
  });
});
