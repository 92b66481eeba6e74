import pg from 'pg';
import type { Db, Queryable, QueryResult } from './db.ts';

export interface PostgresOptions {
  url: string;
  /** Schema for every table (search_path); created by the migrator if absent. */
  schema?: string;
  max?: number;
  /**
   * Connections kept open however long they idle (the pool's `min`): a connection's backend plans a
   * statement the first time it runs it, so a path that must be fast after a quiet night (an alarm's
   * write) keeps its connections, planned, instead of paying a new one's ~10 ms.
   */
  keepOpen?: number;
  /**
   * Run on every new connection before it is handed to anyone (`rehearseAlarmWrite`); its failure
   * is ignored (the connection is then as it would have been).
   */
  onNewConnection?: (connection: Queryable) => Promise<void>;
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
    ...(options.keepOpen ? { min: Math.min(options.keepOpen, options.max ?? 10) } : {}),
    // pg-pool's `verify` runs on a new connection before its first caller gets it.
    ...(options.onNewConnection ? { verify: verifyWith(options.onNewConnection) } : {}),
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
    async prepareConnections(n) {
      // Held at once, so they are n different connections; each then runs `onNewConnection` again
      // (a connection opened before the store was migrated could not rehearse then).
      const clients = await Promise.all(
        Array.from({ length: Math.min(n, options.max ?? 10) }, () => pool.connect()),
      );
      try {
        const onNew = options.onNewConnection;
        if (onNew)
          await Promise.all(clients.map((c) => new Promise<void>((r) => verifyWith(onNew)(c, () => r()))));
      } finally {
        for (const c of clients) c.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

function verifyWith(onNew: (connection: Queryable) => Promise<void>) {
  return (client: pg.PoolClient, done: (err?: Error) => void) => {
    const connection: Queryable = {
      query: async (sql, params) => {
        const r = await client.query(sql, params as unknown[] | undefined);
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      },
      exec: async (sql) => {
        await client.query(sql);
      },
    };
    onNew(connection).then(
      () => done(),
      () => done(),
    );
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
