import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DropFolder } from '../../../connectors/mis/drop-folder/folder.ts';

/**
 * Found by review: the data page's list of quarantined files (`DropFolder.quarantined`, "the newest
 * 50") sorted the names alphabetically and kept the last 50 of that order, so once a school had 50
 * quarantined files, a file refused today whose name sorts early (attendance.csv, a SIMS "AM…"
 * export) never showed. Now the list is the 50 quarantined most recently, newest first — by when each
 * was quarantined (its note's time), not by its name or the time the export itself was written.
 */
const base = mkdtempSync(join(tmpdir(), 'quarantine-list-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('data page: quarantined files', () => {
  it('lists the 50 quarantined most recently, newest first, whatever their names', async () => {
    const folder = new DropFolder(base);
    const q = join(base, 'quarantine');
    mkdirSync(q, { recursive: true });
    // 50 refused on 1 January, one a minute, their names sorting after today's.
    for (let i = 0; i < 50; i++) {
      const at = new Date(Date.UTC(2025, 0, 1, 10, i));
      const p = join(q, `zz-old-export-${String(i).padStart(2, '0')}.csv`);
      writeFileSync(p, 'x');
      writeFileSync(`${p}.error.txt`, 'old\n');
      utimesSync(p, at, at);
      utimesSync(`${p}.error.txt`, at, at);
    }
    // Refused today, through the real quarantine path; the export itself was written last year.
    const dropped = join(base, 'attendance.csv');
    writeFileSync(dropped, 'garbage');
    const written = new Date('2024-06-01T09:00:00Z');
    utimesSync(dropped, written, written);
    await folder.quarantineFile(dropped, 'refused today', new Date());

    const listed = await folder.quarantined();
    expect(listed).toHaveLength(50);
    expect(listed[0]).toEqual({ file: 'attendance.csv', bytes: 7, kind: 'file', at: expect.any(String) });
    expect(Date.parse(listed[0]!.at)).toBeGreaterThan(Date.UTC(2025, 0, 2));
    // Then the old ones, newest first; the oldest (the 51st) is left out.
    expect(listed.slice(1, 3).map((e) => e.file)).toEqual(['zz-old-export-49.csv', 'zz-old-export-48.csv']);
    expect(listed.map((e) => e.file)).not.toContain('zz-old-export-00.csv');
  });
});
