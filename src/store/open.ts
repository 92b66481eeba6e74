import { describeError, doorstepError } from '../errors.ts';
import type { Db, Queryable } from './db.ts';
import { migrate } from './migrate.ts';
import { openPglite } from './pglite.ts';
import { describePostgresUrl, openPostgres } from './postgres.ts';

export interface StoreOptions {
  /** PostgreSQL URL (normally from DATABASE_URL); when absent, PGlite in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema; tests use a fresh one per file. */
  schema?: string;
  /** PostgreSQL: connections kept open, and what `prepareConnections` runs once on each (`PostgresOptions`). */
  keepOpen?: number;
  prepare?: (connection: Queryable) => Promise<void>;
}

/**
 * Opens the store, checks it answers and applies pending migrations. Fails with one
 * DOORSTEP_SERVICE_UNAVAILABLE error naming the database tried when it cannot connect.
 */
export async function openStore(options: StoreOptions): Promise<Db> {
  let db: Db;
  if (options.databaseUrl) {
    db = openPostgres({
      url: options.databaseUrl,
      ...(options.schema ? { schema: options.schema } : {}),
      ...(options.keepOpen ? { keepOpen: options.keepOpen } : {}),
      ...(options.prepare ? { prepare: options.prepare } : {}),
    });
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await db.close().catch(() => {});
      throw doorstepError(
        'SERVICE_UNAVAILABLE',
        `cannot reach PostgreSQL at ${describePostgresUrl(options.databaseUrl)} (${describeError(err)}). ` +
          'Start it (e.g. pg_ctlcluster 15 main start) or fix DATABASE_URL; unset DATABASE_URL to use embedded PGlite.',
        { cause: err },
      );
    }
  } else {
    try {
      db = await openPglite({ dataDir: options.dataDir });
    } catch (err) {
      throw doorstepError(
        'SERVICE_UNAVAILABLE',
        `cannot open embedded PGlite in ${options.dataDir}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }
  try {
    await migrate(db, options.schema ? { schema: options.schema } : {});
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
