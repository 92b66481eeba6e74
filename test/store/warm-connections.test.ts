import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_STORE, prepareIngestStore } from '../../src/alarms/ingest-groups.ts';
import { rehearseAlarmWrite, writeFobEvents } from '../../src/store/alarms.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { openPostgres, quoteIdent } from '../../src/store/postgres.ts';
import { alarmWrite, fobEvent } from '../helpers/fob.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

const schema = uniqueName('warm');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema, ...INGEST_STORE });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const counts = async () =>
  (
    await db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM fob_events)::int AS events, (SELECT count(*) FROM alarms)::int AS alarms,
              (SELECT count(*) FROM board_events)::int AS board, (SELECT count(*) FROM audit_entries)::int AS audit,
              (SELECT count(*) FROM alarm_timeline)::int AS timeline`,
    )
  ).rows[0]!;

describe("the ingest role's connections: kept open, each having rehearsed the alarm write while held", () => {
  it('rehearses the real write (it would throw if the write failed) and keeps nothing of it', async () => {
    const before = await counts();
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`SET search_path = ${quoteIdent(schema)}`);
      await rehearseAlarmWrite({
        query: async (sql, params) => {
          const r = await client.query(sql, params as unknown[] | undefined);
          return { rows: r.rows, rowCount: r.rowCount ?? 0 };
        },
        exec: async (sql) => void (await client.query(sql)),
      });
      expect((await client.query('SELECT txid_current_if_assigned() AS x')).rows[0].x).toBeNull();
    } finally {
      await client.end();
    }
    expect(await counts()).toEqual(before);
  });

  it('hands out connections after their rehearsal, outside any transaction: a real alarm written then is kept', async () => {
    const stop = await prepareIngestStore(db);
    stop();
    const writes = Array.from({ length: 6 }, (_, i) =>
      alarmWrite(fobEvent(`kept-${i}`, { deviceId: 'PS-1' })),
    );
    // Six at once: each on its own kept connection.
    const results = await Promise.all(writes.map((w) => writeFobEvents(db, [w])));
    expect(results.every(([r]) => r?.alarmId)).toBe(true);
    expect((await counts()).alarms).toBe(6);
    expect(
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM alarms WHERE school_id = 'doorstep:rehearsal'`,
        )
      ).rows[0]!.n,
    ).toBe(0);
  });

  it('looks again without rehearsing what is rehearsed, and rehearses the replacement of a connection that was dropped', async () => {
    const rehearsals: number[] = [];
    const own = openPostgres({
      url: TEST_DATABASE_URL,
      schema,
      keepOpen: 3,
      prepare: async (c) => {
        rehearsals.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      },
    });
    try {
      await own.prepareConnections!(3);
      expect(new Set(rehearsals).size).toBe(3);
      await own.prepareConnections!(3);
      expect(rehearsals).toHaveLength(3); // all three already rehearsed: none again
      // The network (here: the server) drops one; the pool notices when it is next used.
      await db.query('SELECT pg_terminate_backend($1)', [rehearsals[0]]);
      await Promise.allSettled(Array.from({ length: 3 }, () => own.query('SELECT 1')));
      await own.prepareConnections!(3);
      expect(rehearsals.length).toBeGreaterThan(3);
      expect(rehearsals.slice(3)).not.toContain(rehearsals[0]);
    } finally {
      await own.close();
    }
  });

  it('a connection the pool opens beyond those kept (they were busy) is rehearsed soon after in the background, never in front of the statement that opened it', async () => {
    const rehearsed: number[] = [];
    const own = openPostgres({
      url: TEST_DATABASE_URL,
      schema,
      keepOpen: 1,
      prepare: async (c) => {
        rehearsed.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      },
    });
    try {
      await own.prepareConnections!(1);
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      // The kept connection is busy in a transaction; the next statement needs a new one.
      const busy = own.transaction(async () => held);
      const { rows } = await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const opened = rows[0]!.pid;
      // The statement that opened it ran first, on the connection as it was.
      expect(rehearsed).not.toContain(opened);
      release();
      await busy;
      await until(async () => rehearsed.includes(opened), 10_000, 'the new connection rehearsed', 20);
      expect(rehearsed).toHaveLength(2);
    } finally {
      await own.close();
    }
  });

  it('a connection still busy when the look after it opened came is prepared once it comes free', async () => {
    const rehearsed: number[] = [];
    const own = openPostgres({
      url: TEST_DATABASE_URL,
      schema,
      prepare: async (c) => {
        rehearsed.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      },
    });
    try {
      // The statement that opened it outlasts the look a quarter of a second after it opened.
      const { rows } = await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.6)');
      await until(
        async () => rehearsed.includes(rows[0]!.pid),
        10_000,
        'the connection rehearsed once free',
        20,
      );
    } finally {
      await own.close();
    }
  });

  it('after a preparation fails, the connections it closed are not reopened and retried at once', async () => {
    let attempts = 0;
    const own = openPostgres({
      url: TEST_DATABASE_URL,
      schema,
      prepare: async () => {
        attempts++;
        throw new Error('not migrated yet');
      },
    });
    try {
      // Statements keep coming (each opens a connection where the last was closed): one attempt, not
      // one every quarter of a second.
      for (let i = 0; i < 8; i++) {
        await own.query('SELECT 1');
        await new Promise((r) => setTimeout(r, 150));
      }
      expect(attempts).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('a preparation whose server goes silent is given up, and the connection closed: it holds nothing for long', async () => {
    const own = openPostgres({
      url: TEST_DATABASE_URL,
      schema,
      keepOpen: 1,
      prepare: async (c) => {
        attempts++;
        // Stands for a server that stops answering: the statement outlasts the preparation's bound.
        await c.query('SELECT pg_sleep(20)');
      },
    });
    let attempts = 0;
    try {
      await own.prepareConnections!(1);
      // Given up and the connection closed, never counted as prepared: looking again prepares anew
      // (a preparation waited out would have counted it, and looking again would not).
      await own.prepareConnections!(1);
      expect(attempts).toBe(2);
      const { rows } = await own.query<{ n: number }>('SELECT 1 AS n');
      expect(rows[0]!.n).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('a connection whose rehearsal fails (a store not yet migrated) is closed, and the store goes on', async () => {
    const empty = uniqueName('warm-empty');
    const bare = openPostgres({
      url: TEST_DATABASE_URL,
      schema: empty,
      keepOpen: 2,
      prepare: rehearseAlarmWrite,
    });
    try {
      await bare.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(empty)}`);
      await bare.prepareConnections?.(2);
      await bare.exec('CREATE TABLE kept (n int)');
      await bare.query('INSERT INTO kept VALUES (1)');
      const { rows } = await bare.query<{ n: number }>('SELECT count(*)::int AS n FROM kept');
      expect(rows[0]!.n).toBe(1);
    } finally {
      await bare.close();
      await dropSchema(empty);
    }
  });

  it('preparing never throws, also when no connection can be had', async () => {
    const nowhere = openPostgres({
      url: 'postgres://postgres@127.0.0.1:1/none',
      keepOpen: 2,
      prepare: rehearseAlarmWrite,
    });
    try {
      await expect(nowhere.prepareConnections?.(2)).resolves.toBeUndefined();
    } finally {
      await nowhere.close();
    }
  });
});
