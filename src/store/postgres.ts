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
   * Run once on each connection while it is held by a preparation (no one else can use it
   * meanwhile): `rehearseAlarmWrite`. By `prepareConnections`, and in the background soon after the
   * pool opens a connection (for other work, or for a statement when all were busy) — never in front
   * of the statement that opened it. Each of its statements is given up after
   * `PREPARE_STATEMENT_MS`; a connection whose preparation fails is closed.
   */
  prepare?: (connection: Queryable) => Promise<void>;
}

/**
 * How long a preparation's statement may take: a server gone silent holds the connection being
 * prepared no longer than this (the server's own `statement_timeout` needs a server that answers).
 */
const PREPARE_STATEMENT_MS = 5000;
/** How soon after the pool opens a connection it is prepared in the background. */
const PREPARE_AFTER_OPEN_MS = 250;
/** After a preparation failed, the background look waits this long (the owner's own look comes first). */
const PREPARE_AFTER_FAILURE_MS = 30_000;

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
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5000,
    ...(options.keepOpen ? { min: Math.min(options.keepOpen, options.max ?? 10) } : {}),
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
  // A connection the pool opened beyond those prepared (for other work, or for a statement when
  // every prepared one was busy) is prepared soon after, once free — so the next alarm's write does
  // not meet it unplanned — and never in front of the statement that opened it.
  let afterOpen: NodeJS.Timeout | undefined;
  let preparing = false;
  // A preparation that failed (a store not yet migrated, a server in trouble) is not tried again
  // sooner than the owner's own look (every 30 s): each failure closes a connection, and retrying
  // at once would open and close one four times a second.
  let failedAt = Number.NEGATIVE_INFINITY;
  const soon = () => {
    if (afterOpen || closed || Date.now() - failedAt < PREPARE_AFTER_FAILURE_MS) return;
    afterOpen = setTimeout(() => {
      afterOpen = undefined;
      void prepareFree(0);
    }, PREPARE_AFTER_OPEN_MS);
    afterOpen.unref();
  };
  let closed = false;
  if (options.prepare) {
    pool.on('connect', soon);
    // One still busy when that look came (a long statement), or the look put off (a caller waiting,
    // a preparation running): looked at again as a connection comes free while any open one is not
    // prepared — two numbers compared per release, a timer only then.
    pool.on('release', () => {
      if (preparedOpen < pool.totalCount) soon();
    });
  }

  /**
   * Holds the free connections (up to `open` more opened where fewer than that are), prepares each
   * not yet prepared while held, and releases each as soon as it is done: those already prepared at
   * once. Only connections free now — never queued ahead of a caller waiting for one (a busy pool is
   * looked at again next time). Best effort: what fails is closed, never thrown.
   */
  const prepareFree = async (open: number) => {
    const prepare = options.prepare;
    if (preparing || pool.waitingCount > 0) return;
    // Every open connection prepared and none to open: nothing to hold, not even briefly.
    if (open === 0 && prepare && preparedOpen >= pool.totalCount) return;
    const take = pool.idleCount + Math.min(open, (options.max ?? 10) - pool.totalCount);
    if (take <= 0) return;
    preparing = true;
    try {
      // Asked for at once, so they are different connections: the idle ones, then any opened.
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
              await prepare({
                query: (sql, params, o) => query(c, sql, params, { timeoutMs: PREPARE_STATEMENT_MS, ...o }),
                exec: async (sql) =>
                  void (await query(c, sql, undefined, { timeoutMs: PREPARE_STATEMENT_MS })),
              });
              prepared.add(c);
              preparedOpen++;
            } catch (err) {
              failed = err as Error;
              failedAt = Date.now();
            } finally {
              c.off('error', onError);
            }
          }
          c.release(failed);
        }),
      );
    } finally {
      preparing = false;
    }
  };
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
      // Every open connection already prepared and enough of them: nothing to hold, not even briefly.
      if (options.prepare && preparedOpen >= n && preparedOpen === pool.totalCount) return;
      // Enough open to make n (opened where fewer are), every free one prepared.
      await prepareFree(Math.max(0, n - pool.totalCount));
    },
    async close() {
      closed = true;
      if (afterOpen) clearTimeout(afterOpen);
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
