import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db, Queryable } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';

/** Stores for the data-protection tests: PostgreSQL (a fresh schema) and PGlite (in memory). */
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  db: Db;
  /** The PostgreSQL schema holding the tables ('public' for PGlite). */
  schema: string;
  close(): Promise<void>;
}

export const BACKENDS: { name: string; open: () => Promise<TestStore> }[] = [
  {
    name: 'postgres',
    open: async () => {
      const schema = `t_dp_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
      const db = await openStore({ databaseUrl: DATABASE_URL, dataDir: 'unused', schema });
      return {
        db,
        schema,
        close: async () => {
          await db.close();
          const client = new pg.Client({ connectionString: DATABASE_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await client.end();
        },
      };
    },
  },
  {
    name: 'pglite',
    open: async () => {
      const db = await openStore({ dataDir: 'memory://' });
      return { db, schema: 'public', close: () => db.close() };
    },
  },
];

export const DAY = 86_400_000;

/** Inserts one row and returns its id (when it has one). */
export async function insert(db: Queryable, table: string, row: Record<string, unknown>): Promise<string> {
  const cols = Object.keys(row);
  const values = cols.map((c) => {
    const v = row[c];
    return v !== null && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v)
      ? JSON.stringify(v)
      : v;
  });
  const hasId = ![
    'pupils',
    'pupil_contacts',
    'attendance_marks',
    'mark_records',
    'held_marks',
    'notification_recipients',
    'sms_replies',
    'audit_details',
    'sessions',
  ].includes(table);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})${hasId ? ' RETURNING id' : ''}`,
    values,
  );
  return hasId ? String(rows[0]!.id) : '';
}

/** Every text-like column of every table in the schema: [table, column]. */
export async function textColumns(db: Queryable, schema: string): Promise<[string, string][]> {
  const { rows } = await db.query<{ table_name: string; column_name: string }>(
    `SELECT c.table_name, c.column_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'
       AND (c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json') OR c.data_type = 'ARRAY')
     ORDER BY 1, 2`,
    [schema],
  );
  return rows.map((r) => [r.table_name, r.column_name]);
}

/** Where `value` appears (case-insensitively) in any text, JSON or array column: ["table.column", …]. */
export async function findEverywhere(db: Queryable, schema: string, value: string): Promise<string[]> {
  const hits: string[] = [];
  for (const [table, column] of await textColumns(db, schema)) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${table}" WHERE strpos(lower("${column}"::text), lower($1)) > 0`,
      [value],
    );
    if (rows[0]!.n > 0) hits.push(`${table}.${column}`);
  }
  return hits;
}
