import pg from 'pg';
import type { Db, Queryable, QueryResult } from './db.ts';

export interface PostgresOptions {
  url: string;
  /** Schema for every table (search_path); created by the migrator if absent. */
  schema?: string;
  max?: number;
}

/** Safe to print: the URL without user or password. */
export function describePostgresUrl(url: string, schema?: string): string {
  let shown = url;
  try {
    const u = new URL(url);
    shown = `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    shown = 'postgres (unparseable DATABASE_URL)';
  }
  return schema ? `${shown} (schema ${schema})` : shown;
}

export function openPostgres(options: PostgresOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5000,
    ...(options.schema ? { options: `-c search_path=${quoteIdent(options.schema)}` } : {}),
  });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});

  const query = async <Row>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) => {
    const r = await client.query(sql, params as unknown[] | undefined);
    return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 } satisfies QueryResult<Row>;
  };

  return {
    backend: 'postgres',
    describe: describePostgresUrl(options.url, options.schema),
    query: (sql, params) => query(pool, sql, params),
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          query: (sql, params) => query(client, sql, params),
          exec: async (sql) => {
            await client.query(sql);
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
