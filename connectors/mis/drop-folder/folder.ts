import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { type BigIntStats, constants, createReadStream, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { londonDate } from '../../../src/domain/attendance/dates.ts';
import { doorstepError } from '../../../src/errors.ts';
import { safeFileName, safeText } from '../safe-text.ts';
import { HeldDir } from './held-dir.ts';

/** How far ahead of this machine's clock a file's time is taken as a clock difference (it settles). */
export const FUTURE_MTIME_MS = 5 * 60_000;

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
  /** Its size and modification time when the folder was listed: opened later, it must still have them. */
  listed?: Listed;
  /**
   * The entry's path as the file system has it, when its name is not UTF-8 (then `path` and `name`
   * carry its printable name, `printableName`, and it is refused, unopened).
   */
  pathBytes?: Buffer;
}

/** A file's size and modification time (ns) as the folder was listed. */
export type Listed = Pick<BigIntStats, 'size' | 'mtimeNs'>;

/**
 * A file opened for its import that has changed since the folder was listed, or a moment ago: still
 * being written (a writer that began rewriting it during the sync). It is not read; it waits for the
 * next sync, like a file still settling when the folder was listed.
 */
export class StillChanging extends Error {
  constructor(name: string) {
    super(
      `${name} changed a moment ago, or since the drop folder was listed: left to settle, for the next sync`,
    );
  }
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
 * `processed/` and `quarantine/` must be real directories, held open while a file is moved into them
 * (`HeldDir`: a folder swapped for a link meanwhile is not followed), and a quarantine note is
 * created exclusively (`O_EXCL|O_NOFOLLOW`), so nothing planted in the folder is ever written through.
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
    let raw: Buffer[];
    try {
      // As bytes: a name that is not UTF-8 (written by a client in Windows-1252) read as a string
      // names no file (its bytes become U+FFFD), and was passed over at every sync, unseen.
      raw = await readdir(this.root, { encoding: 'buffer' });
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return { ready: [], settling: [] };
      throw err;
    }
    const entries: (DropEntry & { mtime: number })[] = [];
    const settling: SettlingFile[] = [];
    for (const bytes of raw) {
      const utf8 = isUtf8(bytes);
      const name = utf8 ? bytes.toString() : printableName(bytes);
      if (passedOver(name)) continue;
      const path = join(this.root, name);
      const pathBytes = utf8 ? undefined : Buffer.concat([Buffer.from(`${this.root}/`), bytes]);
      const st = await lstat(pathBytes ?? path, { bigint: true }).catch(() => undefined);
      // Sub-folders (processed/, quarantine/ and any the school keeps) are left alone.
      if (!st || st.isDirectory()) continue;
      const safe = safeFileName(name);
      // Settling: changed within the settle time (`changedWithin`).
      const mtimeMs = Number(st.mtimeNs) / 1e6;
      if (changedWithin(mtimeMs, now, settleMs)) {
        settling.push({ name: safe, changedAt: mtimeMs, size: Number(st.size) });
        continue;
      }
      if (pathBytes) {
        // Not opened: refused, and quarantined under its printable name (each byte that is not
        // UTF-8 as %XX), with a note saying why.
        entries.push({
          path,
          pathBytes,
          name: safe,
          mtime: mtimeMs,
          refusal: `${safe}: its file name is not UTF-8 (shown with each byte that is not as %XX), so Doorstep cannot name it (it was not opened); deliver it under a UTF-8 name — an FTP/SFTP client set to send names in Windows-1252 writes such names`,
        });
        continue;
      }
      const kind = notRegular(st);
      // A file named like the folder's own processed/ or quarantine/ (a hostile writer's, or a
      // mistake) is never imported: it is refused and moved aside, so the folder can be made there
      // (before, moving any file failed, and every sync after it stopped). A link there is refused
      // as a link (and stops the sync: below).
      const reserved = !kind && RESERVED_NAMES.has(name);
      entries.push({
        path,
        name: safe,
        mtime: mtimeMs,
        ...(kind ? {} : { listed: { size: st.size, mtimeNs: st.mtimeNs } }),
        ...(kind
          ? { refusal: `${safe} is ${kind}: only regular files are imported (it was not opened)` }
          : reserved
            ? {
                refusal: `${safe} has the name of the drop folder's own ${name}/ folder: a file of that name is never imported (it was not opened); deliver it under another name`,
              }
            : {}),
      });
    }
    const ready = entries.sort((a, b) => a.mtime - b.mtime).map(({ mtime: _, ...e }) => e);
    return { ready, settling };
  }

  /**
   * Opens a file of the folder for its import: without following a link, only if the opened
   * descriptor is a regular file, and refusing (as the file's fault) one Doorstep may not read.
   * A file gone since the folder was listed rejects with its `ENOENT`. With `settled`, the settle
   * rule is applied again to the file as opened: one changed since it was `listed`, or within
   * `settleMs` of `now`, rejects with `StillChanging` (its writer began again during the sync).
   */
  async open(
    path: string,
    settled?: { now: Date; settleMs?: number; listed?: Listed | undefined },
  ): Promise<DroppedFile> {
    return DroppedFile.open(path, settled);
  }

  /** The file's bytes, read as `open` reads them; the file is closed when the stream ends or is destroyed. */
  read(path: string): Readable {
    return Readable.from(readOnce(path));
  }

  async sha256(path: string): Promise<string> {
    return sha256Of(this.read(path));
  }

  /**
   * Moves the file to `processed/YYYY-MM-DD/` (a name there taken: the next free `<name>.1`, …),
   * each folder held open and reached through its descriptor (`HeldDir`), never through a link.
   */
  async markProcessed(path: string, now: Date): Promise<string> {
    const processed = join(this.root, 'processed');
    const day = londonDate(now);
    const held = await HeldDir.open(processed);
    try {
      const dir = await held.sub(day, join(processed, day));
      try {
        return join(processed, day, await moveUnique(path, dir));
      } finally {
        await dir.close();
      }
    } finally {
      await held.close();
    }
  }

  /**
   * Moves the entry (a link is moved as itself) to `quarantine/` and writes the reason beside it,
   * one line, in a note created exclusively: if `<name>.error.txt` already exists — a file, or a
   * planted link — the entry takes the next free name (`<name>.1`, …) instead.
   */
  async quarantineFile(path: string | Buffer, reason: string, now: Date): Promise<string> {
    // A name that is not UTF-8 is given its printable one (`printableName`).
    const name =
      typeof path === 'string'
        ? path.split('/').pop()!
        : printableName(path.subarray(path.lastIndexOf(0x2f) + 1));
    // A file in the folder's place (`quarantine`, `processed`) is moved aside under a hidden name
    // first (never taken for import), so the folder can be made; a link there is left, and fails below.
    let from = path;
    if (typeof path === 'string' && RESERVED_NAMES.has(name) && resolve(path) === join(this.root, name)) {
      const st = await lstat(path);
      if (!st.isDirectory() && !st.isSymbolicLink()) {
        let aside = join(this.root, `.${name}.refused-${now.getTime()}`);
        for (let i = 1; await exists(aside); i++)
          aside = join(this.root, `.${name}.refused-${now.getTime()}.${i}`);
        await rename(path, aside);
        from = aside;
      }
    }
    // Held open: the file and its note go into the directory opened, never through a link (`HeldDir`).
    const quarantine = await HeldDir.open(this.quarantine);
    try {
      for (let i = 0; ; i++) {
        // The name and its note's fit NAME_MAX (a long name is shortened: `fittedName`).
        const taken = numbered(name, i, NOTE.length);
        const dest = quarantine.at(taken);
        if (await exists(dest)) continue;
        let note: FileHandle;
        try {
          note = await open(
            `${dest}${NOTE}`,
            constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
            0o640,
          );
        } catch (err) {
          if ((err as { code?: string }).code === 'EEXIST') continue;
          throw notMoved(err, name, 'quarantine/');
        }
        try {
          await rename(from, dest);
          await note.writeFile(`${now.toISOString()}\n${safeText(reason)}\n`);
        } catch (err) {
          await note.close();
          await unlink(`${dest}${NOTE}`).catch(() => {});
          throw notMoved(err, name, 'quarantine/');
        }
        await note.close();
        return join(this.quarantine, taken);
      }
    } finally {
      await quarantine.close();
    }
  }

  /**
   * The 50 entries quarantined most recently, newest first (without their notes), names made safe;
   * links not followed. When an entry was quarantined is its note's time (the note is made then),
   * else the entry's own; before, names were sorted and the last 50 by name kept, so once 50 were
   * there a file refused today whose name sorts early never showed.
   */
  async quarantined(): Promise<QuarantinedEntry[]> {
    // Held open (`HeldDir`): a quarantine/ swapped for a link to elsewhere meanwhile is never listed.
    const quarantine = await HeldDir.existing(this.quarantine);
    if (!quarantine) return [];
    const found: (QuarantinedEntry & { ms: number; name: string })[] = [];
    try {
      const names = (await readdir(quarantine.at('.'))).filter((n) => !n.endsWith('.error.txt'));
      for (const n of names) {
        const st = await lstat(quarantine.at(n)).catch(() => undefined);
        if (!st) continue;
        const note = await lstat(quarantine.at(`${n}.error.txt`)).catch(() => undefined);
        const when = note?.isFile() ? note.mtime : st.mtime;
        const kind = st.isFile() ? 'file' : st.isSymbolicLink() ? 'symbolic link' : 'other';
        found.push({
          file: safeFileName(n),
          bytes: kind === 'file' ? st.size : null,
          kind,
          at: when.toISOString(),
          ms: when.getTime(),
          name: n,
        });
      }
    } finally {
      await quarantine.close();
    }
    return found
      .sort((a, b) => b.ms - a.ms || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, 50)
      .map(({ ms: _, name: __, ...e }) => e);
  }
}

