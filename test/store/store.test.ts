import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, appendAuditMany, listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { migrate, readMigrations } from '../../src/store/migrate.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/** The same suite runs against PostgreSQL (fresh schema) and PGlite (in memory). */
const backends: {
  name: string;
  open: () => Promise<{ db: Db; schema?: string; cleanup: () => Promise<void> }>;
}[] = [
  {
    name: 'postgres',
    open: async () => {
      const schema = uniqueName('store');
      const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
      return { db, schema, cleanup: () => dropSchema(schema) };
    },
  },
  {
    name: 'pglite',
    open: async () => ({
      db: await openStore({ dataDir: 'memory://' }),
      cleanup: async () => {},
    }),
  },
];

describe.each(backends)('store on $name', ({ name, open }) => {
  let db: Db;
  let schema: string | undefined;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ db, schema, cleanup } = await open());
  });
  afterAll(async () => {
    await db.close();
    await cleanup();
  });

  it('reports its backend', () => {
    expect(db.backend).toBe(name);
  });

  it('applied every migration once and a second run applies nothing', async () => {
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
    expect(await migrate(db, schema ? { schema } : {})).toEqual([]);
  });

  it('refuses a migration edited after it was applied', async () => {
    const edited = readMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
    await expect(migrate(db, { ...(schema ? { schema } : {}), migrations: edited })).rejects.toMatchObject({
      code: 'DOORSTEP_MIGRATION_CHANGED',
    });
  });

  it('appends and lists audit entries with before/after', async () => {
    const id = await appendAudit(db, {
      actor: 'user:42',
      action: 'alarm.acknowledged',
      schoolId: 'heath-lane',
      entityType: 'alarm',
      entityId: 'a-1',
      before: { state: 'open' },
      after: { state: 'acknowledged' },
    });
    const [entry] = await listAudit(db, { entityType: 'alarm', entityId: 'a-1' });
    expect(entry).toMatchObject({
      id,
      actor: 'user:42',
      action: 'alarm.acknowledged',
      schoolId: 'heath-lane',
      before: { state: 'open' },
      after: { state: 'acknowledged' },
    });
    expect(entry!.at).toBeInstanceOf(Date);
  });

  it('appends many audit entries in one statement as appendAudit writes each, in order', async () => {
    const entries = [
      {
        actor: 'system:many',
        action: 'many.one',
        schoolId: 's1',
        entityType: 'e',
        entityId: '1',
        after: { n: 1 },
      },
      { actor: 'system:many', action: 'many.two', before: { q: 'say "hi" \\ — ok' }, after: null },
      { actor: 'system:many', action: 'many.three' },
    ];
    await db.transaction((tx) => appendAuditMany(tx, entries));
    const single = [];
    for (const e of entries) single.push(await appendAudit(db, { ...e, actor: 'system:single' }));
    const many = await listAudit(db, { action: undefined, limit: 1000 });
    const pick = (actor: string) =>
      many
        .filter((r) => r.actor === actor)
        .map(({ action, schoolId, entityType, entityId, before, after }) => ({
          action,
          schoolId,
          entityType,
          entityId,
          before,
          after,
        }));
    expect(pick('system:many')).toEqual(pick('system:single'));
    expect(pick('system:many').map((r) => r.action)).toEqual(['many.one', 'many.two', 'many.three']);
    const { rows } = await db.query<{ action: string; details: boolean; after_is_json_null: boolean | null }>(
      `SELECT e.action, d.audit_id IS NOT NULL AS details, d.after = 'null'::jsonb AS after_is_json_null
       FROM audit_entries e LEFT JOIN audit_details d ON d.audit_id = e.id WHERE e.actor IN ('system:many', 'system:single')
       ORDER BY e.actor, e.id`,
    );
    const byActor = rows.map((r) => [r.action, r.details, r.after_is_json_null]);
    expect(byActor.slice(0, 3)).toEqual(byActor.slice(3));
    expect(byActor.slice(0, 3)).toEqual([
      ['many.one', true, false],
      ['many.two', true, true],
      ['many.three', false, null],
    ]);
  });

  it('refuses to change or delete audit entries', async () => {
    const id = await appendAudit(db, { actor: 'system:test', action: 'x.done' });
    await expect(db.query(`UPDATE audit_log SET actor = 'evil' WHERE id = $1`, [id])).rejects.toThrow(
      /append-only/,
    );
    await expect(db.query('DELETE FROM audit_log WHERE id = $1', [id])).rejects.toThrow(/append-only/);
    // audit_log is a view over the entries (append-only table) and their forgettable details.
    await expect(db.query('DELETE FROM audit_entries WHERE id = $1', [id])).rejects.toThrow(/append-only/);
    await expect(db.query('TRUNCATE audit_entries CASCADE')).rejects.toThrow(/append-only/);
    const rows = await listAudit(db, { action: 'x.done' });
    expect(rows.map((r) => r.actor)).toEqual(['system:test']);
  });

  it('refuses a statement sent on a transaction after it ended (it would run outside it, or in another)', async () => {
    let kept: Parameters<Parameters<Db['transaction']>[0]>[0] | undefined;
    await db.transaction(async (tx) => {
      kept = tx;
      await appendAudit(tx, { actor: 'system:test', action: 'tx.kept' });
    });
    await expect(appendAudit(kept!, { actor: 'system:test', action: 'tx.after-end' })).rejects.toThrow();
    await expect(
      db.transaction(async (tx) => {
        kept = tx;
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await expect(appendAudit(kept!, { actor: 'system:test', action: 'tx.after-end' })).rejects.toThrow();
    expect(await listAudit(db, { action: 'tx.after-end' })).toEqual([]);
  });

  it('rolls a failed transaction back whole', async () => {
    await expect(
      db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'system:test', action: 'tx.rolled-back' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await listAudit(db, { action: 'tx.rolled-back' })).toEqual([]);
    await db.transaction((tx) => appendAudit(tx, { actor: 'system:test', action: 'tx.committed' }));
    expect(await listAudit(db, { action: 'tx.committed' })).toHaveLength(1);
  });
});

describe('migrations on postgres', () => {
  it('are applied exactly once when two processes start together', async () => {
    const schema = uniqueName('race');
    try {
      const [a, b] = await Promise.all([
        openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema }),
        openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema }),
      ]);
      const { rows } = await a.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
      expect(Number(rows[0]!.n)).toBe(readMigrations().length);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await dropSchema(schema);
    }
  });

  it('names the database it could not reach, without credentials', async () => {
    await expect(
      openStore({ databaseUrl: 'postgres://someone:hunter2@127.0.0.1:1/nowhere', dataDir: 'unused' }),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_SERVICE_UNAVAILABLE',
      message: expect.stringMatching(/^cannot reach PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/nowhere /),
    });
    await openStore({
      databaseUrl: 'postgres://someone:hunter2@127.0.0.1:1/nowhere',
      dataDir: 'unused',
    }).catch((err: Error) => expect(err.message).not.toContain('hunter2'));
  });
});
