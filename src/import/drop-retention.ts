import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Retention for a drop folder: files in `processed/YYYY-MM-DD/` (whole MIS exports, kept for the
 * data manager to look back at) and in `quarantine/` (refused files and their notes) are removed once
 * older than the cutoff — processed by the day folder they were filed under, quarantined by when they
 * were moved there (the entry's change time). Links are removed as themselves, never followed; a
 * `processed/` or `quarantine/` that is not a real directory is left alone (the sync reports it);
 * sub-folders of a day folder or of quarantine are left alone.
 */
export async function purgeDropFiles(root: string, cutoff: Date, cutoffDate: string): Promise<number> {
  let removed = 0;
  const realDir = async (dir: string) => (await lstat(dir).catch(() => undefined))?.isDirectory() === true;
  const removeEntries = async (dir: string, due: (changed: Date) => boolean) => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st || st.isDirectory() || !due(st.ctime)) continue;
      await unlink(path);
      removed++;
    }
  };
  const processed = join(root, 'processed');
  if (await realDir(processed)) {
    for (const day of await readdir(processed)) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || day >= cutoffDate) continue;
      const dir = join(processed, day);
      if (!(await realDir(dir))) continue;
      await removeEntries(dir, () => true);
      await rmdir(dir).catch(() => {}); // only when empty
    }
  }
  const quarantine = join(root, 'quarantine');
  if (await realDir(quarantine)) await removeEntries(quarantine, (changed) => changed < cutoff);
  return removed;
}
