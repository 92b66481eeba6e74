import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { londonDate } from '../../../src/domain/attendance/dates.ts';

/**
 * A school's drop folder: export files arrive in it; each is imported whole, then moved to
 * `processed/YYYY-MM-DD/` or, when refused, to `quarantine/` beside a `<name>.error.txt` that says
 * why. A file still being written (changed in the last `settleMs`) is left for the next pass.
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

  /** Files ready to import, oldest first. */
  async readyFiles(now: Date, settleMs = 2000): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return [];
      throw err;
    }
    const files: { path: string; mtime: number }[] = [];
    for (const name of names) {
      if (
        name.startsWith('.') ||
        name.endsWith('.error.txt') ||
        name.endsWith('.part') ||
        name.endsWith('.tmp')
      )
        continue;
      const path = join(this.root, name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (now.getTime() - st.mtimeMs < settleMs) continue;
      files.push({ path, mtime: st.mtimeMs });
    }
    return files.sort((a, b) => a.mtime - b.mtime).map((f) => f.path);
  }

  async markProcessed(path: string, now: Date): Promise<string> {
    const dir = join(this.root, 'processed', londonDate(now));
    await mkdir(dir, { recursive: true });
    return moveUnique(path, dir);
  }

  async quarantineFile(path: string, reason: string, now: Date): Promise<string> {
    await mkdir(this.quarantine, { recursive: true });
    const dest = await moveUnique(path, this.quarantine);
    await writeFile(`${dest}.error.txt`, `${now.toISOString()}\n${reason}\n`);
    return dest;
  }
}

async function moveUnique(path: string, dir: string): Promise<string> {
  const name = path.split('/').pop()!;
  let dest = join(dir, name);
  for (let i = 1; await exists(dest); i++) dest = join(dir, `${name}.${i}`);
  await rename(path, dest);
  return dest;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
