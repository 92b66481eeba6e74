import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HeldDir } from '../../connectors/mis/drop-folder/held-dir.ts';

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
  const processed = await HeldDir.existing(join(root, 'processed'));
  if (processed) {
    try {
      for (const day of await readdir(processed.at('.'))) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || day >= cutoffDate) continue;
        const dir = await processed.existingSub(day);
        if (!dir) continue;
        try {
          await removeEntries(dir, () => true);
        } finally {
          await dir.close();
        }
        await rmdir(processed.at(day)).catch(() => {}); // only when empty
      }
    } finally {
      await processed.close();
    }
  }
  const quarantine = await HeldDir.existing(join(root, 'quarantine'));
  if (quarantine) {
    try {
      await removeEntries(quarantine, (changed) => changed < cutoff);
    } finally {
      await quarantine.close();
    }
  }
  return removed;
}
