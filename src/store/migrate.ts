import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeError, doorstepError } from '../errors.ts';
import type { Db } from './db.ts';
import { quoteIdent } from './postgres.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** Reads `NNN_name.sql` files in version order; a gap or a duplicate number is an error. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return files.map((file, i) => {
    const m = FILE_NAME.exec(file);
    if (!m)
      throw doorstepError('MIGRATION_FAILED', `migration file ${file}: expected a name like 001_name.sql`);
    const version = Number(m[1]);
    if (version !== i + 1) {
      throw doorstepError(
        'MIGRATION_FAILED',
        `migration file ${file}: expected version ${String(i + 1).padStart(3, '0')}`,
      );
    }
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    return { version, name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/**
 * Applies every pending migration in one transaction under a transaction-scoped advisory lock, so
 * two processes starting together apply each migration exactly once (the second waits, then finds
 * nothing to do). A migration that was edited after being applied is refused.
 */
export async function migrate(
  db: Db,
  options: { schema?: string; migrations?: Migration[] } = {},
): Promise<number[]> {
  const migrations = options.migrations ?? readMigrations();
  try {
    return await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('doorstep:migrate'))`);
      if (options.schema) await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
      await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
        'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
      );
      const applied = new Map(rows.map((r) => [r.version, r]));
      const done: number[] = [];
      for (const m of migrations) {
        const prior = applied.get(m.version);
        if (prior) {
          if (prior.checksum !== m.checksum) {
            throw doorstepError(
              'MIGRATION_CHANGED',
              `migration ${String(m.version).padStart(3, '0')}_${m.name}.sql was changed after it was applied; add a new migration instead`,
            );
          }
          continue;
        }
        await tx.exec(m.sql);
        await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        done.push(m.version);
      }
      return done;
    });
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('DOORSTEP_')) throw err;
    throw doorstepError(
      'MIGRATION_FAILED',
      `database migration failed on ${db.describe}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
}
