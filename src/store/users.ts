import { createHash, randomBytes } from 'node:crypto';
import type { UserRole } from '../auth/roles.ts';
import type { Queryable } from './db.ts';

export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: UserRole[];
  positions: string[];
  /** School ids; empty means every school of the trust. */
  schools: string[];
  staffId: string | null;
  phone: string | null;
  email: string | null;
}

export interface UserWithSecret extends User {
  passwordHash: string;
  failedAttempts: number;
  lockedUntil: Date | null;
  disabled: boolean;
}

const COLUMNS =
  'id, username, display_name, roles, positions, schools, staff_id, phone, email, password_hash, failed_attempts, locked_until, disabled';

function toUser(r: Record<string, unknown>): UserWithSecret {
  return {
    id: String(r.id),
    username: r.username as string,
    displayName: r.display_name as string,
    roles: r.roles as UserRole[],
    positions: r.positions as string[],
    schools: r.schools as string[],
    staffId: (r.staff_id as string | null) ?? null,
    phone: (r.phone as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    passwordHash: r.password_hash as string,
    failedAttempts: r.failed_attempts as number,
    lockedUntil: r.locked_until ? new Date(r.locked_until as string) : null,
    disabled: r.disabled as boolean,
  };
}

export function publicUser(u: UserWithSecret): User {
  const { passwordHash: _h, failedAttempts: _f, lockedUntil: _l, disabled: _d, ...rest } = u;
  return rest;
}

export interface NewUser {
  username: string;
  displayName: string;
  passwordHash: string;
  roles: readonly UserRole[];
  positions?: readonly string[];
  schools?: readonly string[];
  staffId?: string | null;
  phone?: string | null;
  email?: string | null;
}

export async function insertUser(tx: Queryable, u: NewUser): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO users (username, display_name, password_hash, roles, positions, schools, staff_id, phone, email)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      u.username,
      u.displayName,
      u.passwordHash,
      [...u.roles],
      [...(u.positions ?? [])],
      [...(u.schools ?? [])],
      u.staffId ?? null,
      u.phone ?? null,
      u.email ?? null,
    ],
  );
  return String(rows[0]!.id);
}

export async function userByUsername(db: Queryable, username: string): Promise<UserWithSecret | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [username]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function userById(db: Queryable, id: string): Promise<UserWithSecret | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

/** Every account, by username (with its lock and disabled state; the hash stays in the store layer's callers). */
export async function allUsers(db: Queryable): Promise<UserWithSecret[]> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM users ORDER BY username`);
  return rows.map(toUser);
}

export async function usersOfSchool(db: Queryable, schoolId: string): Promise<User[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM users WHERE NOT disabled AND (schools = '{}' OR $1 = ANY(schools)) ORDER BY display_name`,
    [schoolId],
  );
  return rows.map((r) => publicUser(toUser(r)));
}

/** A failed sign-in: counted; the account locks for `lockMs` once `maxFailures` is reached. */
export async function recordFailedSignIn(
  db: Queryable,
  id: string,
  maxFailures: number,
  lockMs: number,
  now: Date,
): Promise<{ locked: boolean }> {
  const { rows } = await db.query<{ failed_attempts: number }>(
    `UPDATE users SET failed_attempts = failed_attempts + 1,
       locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
     WHERE id = $1 RETURNING failed_attempts`,
    [id, maxFailures, new Date(now.getTime() + lockMs)],
  );
  return { locked: (rows[0]?.failed_attempts ?? 0) >= maxFailures };
}

export async function recordSignIn(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1', [id]);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new session: the random token goes to the cookie, its hash to the table. */
export async function createSession(
  db: Queryable,
  userId: string,
  ttlMs: number,
  now: Date,
): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + ttlMs);
  await db.query(
    'INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)',
    [hashToken(token), userId, csrfToken, expiresAt],
  );
  return { token, csrfToken, expiresAt };
}

/** The session's user and CSRF token, when the session exists, has not expired and the user is enabled. */
export async function sessionUser(
  db: Queryable,
  token: string,
  now: Date,
): Promise<{ user: User; csrfToken: string } | undefined> {
  const { rows } = await db.query(
    `SELECT s.csrf_token, ${COLUMNS.split(', ')
      .map((c) => `u.${c}`)
      .join(', ')}
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`,
    [hashToken(token), now],
  );
  const r = rows[0];
  if (!r) return undefined;
  return { user: publicUser(toUser(r)), csrfToken: r.csrf_token as string };
}

export async function deleteSession(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [hashToken(token)]);
}
