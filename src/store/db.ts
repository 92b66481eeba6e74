/**
 * The one small database adapter. Doorstep speaks PostgreSQL's dialect to two backends:
 * a PostgreSQL server through `pg` (production, several processes) and embedded PGlite
 * (PostgreSQL compiled to WASM; the zero-setup default for one process).
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * PostgreSQL: the statement is given up (`DOORSTEP_SERVICE_UNAVAILABLE`) when no answer has come
   * in this long, and its connection closed — a server gone silent (a failover, a partition that sends
   * no reset) would otherwise hold the caller for the ~15 minutes TCP takes to give up. PGlite (in
   * the process) has no network to go silent: ignored.
   */
  timeoutMs?: number;
}

export interface Queryable {
  /** One parameterised statement ($1, $2, …). */
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<Row>>;
  /** Several statements without parameters (migration files). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly backend: 'postgres' | 'pglite';
  /** Human description without credentials, e.g. `postgres://127.0.0.1:5432/test (schema s1)`. */
  readonly describe: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL: makes sure `n` connections are open (kept with `keepOpen`) and each has run the
   * store's `prepare` once, holding each while it does; best effort, never throws. PGlite has one
   * connection, which keeps its plans.
   */
  prepareConnections?(n: number): Promise<void>;
  close(): Promise<void>;
}
