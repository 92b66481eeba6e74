import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { doorstepError } from '../../../src/errors.ts';

/**
 * A sub-folder of the drop folder (`quarantine/`, `processed/`, a day folder) held open while a file
 * is moved into it and its note written there. The account that delivers the exports may rename the
 * folder away and put a link to elsewhere in its place at any moment: a move checked by the path and
 * then made by the path could go through the link into any directory Doorstep may write.
 *
 * So the folder is opened once, `O_DIRECTORY|O_NOFOLLOW` (a link there is refused, never followed),
 * and every name in it is reached through the open descriptor — `/proc/self/fd/<fd>/<name>` on Linux,
 * which the kernel resolves to the very directory opened, whatever is at its path by then. A file is
 * moved into the directory that was at that name in the drop folder when it was opened, or not at all.
 *
 * Without `/proc/self/fd` (not Linux) names are reached by the path, after checking it is a real
 * directory: a swap between that check and the move is not closed there.
 */
export class HeldDir {
  /** Where the directory's names are reached: its descriptor's path, or (without /proc) its own. */
  private readonly via: string;
  private readonly fh: FileHandle | undefined;

  private constructor(via: string, fh: FileHandle | undefined) {
    this.via = via;
    this.fh = fh;
  }

  /**
   * Opens `dir`, made first if missing. `shown` is its path as errors name it. Anything at that name
   * that is not a real directory (a link, a file) is refused.
   */
  static async open(dir: string, shown: string = dir): Promise<HeldDir> {
    await mkdir(dir).catch((err: { code?: string }) => {
      if (err.code !== 'EEXIST') throw err;
    });
    let fh: FileHandle;
    try {
      fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      // A link there (ELOOP, or ENOTDIR as Linux says with O_DIRECTORY), or a file: said which.
      const code = (err as { code?: string }).code;
      if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
      const st = await lstat(dir).catch(() => undefined);
      throw notRealDir(
        shown,
        st?.isSymbolicLink()
          ? 'a symbolic link'
          : st?.isDirectory()
            ? 'a symbolic link or not a directory (swapped while it was opened)'
            : 'not a directory',
      );
    }
    const via = `/proc/self/fd/${fh.fd}`;
    if (await reaches(via, fh)) return new HeldDir(via, fh);
    // No /proc/self/fd here: by the path, checked (the open above refused a link there).
    await fh.close();
    await refuseUnlessDir(dir, shown);
    return new HeldDir(dir, undefined);
  }

  /**
   * Opens `dir` as it is, never made: undefined when nothing is there, or something that is not a
   * real directory (a link is not followed). For reading and removing in it (retention).
   */
  static async existing(dir: string): Promise<HeldDir | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    const via = `/proc/self/fd/${fh.fd}`;
    if (await reaches(via, fh)) return new HeldDir(via, fh);
    await fh.close();
    const st = await lstat(dir).catch(() => undefined);
    return st?.isDirectory() ? new HeldDir(dir, undefined) : undefined;
  }

  /** The path that reaches `name` in this directory (through its descriptor where it can). */
  at(name: string): string {
    return join(this.via, name);
  }

  /** The folder `name` in this one, made if missing, held as this one is. */
  sub(name: string, shown: string): Promise<HeldDir> {
    return HeldDir.open(this.at(name), shown);
  }

  /** The folder `name` in this one as it is (`existing`). */
  existingSub(name: string): Promise<HeldDir | undefined> {
    return HeldDir.existing(this.at(name));
  }

  async close(): Promise<void> {
    await this.fh?.close();
  }
}

/** Refuses anything at `dir` that is not a real directory, naming it as `shown`. */
async function refuseUnlessDir(dir: string, shown: string): Promise<void> {
  const st = await lstat(dir);
  if (!st.isDirectory()) throw notRealDir(shown, st.isSymbolicLink() ? 'a symbolic link' : 'not a directory');
}

function notRealDir(shown: string, what: string): Error {
  return doorstepError(
    'CONFIG_INVALID',
    `${shown} is ${what}: the drop folder's processed/ and quarantine/ must be real directories`,
  );
}

/** Whether `via` is the directory open on `fh` (so /proc/self/fd works here). */
async function reaches(via: string, fh: FileHandle): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([fh.stat(), stat(via)]);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}
