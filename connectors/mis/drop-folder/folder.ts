import { createHash } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { londonDate } from '../../../src/domain/attendance/dates.ts';
import { doorstepError } from '../../../src/errors.ts';
import { safeFileName, safeText } from '../safe-text.ts';

/** A file changed less than this long ago is still being written: it waits (ms). */
export const SETTLE_MS = 2000;

/** A file in the drop folder still being written. */
export interface SettlingFile {
  /** Made safe to show (see `safeFileName`). */
  name: string;
  /** Its mtime (ms since the epoch). */
  changedAt: number;
  size: number;
}

/** An entry of the drop folder due for import: a regular file, or something refused unopened. */
export interface DropEntry {
  path: string;
  /** The file name made safe to show, log and record (see `safeFileName`). */
  name: string;
  /** Why the entry is refused without being opened (a symbolic link, a FIFO, a device…). */
  refusal?: string;
}

/** A quarantined entry as the data page lists it. Never follows a link to find a size. */
export interface QuarantinedEntry {
  file: string;
  /** Size of a regular file; null for anything else. */
  bytes: number | null;
  kind: 'file' | 'symbolic link' | 'other';
  at: string;
}

/**
 * A school's drop folder: export files arrive in it; each is imported whole, then moved to
 * `processed/YYYY-MM-DD/` or, when refused, to `quarantine/` beside a `<name>.error.txt` that says
 * why. A file still being written (changed in the last `settleMs`) is left for the next pass.
 *
 * Only regular files are read, and never through a link: entries are examined with `lstat`, opened
 * with `O_NOFOLLOW` and checked again on the open descriptor (closing the race with a swap). A
 * symbolic link or other special file is refused and quarantined without being opened or followed.
 * `processed/` and `quarantine/` must be real directories, and a quarantine note is created
 * exclusively (`O_EXCL|O_NOFOLLOW`), so nothing planted in the folder is ever written through.
 */
export class DropFolder {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get quarantine(): string {
    return join(this.root, 'quarantine');
  }

  async ensure(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** Entries due for import, oldest first (by the entry's own mtime, links not followed). */
  async readyFiles(now: Date, settleMs = SETTLE_MS): Promise<DropEntry[]> {
    return (await this.scan(now, settleMs)).ready;
  }

  /**
   * The folder as it is now: entries due for import (oldest first) and files still being written
   * (changed less than `settleMs` ago), each with the time it last changed.
   */
  async scan(now: Date, settleMs = SETTLE_MS): Promise<{ ready: DropEntry[]; settling: SettlingFile[] }> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return { ready: [], settling: [] };
      throw err;
    }
    const entries: (DropEntry & { mtime: number })[] = [];
    const settling: SettlingFile[] = [];
    for (const name of names) {
      if (
        name.startsWith('.') ||
        name.endsWith('.error.txt') ||
        name.endsWith('.part') ||
        name.endsWith('.tmp')
      )
        continue;
      const path = join(this.root, name);
      const st = await lstat(path).catch(() => undefined);
      // Sub-folders (processed/, quarantine/ and any the school keeps) are left alone.
      if (!st || st.isDirectory()) continue;
      const safe = safeFileName(name);
      if (now.getTime() - st.mtimeMs < settleMs) {
        settling.push({ name: safe, changedAt: st.mtimeMs, size: st.size });
        continue;
      }
      const kind = notRegular(st);
      entries.push({
        path,
        name: safe,
        mtime: st.mtimeMs,
        ...(kind
          ? { refusal: `${safe} is ${kind}: only regular files are imported (it was not opened)` }
          : {}),
      });
    }
    const ready = entries.sort((a, b) => a.mtime - b.mtime).map(({ mtime: _, ...e }) => e);
    return { ready, settling };
  }

  /**
   * The file's bytes, opened without following a link and only if the opened descriptor is a
   * regular file; the handle is closed when the stream ends or is destroyed.
   */
  read(path: string): Readable {
    return Readable.from(readRegular(path));
  }

