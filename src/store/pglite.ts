import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.ts';

export interface PgliteOptions {
  /** A folder to persist in, or `memory://` for a throw-away database (tests). */
  dataDir: string;
}

/**
 * The embedded store's buffer pool. PostgreSQL's default (128 MB) is sized for a server; in PGlite it
 * lives in the process's WebAssembly memory. 32 MB holds a school's working set (its marks for the
 * year are a few MB) and keeps ~80 MB off the process (measured: `npm run bench:idle`).
 */
const EMBEDDED_SHARED_BUFFERS = '32MB';

/**
 * Embedded PostgreSQL (WASM). One process owns a data folder at a time: running several
 * Doorstep processes needs DATABASE_URL (PostgreSQL).
 */
export async function openPglite(options: PgliteOptions): Promise<Db> {
  const inMemory = options.dataDir.startsWith('memory://');
  const dir = inMemory ? options.dataDir : resolve(options.dataDir);
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const release = inMemory ? () => {} : takeOwnership(dir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dir, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
    });
  } catch (err) {
    release();
    throw err;
  }

  // PGlite runs one statement at a time; a transaction holds it, so queries issued outside a
  // transaction while one is open simply wait (PGlite queues them).
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async exec(sql: string) {
      await q.exec(sql);
    },
    async query<Row>(sql: string, params?: readonly unknown[]) {
      const r = await q.query<Row>(sql, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
  });
  const root = wrap(pglite);

  return {
    backend: 'pglite',
    describe: inMemory ? 'pglite (in memory)' : `pglite ${dir}`,
    query: root.query,
    exec: root.exec,
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    async close() {
      await pglite.close();
      release();
    },
  };
}

/**
 * The embedded store's folder is claimed by another live process (`pid`): a `doorstep start` (up,
 * or still starting) or another command. The message is for a store command run here, which goes
 * through a server once it is up — so trying again helps only while one is starting; a caller for
 * which trying again never helps (`check`, which never runs through the server) says its own words.
 */
export class StoreHeldError extends Error {
  readonly pid: number;
  constructor(pid: number) {
    super(
      `it is in use by another Doorstep process (pid ${pid}): a running \`doorstep start\` takes CLI commands once it is up (if it is still starting, try again in a moment); otherwise wait for that process to end, or set DATABASE_URL so several processes share PostgreSQL`,
    );
    this.name = 'StoreHeldError';
    this.pid = pid;
  }
}

/**
 * PGlite is not safe for two processes on one folder (each would keep its own copy in memory and
 * overwrite the other's). A `doorstep.pid` file claims the folder; a claim whose process is gone
 * is taken over. Returns the release.
 */
function takeOwnership(dir: string): () => void {
  const file = join(dir, 'doorstep.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && alive(pid)) throw new StoreHeldError(pid);
      rmSync(file, { force: true }); // the owner is gone
    }
  }
  throw new Error(`could not claim ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}
