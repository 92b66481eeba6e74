import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.ts';

export interface PgliteOptions {
  /** A folder to persist in, or `memory://` for a throw-away database (tests). */
  dataDir: string;
}

/**
 * Embedded PostgreSQL (WASM). One process owns a data folder at a time: running several
 * Doorstep processes needs DATABASE_URL (PostgreSQL).
 */
export async function openPglite(options: PgliteOptions): Promise<Db> {
  const inMemory = options.dataDir.startsWith('memory://');
  const dir = inMemory ? options.dataDir : resolve(options.dataDir);
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir);

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
    },
  };
}
