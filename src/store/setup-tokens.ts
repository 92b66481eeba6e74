import type { Queryable } from './db.ts';

/** Keeps a new first-admin link (its hash) until `expiresAt`. */
export async function insertSetupToken(db: Queryable, sha256: string, expiresAt: Date): Promise<void> {
  await db.query('INSERT INTO setup_tokens (token_sha256, expires_at) VALUES ($1, $2)', [sha256, expiresAt]);
}

/** Whether a link is still good: never used, not expired. */
export async function setupTokenUsable(db: Queryable, sha256: string, now: Date): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2) AS ok',
    [sha256, now],
  );
  return rows[0]?.ok === true;
}

/**
 * In the caller's transaction: holds off any other account being created (the table locked against
 * writers), then uses the link once — true only if it was good and no account exists yet.
 */
export async function takeSetupToken(
  tx: Queryable,
  sha256: string,
  now: Date,
): Promise<'taken' | 'bad-link' | 'accounts-exist'> {
  await tx.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
  const { rows: any } = await tx.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any');
  if (any[0]?.any) return 'accounts-exist';
  const { rowCount } = await tx.query(
    'UPDATE setup_tokens SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2',
    [sha256, now],
  );
  return rowCount === 1 ? 'taken' : 'bad-link';
}
