import type { Db } from './db.ts';

/**
 * PostgreSQL's `autovacuum` setting ('on' | 'off'), or null where there is no server to ask (the
 * embedded store runs no background workers) or the setting cannot be read.
 */
export async function autovacuumSetting(db: Db): Promise<string | null> {
  if (db.backend !== 'postgres') return null;
  try {
    const { rows } = await db.query<{ setting: string }>(
      `SELECT setting FROM pg_settings WHERE name = 'autovacuum'`,
    );
    return rows[0]?.setting ?? null;
  } catch {
    return null;
  }
}