  async sha256(path: string): Promise<string> {
    return sha256Of(this.read(path));
  }

  async markProcessed(path: string, now: Date): Promise<string> {
    const processed = join(this.root, 'processed');
    await realDir(processed);
    const dir = join(processed, londonDate(now));
    await realDir(dir);
    return moveUnique(path, dir);
  }

  /**
   * Moves the entry (a link is moved as itself) to `quarantine/` and writes the reason beside it,
   * one line, in a note created exclusively: if `<name>.error.txt` already exists — a file, or a
   * planted link — the entry takes the next free name (`<name>.1`, …) instead.
   */
  async quarantineFile(path: string, reason: string, now: Date): Promise<string> {
    await realDir(this.quarantine);
    const name = path.split('/').pop()!;
    for (let i = 0; ; i++) {
      const dest = join(this.quarantine, i === 0 ? name : `${name}.${i}`);
      if (await exists(dest)) continue;
      let note: FileHandle;
      try {
        note = await open(
          `${dest}.error.txt`,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o640,
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'EEXIST') continue;
        throw err;
      }
      try {
        await rename(path, dest);
        await note.writeFile(`${now.toISOString()}\n${safeText(reason)}\n`);
      } catch (err) {
        await note.close();
        await unlink(`${dest}.error.txt`).catch(() => {});
        throw err;
      }
      await note.close();
      return dest;
    }
  }

  /** The newest 50 quarantined entries (without their notes), names made safe; links not followed. */
  async quarantined(): Promise<QuarantinedEntry[]> {
    let names: string[];
    try {
      const dir = await lstat(this.quarantine);
      if (!dir.isDirectory()) return [];
      names = (await readdir(this.quarantine)).filter((n) => !n.endsWith('.error.txt')).sort();
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return [];
      throw err;
    }
    const out: QuarantinedEntry[] = [];
    for (const n of names.slice(-50)) {
      const st = await lstat(join(this.quarantine, n)).catch(() => undefined);
      if (!st) continue;
      const kind = st.isFile() ? 'file' : st.isSymbolicLink() ? 'symbolic link' : 'other';
      out.push({
        file: safeFileName(n),
        bytes: kind === 'file' ? st.size : null,
        kind,
        at: st.mtime.toISOString(),
      });
    }
    return out;
  }
}

/** What a non-regular entry is, for the refusal; undefined for a regular file. */
function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

async function* readRegular(path: string): AsyncGenerator<Buffer> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO swapped in after the lstat must not wait for a writer.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as { code?: string }).code === 'ELOOP') {
      throw doorstepError(
        'IMPORT_REFUSED',
        `${safeFileName(path.split('/').pop()!)} is a symbolic link: only regular files are imported (it was not followed)`,
      );
    }
    throw err;
  }
  try {
    const kind = notRegular(await fh.stat());
    if (kind) {
      throw doorstepError(
        'IMPORT_REFUSED',
        `${safeFileName(path.split('/').pop()!)} is ${kind}: only regular files are imported`,
      );
    }
    for await (const chunk of fh.createReadStream({ start: 0, highWaterMark: 64 * 1024, autoClose: false })) {
      yield chunk as Buffer;
    }
  } finally {
    await fh.close();
  }
}

/** Creates `dir` if missing; refuses anything at that path that is not a real directory (a link). */
async function realDir(dir: string): Promise<void> {
  await mkdir(dir).catch((err: { code?: string }) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (!st.isDirectory()) {
    throw doorstepError(
      'CONFIG_INVALID',
      `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: the drop folder's processed/ and quarantine/ must be real directories`,
    );
  }
}

async function moveUnique(path: string, dir: string): Promise<string> {
  const name = path.split('/').pop()!;
  let dest = join(dir, name);
  for (let i = 1; await exists(dest); i++) dest = join(dir, `${name}.${i}`);
  await rename(path, dest);
  return dest;
}

/** Whether anything (a dangling link included) is at `p`. */
async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

export async function sha256Of(input: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of input) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  return sha256Of(createReadStream(path));
}
