import pg from 'pg';
import { doorstepError } from '../errors.ts';
import type { Db, Queryable, QueryOptions, QueryResult } from './db.ts';

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
   * Run once on each connection as it opens, before the pool hands it to anyone (so no statement —
   * an alarm's write on a connection opened for something else included — meets a backend that has
   * not planned it), and by `prepareConnections` on any open one it did not finish on:
   * `rehearseAlarmWrite`. A connection whose preparation fails is handed out as it is (slower, never
   * refused) if it still answers, and closed if not.
   */
  prepare?: (connection: Queryable) => Promise<void>;
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
  // Prepared connections still open: once there are enough, looking again takes none of them.
  const prepared = new WeakSet<pg.ClientBase>();
  let preparedOpen = 0;
  const prepareOn = async (c: pg.ClientBase, prepare: NonNullable<PostgresOptions['prepare']>) => {
    await prepare({
      query: (sql, params) => query(c, sql, params),
      exec: async (sql) => void (await c.query(sql)),
    });
    prepared.add(c);
    preparedOpen++;
  };
  const onConnect = options.prepare
    ? async (c: pg.ClientBase) => {
        try {
          await prepareOn(c, options.prepare!);
        } catch {
          // Its caller gets it unprepared if it still answers (a rollback of anything the
          // preparation left open); a connection that does not is closed, its error the caller's.
          await c.query('ROLLBACK');
        }
      }
    : undefined;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5000,
    ...(options.keepOpen ? { min: Math.min(options.keepOpen, options.max ?? 10) } : {}),
    ...(onConnect ? { onConnect } : {}),
    // TCP keepalive on every connection: an idle kept connection keeps its route through NATs and
    // load balancers, and one whose peer is gone is found out while idle, not under the next alarm.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.schema ? { options: `-c search_path=${quoteIdent(options.schema)}` } : {}),
  });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});

  pool.on('remove', (c) => {
    if (prepared.delete(c)) preparedOpen--;
  });
  const query = async <Row>(
    client: pg.Pool | pg.ClientBase,
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ) => {
    const r = options?.timeoutMs
      ? await client
          // `query_timeout` per statement: pg reads it from the query config (its types leave it out).
          .query({
            text: sql,
            values: params as unknown[] | undefined,
            query_timeout: options.timeoutMs,
          } as pg.QueryConfig)
          .catch((err: unknown) => {
            throw unanswered(err, options.timeoutMs!);
          })
      : await client.query(sql, params as unknown[] | undefined);
    return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 } satisfies QueryResult<Row>;
  };

  return {
    backend: 'postgres',
    describe: describePostgresUrl(options.url, options.schema),
    // A statement given up on (`timeoutMs`) fails, and the pool closes its connection (pg-pool
    // releases a client with the error): the next statement gets a new one.
    query: (sql, params, options) => query(pool, sql, params, options),
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      // A statement given up on leaves its connection waiting on the silent server: never reused.
      let gaveUp: Error | undefined;
      // A statement sent after the callback settled would run after the COMMIT or ROLLBACK — or in
      // another transaction on a connection handed on: refused instead.
      let ended = false;
      const open = () => {
        if (ended) throw new Error('a statement was sent on a transaction that had already ended');
      };
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          query: async (sql, params, options) => {
            open();
            return query<never>(client, sql, params, options).catch((err: unknown) => {
              if (isUnanswered(err)) gaveUp = err as Error;
              throw err;
            });
          },
          exec: async (sql) => {
            open();
            await client.query(sql);
          },
        };
        try {
          const result = await fn(tx);
          ended = true;
          await client.query('COMMIT');
          return result;
        } finally {
          ended = true;
        }
      } catch (err) {
        if (!gaveUp) await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release(gaveUp);
      }
    },
    async prepareConnections(n) {
      const prepare = options.prepare;
      // Every open connection already prepared and enough of them: nothing to hold, not even briefly.
      if (prepare && preparedOpen >= n && preparedOpen === pool.totalCount) return;
      // Held at once, so they are n different connections (opened where fewer are open); each not
      // yet prepared is prepared while held. Best effort: what fails is closed, never thrown.
      // Only connections free now: never queued ahead of a caller waiting for one (a busy pool is
      // looked at again next time).
      const free = pool.idleCount + ((options.max ?? 10) - pool.totalCount);
      const take = Math.min(n, free);
      if (pool.waitingCount > 0 || take <= 0) return;
      const got = await Promise.allSettled(Array.from({ length: take }, () => pool.connect()));
      const clients = got.flatMap((g) => (g.status === 'fulfilled' ? [g.value] : []));
      await Promise.all(
        clients.map(async (c) => {
          let failed: Error | undefined;
          if (prepare && !prepared.has(c)) {
            // The pool listens for a held client's errors only while it idles.
            const onError = (err: Error) => {
              failed = err;
            };
            c.on('error', onError);
            try {
              await prepareOn(c, prepare);
            } catch (err) {
              failed = err as Error;
            } finally {
              c.off('error', onError);
            }
          }
          c.release(failed);
        }),
      );
    },
    async close() {
      await pool.end();
    },
  };
}

const UNANSWERED = Symbol('unanswered');

/** pg's own error for a statement past its `query_timeout`, as the catalog's "service unavailable". */
function unanswered(err: unknown, ms: number): unknown {
  if (!(err instanceof Error) || err.message !== 'Query read timeout') return err;
  return Object.assign(
    doorstepError('SERVICE_UNAVAILABLE', `the database did not answer within ${ms} ms`, { cause: err }),
    { [UNANSWERED]: true },
  );
}

function isUnanswered(err: unknown): boolean {
  return typeof err === 'object' && err !== null && UNANSWERED in err;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