/**
 * Whether a file last changed at `mtimeMs` is still being written at `now`: changed within `settleMs`.
 * A time further ahead than FUTURE_MTIME_MS (a share whose clock runs ahead, `touch -d 2030`) says
 * nothing of whether it is still written: read now (the checks on the open file still leave a file
 * that changes while it is read).
 */
function changedWithin(mtimeMs: number, now: Date, settleMs: number): boolean {
  const age = now.getTime() - mtimeMs;
  return age < settleMs && age > -FUTURE_MTIME_MS;
}

/** The drop folder's own sub-folders: an entry of that name in the folder is never imported. */
/**
 * The endings of the names well-known clients write a file under until it is whole, renaming it at
 * the end (or leaving it so, their transfer stopped): never an export, never taken.
 */
export const TEMPORARY_ENDINGS: readonly string[] = [
  '.part', // the docs' advice to a writer (and Firefox's downloads)
  '.tmp', // the docs' advice to a writer (and many Windows programs')
  '.filepart', // WinSCP (SFTP uploads over 100 KB by default)
  '.crdownload', // Chrome and Edge downloads
  '.partial', // older Edge and Internet Explorer downloads
  '.!sync', // Resilio (BitTorrent) Sync
];

/**
 * Whether a drop-folder entry is passed over, never imported nor quarantined: a hidden name (rsync's
 * `.name.XXXXXX`, Syncthing's, `.~lock.` of LibreOffice), Doorstep's own quarantine note, a file still
 * under a client's temporary name (`TEMPORARY_ENDINGS`, in any case) or Office's `~$` lock file.
 */
