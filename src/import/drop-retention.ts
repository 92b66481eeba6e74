import { isUtf8 } from 'node:buffer';
import { constants } from 'node:fs';
import { lstat, open, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NOTE } from '../../connectors/mis/drop-folder/folder.ts';
import { HeldDir } from '../../connectors/mis/drop-folder/held-dir.ts';
import { safeFileName } from '../../connectors/mis/safe-text.ts';
import { withoutValues } from '../domain/erasure.ts';

/** A day folder of `processed/`. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Visits the folders a drop folder keeps files in, each held open (`HeldDir`) and its entries reached
 * through it: the day folders of `processed/` that `dayDue` accepts (`where` = `processed/YYYY-MM-DD`),
 * then `quarantine/` (`where` = `quarantine`). A `processed/`, day folder or `quarantine/` that is not
 * a real directory is passed over, also one swapped for a link meanwhile. With `removeEmptyDays`, a
 * day folder left empty is removed.
 */
async function eachKeptFolder(
  root: string,
  visit: (dir: HeldDir, where: string) => Promise<void>,
  {
    dayDue = () => true,
    removeEmptyDays = false,
  }: { dayDue?: (day: string) => boolean; removeEmptyDays?: boolean } = {},
): Promise<void> {
  const processed = await HeldDir.existing(join(root, 'processed'));
  if (processed) {
    try {
      for (const day of await readdir(processed.at('.'))) {
        if (!DAY.test(day) || !dayDue(day)) continue;
        const dir = await processed.existingSub(day);
        if (!dir) continue;
        try {
          await visit(dir, `processed/${day}`);
        } finally {
          await dir.close();
        }
        if (removeEmptyDays) await rmdir(processed.at(day)).catch(() => {}); // only when empty
      }
    } finally {
      await processed.close();
    }
  }
  const quarantine = await HeldDir.existing(join(root, 'quarantine'));
  if (quarantine) {
    try {
      await visit(quarantine, 'quarantine');
    } finally {
      await quarantine.close();
    }
  }
}

/**
 * Retention for a drop folder: files in `processed/YYYY-MM-DD/` (whole MIS exports, kept for the
 * data manager to look back at) and in `quarantine/` (refused files and their notes) are removed once
 * older than the cutoff — processed by the day folder they were filed under, quarantined by when they
 * were moved there (the entry's change time). Links are removed as themselves, never followed; a
 * `processed/`, day folder or `quarantine/` that is not a real directory is left alone (the sync
 * reports it), also one swapped for a link while it is emptied;
 * sub-folders of a day folder or of quarantine are left alone.
 */
export async function purgeDropFiles(root: string, cutoff: Date, cutoffDate: string): Promise<number> {
  let removed = 0;
  // Each folder is held open and its entries reached through it (`HeldDir`): one swapped for a link
  // to elsewhere meanwhile (by the account that delivers the exports) is never read or emptied.
  const removeEntries = async (dir: HeldDir, due: (changed: Date) => boolean) => {
    for (const name of await readdir(dir.at('.'))) {
      const path = dir.at(name);
      const st = await lstat(path).catch(() => undefined);
      if (!st || st.isDirectory() || !due(st.ctime)) continue;
      await unlink(path);
      removed++;
    }
  };
  await eachKeptFolder(
    root,
    (dir, where) => removeEntries(dir, where === 'quarantine' ? (changed) => changed < cutoff : () => true),
    { dayDue: (day) => day < cutoffDate, removeEmptyDays: true },
  );
  return removed;
}

/** A file kept in a drop folder (`processed/YYYY-MM-DD/` or `quarantine/`). */
export interface KeptDropFile {
  /** Its folder under the drop folder: `processed/YYYY-MM-DD` or `quarantine`. */
  where: string;
  /** Its name made safe to show (`safeFileName`). */
  name: string;
}

/**
 * The files kept in a drop folder (`processed/`, `quarantine/`: whole MIS exports, refused files and
 * their notes) that hold any of `values` — a pupil's MIS id and UPN — whole, as erasure finds a value
 * in a kept text (`withoutValues`: not inside a longer id or number, nor a date). These files hold
 * other pupils too: they are named, never read out. With `remove`, each found is removed (as
 * retention removes it: a link as itself, never followed), a quarantined file with its note. Only
 * regular files are read, opened without following a link; the folders are held open (`HeldDir`).
 */
export async function keptDropFilesHolding(
  root: string,
  values: readonly string[],
  { remove = false }: { remove?: boolean } = {},
): Promise<KeptDropFile[]> {
  const found: KeptDropFile[] = [];
  await eachKeptFolder(root, async (dir, where) => {
    for (const name of (await readdir(dir.at('.'))).sort()) {
      if (!(await holdsAny(dir.at(name), values))) continue;
      found.push({ where, name: safeFileName(name) });
      if (!remove) continue;
      await unlink(dir.at(name));
      // A refused file's note says why it was refused: it goes with the file it is about.
      if (where === 'quarantine' && !name.endsWith(NOTE))
        await unlink(dir.at(`${name}${NOTE}`)).catch(() => {});
    }
  });
  return found;
}

/** Whether the regular file at `path` (a link is not followed) holds any of `values` whole. */
async function holdsAny(path: string, values: readonly string[]): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!fh) return false;
  try {
    if (!(await fh.stat()).isFile()) return false;
    const text = decoded(await fh.readFile());
    return withoutValues(text, values) !== text;
  } finally {
    await fh.close();
  }
}

/** An export's text as far as ids go: UTF-16 by its byte order mark, UTF-8 when it is, else bytes as Latin-1. */
function decoded(b: Buffer): string {
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) return Buffer.from(b.subarray(2)).swap16().toString('utf16le');
  return b.toString(isUtf8(b) ? 'utf8' : 'latin1');
}
