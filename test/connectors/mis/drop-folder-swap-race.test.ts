import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropFolder } from '../../../connectors/mis/drop-folder/folder.ts';
import { DropFolderSource } from '../../../connectors/mis/drop-folder/source.ts';
import { purgeDropFiles } from '../../../src/import/drop-retention.ts';
import { syncSchool } from '../../../src/import/sync-school.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../../helpers/services.ts';

/**
 * The account that delivers the exports can rename the drop folder's `quarantine/` (or `processed/`,
 * or its day folder) away and put a link to elsewhere in its place, and back, over and over. A move
 * that checked the folder by its path and then moved by its path could be sent through the link,
 * into any directory Doorstep may write (`~/.ssh`). Doorstep moves into the directory it opened
 * (never following a link), so whatever the swapper does, nothing lands outside the drop folder.
 */
const schema = uniqueName('dropswap');
const base = mkdtempSync(join(tmpdir(), 'doorstep-dropswap-'));
const drop = join(base, 'drop');
const outside = join(base, 'outside');
const NOW = new Date('2025-01-20T12:00:00Z');
const OLD = new Date('2025-01-20T11:00:00Z');
const TRIES = 200;
const RETENTION_TRIES = 3000;
let db: Db;
const swappers: ChildProcess[] = [];

const school = configWith({
  mis: `{ kind: csv, dropFolder: "${drop}" }`,
  school: '    attendance: { academicYears: [2024] }',
}).schools[0]!;

/**
 * Swaps each folder for a link to `outside` and back, for ever: the folder renamed away, the link
 * made, a moment's wait, the link removed and the folder renamed back (a folder Doorstep made in
 * the gap is thrown away).
 */
const SWAPPER = `
const fs = require('node:fs');
const [outside, ...dirs] = process.argv.slice(1);
for (;;) {
  for (const d of dirs) {
    const away = d + '.away';
    try {
      fs.mkdirSync(d, { recursive: true });
      fs.renameSync(d, away);
      try { fs.symlinkSync(outside, d); } catch {}
      const until = process.hrtime.bigint() + 200000n;
      while (process.hrtime.bigint() < until);
      try { fs.unlinkSync(d); } catch { fs.rmSync(d, { recursive: true, force: true }); }
      fs.renameSync(away, d);
    } catch {}
  }
}`;

/** Starts a swapper (killed when the file's tests end). */
function swap(to: string, dirs: string[]): ChildProcess {
  const child = spawn(process.execPath, ['-e', SWAPPER, to, ...dirs], { stdio: 'ignore' });
  swappers.push(child);
  return child;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  mkdirSync(join(drop, 'processed', '2025-01-20'), { recursive: true });
  mkdirSync(join(drop, 'quarantine'), { recursive: true });
  mkdirSync(outside, { recursive: true });
});
afterAll(async () => {
  for (const c of swappers) c.kill('SIGKILL');
  await db.close();
  await dropSchema(schema);
  rmSync(base, { recursive: true, force: true });
});

describe('drop folder: a folder swapped for a link during the move', () => {
  it('never moves a file or writes a note through quarantine/, processed/ or its day folder swapped for a link', async () => {
    const swapper = swap(outside, [
      join(drop, 'quarantine'),
      join(drop, 'processed', '2025-01-20'),
      join(drop, 'processed'),
    ]);
    const source = new DropFolderSource(school, 'csv', drop, () => NOW);
    let tries = 0;
    for (; tries < TRIES && readdirSync(outside).length === 0; tries++) {
      // One refused file (to quarantine/) and one applied (to processed/2025-01-20/) each time.
      const bad = join(drop, `bad-${tries}.csv`);
      const good = join(drop, `good-${tries}.csv`);
      writeFileSync(bad, '"broken');
      writeFileSync(good, `ID,Legal Forename\n${1000 + tries},A\n`);
      execFileSync('touch', ['-d', OLD.toISOString(), bad, good]);
      await syncSchool(db, school, source, { now: () => NOW, actor: 'test' }).catch(() => {});
      // What a sync stopped by a link left behind is not carried into the next try.
      rmSync(bad, { force: true });
      rmSync(good, { force: true });
    }
    swapper.kill('SIGKILL');
    expect({ tries, outside: readdirSync(outside) }).toEqual({ tries: TRIES, outside: [] });
    // Not for want of moving: files were moved into the folders between the swaps (a folder swapped
    // for a link at the moment it is opened stops that sync, saying so; the files wait for the next).
    const moved = (readdirSync(drop, { recursive: true }) as string[]).filter((p) =>
      /\/(bad|good)-\d+\.csv$/.test(p),
    );
    expect(moved.length).toBeGreaterThan(TRIES / 10);
  }, 120_000);

  it('retention never empties, nor the data page lists, a directory swapped in for quarantine/ or a day folder of processed/', async () => {
    const root = join(base, 'retained');
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(join(root, 'processed', '2020-01-01'), { recursive: true });
    mkdirSync(join(root, 'quarantine'), { recursive: true });
    mkdirSync(elsewhere, { recursive: true });
    const precious = ['authorized_keys', 'id_ed25519', 'known_hosts'];
    for (const name of precious) writeFileSync(join(elsewhere, name), 'precious\n');
    const swapper = swap(elsewhere, [join(root, 'quarantine'), join(root, 'processed', '2020-01-01')]);
    const folder = new DropFolder(root);
    const listed = new Set<string>();
    let tries = 0;
    for (; tries < RETENTION_TRIES && readdirSync(elsewhere).length === precious.length; tries++) {
      // Everything in them is due: a day folder long past, files quarantined before the cutoff.
      await purgeDropFiles(root, new Date('2099-01-01T00:00:00Z'), '2099-01-01').catch(() => {});
      // Nor does the data page's list of quarantined files list the directory swapped in.
      for (const q of await folder.quarantined().catch(() => [])) listed.add(q.file);
    }
    swapper.kill('SIGKILL');
    expect({ tries, left: readdirSync(elsewhere).sort(), listed: [...listed] }).toEqual({
      tries: RETENTION_TRIES,
      left: precious,
      listed: [],
    });
  }, 120_000);
});