export function passedOver(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('~$') || name.endsWith(NOTE)) return true;
  const lower = name.toLowerCase();
  return TEMPORARY_ENDINGS.some((ending) => lower.endsWith(ending));
}

const RESERVED_NAMES: ReadonlySet<string> = new Set(['processed', 'quarantine']);

/** What a non-regular entry is, for the refusal; undefined for a regular file. */
function notRegular(st: Stats | BigIntStats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Errors opening a file that are the file's own (its permissions, what it is), so the same open fails
 * the same way at every sync: the file is refused and quarantined rather than blocking the folder.
 * Anything else (too many open files, an I/O error) may pass, and fails the sync to be retried.
 */
const FILE_REFUSALS: Record<string, string> = {
  EACCES: "Doorstep's account is not allowed to read it (check the file's owner and permissions)",
  EPERM: "Doorstep's account is not allowed to read it (check the file's owner and permissions)",
  EISDIR: 'it is a directory',
  ENXIO: 'it is a device or socket',
  ENAMETOOLONG: 'its name is too long',
  EOVERFLOW: 'it is too large to open',
  EFBIG: 'it is too large to open',
};

/**
 * Size, modification and change times of a file as opened, with the file it is (device and inode).
 * The change time is the kernel's: a rewrite that puts the modification time back (`touch -r`) still
 * moves it.
 */
type Identity = Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs' | 'nlink'>;

const CHUNK = 64 * 1024;

/**
 * One file of the drop folder, open for its whole import. Its checksum and every reading of it come
 * from this one descriptor, never from the path again, and read only the bytes it had when it was
 * opened; each reading ends by checking the file did not change meanwhile (its size and modification
 * time as at the open), so a file still being written, or rewritten in place, is never applied half.
 * `change` says whether the path still holds this very file, as it was read, before it is moved:
 * a copy renamed over it during the import must stay for the next sync, not be archived unread.
 */
export class DroppedFile {
  readonly path: string;
  /** The file name made safe to show (see `safeFileName`). */
  readonly name: string;
  private readonly fh: FileHandle;
  private readonly opened: Identity;

  private constructor(path: string, fh: FileHandle, opened: Identity) {
    this.path = path;
    this.name = safeFileName(path.split('/').pop()!);
    this.fh = fh;
    this.opened = opened;
  }

  static async open(
    path: string,
    settled?: { now: Date; settleMs?: number; listed?: Listed | undefined },
  ): Promise<DroppedFile> {
    const name = safeFileName(path.split('/').pop()!);
    let fh: FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO swapped in after the lstat must not wait for a writer.
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      throw openRefusal(err, name) ?? err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      const kind = notRegular(st);
      if (kind) throw doorstepError('IMPORT_REFUSED', `${name} is ${kind}: only regular files are imported`);
      // Settled when listed is not settled now: the folder was listed at the start of the sync, and
      // a writer may have begun rewriting the file since (a scheduled export truncating it in place)
      // — its first part is a whole file to read, and would be applied and archived.
      if (
        settled &&
        ((settled.listed && (settled.listed.size !== st.size || settled.listed.mtimeNs !== st.mtimeNs)) ||
          changedWithin(Number(st.mtimeNs) / 1e6, settled.now, settled.settleMs ?? SETTLE_MS))
      )
        throw new StillChanging(name);
      return new DroppedFile(path, fh, st);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The file's bytes as opened, from its start (a unit may be read more than once). */
  read(): Readable {
    return Readable.from(this.chunks());
  }

  async sha256(): Promise<string> {
    return sha256Of(this.read());
  }

  /**
   * Why the file at the path is no longer the one read — changed in place, replaced by another file,
   * or removed — and what becomes of it; undefined when it still is (then it may be moved).
   */
  async change(): Promise<string | undefined> {
    const there = await lstat(this.path, { bigint: true }).catch((err: { code?: string }) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!there)
      return 'was removed from the drop folder while it was being imported: there is nothing to move';
    if (there.dev !== this.opened.dev || there.ino !== this.opened.ino)
      return 'was replaced by another file while it was being imported: the new file stays in the drop folder, to be imported at the next sync';
    if (!sameContent(this.opened, await this.fh.stat({ bigint: true })))
      return `${CHANGED}: it stays in the drop folder, to be imported at the next sync`;
    return undefined;
  }

  /**
   * Refuses the import (nothing of it applied: it is called before the unit commits) when the open
   * file no longer holds what it held when opened — a writer at work while it was read.
   */
  async unchangedSinceOpen(): Promise<void> {
    if (!sameContent(this.opened, await this.fh.stat({ bigint: true }))) {
      throw doorstepError(
        'IMPORT_REFUSED',
        `${this.name} ${CHANGED}: nothing of it is applied; it stays in the drop folder, to be imported at the next sync`,
      );
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private async *chunks(): AsyncGenerator<Buffer> {
    const size = Number(this.opened.size);
    for (let at = 0; at < size; ) {
      const want = Math.min(CHUNK, size - at);
      const { bytesRead, buffer } = await this.fh.read(Buffer.allocUnsafe(want), 0, want, at);
      // Cut short since it was opened: the check below says so.
      if (bytesRead === 0) break;
      at += bytesRead;
      yield bytesRead < want ? buffer.subarray(0, bytesRead) : buffer;
    }
    // Before the reader can finish (its last records wait for the end), so before anything commits.
    await this.unchangedSinceOpen();
  }
}

const CHANGED =
  'changed while it was being imported (its size or modification or change time is not what it was when it was opened: still being written, or rewritten)';

/**
 * Whether the open file still holds what it held when opened. Unlinking it (another file renamed
 * over its name) moves its change time too, but not its bytes: a change time that moved along with a
 * link count that fell is that, not a rewrite.
 */
function sameContent(a: Identity, b: Identity): boolean {
  if (a.size !== b.size || a.mtimeNs !== b.mtimeNs) return false;
  return a.ctimeNs === b.ctimeNs || b.nlink < a.nlink;
}

/** The refusal for an open that failed because of the file itself; undefined for any other failure. */
function openRefusal(err: unknown, name: string): Error | undefined {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ELOOP') {
    return doorstepError(
      'IMPORT_REFUSED',
      `${name} is a symbolic link: only regular files are imported (it was not followed)`,
    );
  }
  const why = FILE_REFUSALS[code];
  return why ? doorstepError('IMPORT_REFUSED', `${name} cannot be opened (${code}): ${why}`) : undefined;
}

async function* readOnce(path: string): AsyncGenerator<Buffer> {
  const file = await DroppedFile.open(path);
  try {
    for await (const chunk of file.read()) yield chunk as Buffer;
  } finally {
    await file.close();
  }
}

/** Moves the file into `dir` under its own name, or the next free `<name>.1`, …; the name it took. */
async function moveUnique(path: string, dir: HeldDir): Promise<string> {
  const name = path.split('/').pop()!;
  let taken = numbered(name, 0);
  for (let i = 1; await exists(dir.at(taken)); i++) taken = numbered(name, i);
  await rename(path, dir.at(taken)).catch((err: unknown) => {
    throw notMoved(err, name, 'processed/');
  });
  return taken;
}

/**
 * A file name that is not UTF-8, printable: its ASCII characters as they are (a `%` as `%25`), every
 * other byte as `%XX` — `Élèves.csv` written in Windows-1252 is `%C9l%E8ves.csv`.
 */
export function printableName(bytes: Buffer): string {
  let out = '';
  for (const b of bytes)
    out +=
      b >= 0x20 && b < 0x7f && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The suffix of a quarantined file's note. */
export const NOTE = '.error.txt';

/** The longest file name the file system takes, in bytes (Linux's NAME_MAX, and most others'). */
export const NAME_MAX = 255;

/**
 * `name` as Doorstep names a file it moves: as it is, or `<name>.<i>` when that is taken, in at most
 * NAME_MAX bytes less `reserve` (room for the note's `.error.txt`) — a legal name of 250 bytes made
 * its `.error.txt` too long, and the refused file blocked its folder for good.
 */
function numbered(name: string, i: number, reserve = 0): string {
  const suffix = i === 0 ? '' : `.${i}`;
  return fittedName(name, reserve + suffix.length) + suffix;
}

/**
 * `name` in at most NAME_MAX − `reserve` bytes: a longer one keeps its extension and as much of its
 * start as fits, cut at a character (never inside a UTF-8 sequence), with a short hash of the whole
 * name before the extension, so two long names that start alike never become one.
 */
export function fittedName(name: string, reserve = 0): string {
  const max = NAME_MAX - reserve;
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && Buffer.byteLength(name.slice(dot)) <= 16 ? name.slice(dot) : '';
  const tail = `~${createHash('sha256').update(name).digest('hex').slice(0, 12)}${ext}`;
  const base = Buffer.from(name.slice(0, name.length - ext.length));
  let end = Math.max(0, max - Buffer.byteLength(tail));
  // Back to the first byte of a character (a continuation byte is 10xxxxxx).
  while (end > 0 && end < base.length && (base[end]! & 0xc0) === 0x80) end--;
  return base.subarray(0, end).toString() + tail;
}

/**
 * A file that could not be moved after its import (its name, its permissions, a full disk): refused
 * as the file's own fault, so the sync reports it and goes on to the next file — left where it is,
 * to be tried again at the next sync — instead of stopping on it at every sync.
 */
function notMoved(err: unknown, name: string, to: string): unknown {
  const code = (err as { code?: string }).code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return err;
  return doorstepError(
    'IMPORT_REFUSED',
    `${safeFileName(name)} could not be moved to ${to} (${code}): it stays in the drop folder, and is tried again at the next sync`,
  );
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
