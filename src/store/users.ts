import { createHash, randomBytes } from 'node:crypto';
import type { UserRole } from '../domain/roles.ts';
import { HELP_AFTER_BACK_MINUTES, RESUME_WATCH_MINUTES } from '../domain/visits/lifecycle.ts';
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
  /** Training records (YYYY-MM-DD), for the policy packs that require them before a home visit. */
  homeVisitTrainedOn: string | null;
  safeguardingTrainedOn: string | null;
  /**
   * When they were recorded as experienced in home visits (made visits before Doorstep): counted as
   * experienced for a colleague's first visit, as someone who has made a visit in Doorstep is.
   */
  homeVisitExperiencedOn: string | null;
}

export interface UserWithSecret extends User {
  passwordHash: string;
  failedAttempts: number;
  lockedUntil: Date | null;
  disabled: boolean;
}

const COLUMNS =
  'id, username, display_name, roles, positions, schools, staff_id, phone, email, password_hash, failed_attempts, locked_until, disabled, home_visit_trained_on, safeguarding_trained_on, home_visit_experienced_on';

/** A DATE column as YYYY-MM-DD (the driver gives a Date at local midnight, or a string). */
function isoDay(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date)
    return `${v.getFullYear()}-${String(v.getMonth() + 1).padStart(2, '0')}-${String(v.getDate()).padStart(2, '0')}`;
  return String(v).slice(0, 10);
}

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
    homeVisitTrainedOn: isoDay(r.home_visit_trained_on),
    safeguardingTrainedOn: isoDay(r.safeguarding_trained_on),
    homeVisitExperiencedOn: isoDay(r.home_visit_experienced_on),
  };
}

/** Records (or clears, with null) a person's training and experience dates; absent keys are left as they are. */
export async function setTraining(
  db: Queryable,
  id: string,
  t: {
    homeVisit?: string | null;
    safeguarding?: string | null;
    /** The day it was recorded (null clears it), and the account that recorded it (null: the CLI). */
    experienced?: { on: string | null; by: string | null };
  },
): Promise<void> {
  await db.query(
    `UPDATE users SET
       home_visit_trained_on = CASE WHEN $2 THEN $3::date ELSE home_visit_trained_on END,
       safeguarding_trained_on = CASE WHEN $4 THEN $5::date ELSE safeguarding_trained_on END,
       home_visit_experienced_on = CASE WHEN $6 THEN $7::date ELSE home_visit_experienced_on END,
       home_visit_experience_recorded_by = CASE WHEN $6 THEN $8::bigint ELSE home_visit_experience_recorded_by END
     WHERE id = $1`,
    [
      id,
      'homeVisit' in t,
      t.homeVisit ?? null,
      'safeguarding' in t,
      t.safeguarding ?? null,
      t.experienced !== undefined,
      t.experienced?.on ?? null,
      t.experienced?.on ? t.experienced.by : null,
    ],
  );
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

/**
 * The enabled accounts whose phone is this number (spaces ignored): those working at the school (or
 * trust-wide) first, at most 50 of them; `elsewhere` says whether any account at another school has
 * it too.
 */
export async function usersByPhone(
  db: Queryable,
  phone: string,
  schoolId: string,
): Promise<{ here: UserWithSecret[]; elsewhere: boolean }> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM users
     WHERE NOT disabled AND replace(phone, ' ', '') = replace($1, ' ', '')
       AND (cardinality(schools) = 0 OR $2 = ANY(schools))
     ORDER BY id LIMIT 50`,
    [phone, schoolId],
  );
  const { rows: other } = await db.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM users WHERE NOT disabled AND replace(phone, ' ', '') = replace($1, ' ', '')
       AND NOT (cardinality(schools) = 0 OR $2 = ANY(schools))) AS any`,
    [phone, schoolId],
  );
  return { here: rows.map(toUser), elsewhere: other[0]?.any === true };
}

export async function userByUsername(db: Queryable, username: string): Promise<UserWithSecret | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [username]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

/**
 * An account `u` works at the school `school` (SQL over their aliases): listed there, or trust-wide.
 * Staff ids come from each school's device registry, so one is a person only within a school: every
 * join from an alarm's or event's staff id to an account says which school.
 */
export const worksAt = (u: string, school: string) =>
  `(cardinality(${u}.schools) = 0 OR ${school} = ANY(${u}.schools))`;

/** The name people know a fob's wearer by: the enabled account of the school carrying that device-registry staff id. */
export async function displayNameOfStaff(
  db: Queryable,
  schoolId: string,
  staffId: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ display_name: string }>(
    `SELECT display_name FROM users u WHERE staff_id = $2 AND NOT disabled AND ${worksAt('u', '$1')} ORDER BY id LIMIT 1`,
    [schoolId, staffId],
  );
  return rows[0]?.display_name;
}

/** An account's fields changed: only those given (`null` clears a staff id, phone or e-mail). */
export async function updateUser(
  tx: Queryable,
  id: string,
  u: {
    displayName?: string | undefined;
    roles?: readonly string[] | undefined;
    positions?: readonly string[] | undefined;
    schools?: readonly string[] | undefined;
    staffId?: string | null | undefined;
    phone?: string | null | undefined;
    email?: string | null | undefined;
  },
): Promise<void> {
  const columns: [string, unknown][] = [];
  if (u.displayName !== undefined) columns.push(['display_name', u.displayName]);
  if (u.roles !== undefined) columns.push(['roles', [...u.roles]]);
  if (u.positions !== undefined) columns.push(['positions', [...u.positions]]);
  if (u.schools !== undefined) columns.push(['schools', [...u.schools]]);
  if (u.staffId !== undefined) columns.push(['staff_id', u.staffId]);
  if (u.phone !== undefined) columns.push(['phone', u.phone]);
  if (u.email !== undefined) columns.push(['email', u.email]);
  if (columns.length === 0) return;
  await tx.query(`UPDATE users SET ${columns.map(([c], i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [
    id,
    ...columns.map(([, v]) => v),
  ]);
}

/**
 * Holds accounts for the rest of the transaction: `share` — a departure, so the people leaving are
 * not changed meanwhile; `update` — an account change, which waits for a departure under way and
 * then sees the person out (the two never cross unseen).
 */
export async function holdAccounts(
  tx: Queryable,
  ids: readonly string[],
  mode: 'share' | 'update',
): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `SELECT id FROM users WHERE id = ANY($1::bigint[]) ORDER BY id FOR ${mode === 'share' ? 'SHARE' : 'UPDATE'}`,
    [[...ids]],
  );
}

/** Whether an account already carries this device-registry staff id (one person per staff id). */
/** The username of the account holding this fob staff id, if one does. */
export async function staffIdHolder(db: Queryable, staffId: string): Promise<string | null> {
  const { rows } = await db.query<{ username: string }>(
    'SELECT username FROM users WHERE staff_id = $1 ORDER BY id LIMIT 1',
    [staffId],
  );
  return rows[0]?.username ?? null;
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

/** Whether any account exists at all (a fresh install has none: the sign-in page then links to setup). */
export async function anyUserExists(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any');
  return rows[0]?.any === true;
}

export async function usersOfSchool(db: Queryable, schoolId: string): Promise<User[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM users WHERE NOT disabled AND (schools = '{}' OR $1 = ANY(schools)) ORDER BY display_name`,
    [schoolId],
  );
  return rows.map((r) => publicUser(toUser(r)));
}

/**
 * A failed sign-in for this username (the same statement whether or not the account exists, so an
 * unknown name costs the same work). Failures count up to `maxFailures`, which locks the account for
 * `lockMs`; failures during a lock neither count nor lengthen it, and counting starts again once it
 * has run out, so a lock always ends `lockMs` after the failure that set it.
 */
export async function recordFailedSignIn(
  db: Queryable,
  username: string,
  maxFailures: number,
  lockMs: number,
  now: Date,
): Promise<{ locked: boolean }> {
  const { rows } = await db.query<{ locked: boolean }>(
    `WITH counted AS (
       SELECT id, COALESCE(locked_until > $3, false) AS locked_now,
         CASE WHEN locked_until > $3 THEN failed_attempts WHEN locked_until IS NOT NULL THEN 1 ELSE failed_attempts + 1 END AS failures
       FROM users WHERE username = $1)
     UPDATE users u SET failed_attempts = c.failures,
       locked_until = CASE WHEN c.locked_now THEN u.locked_until WHEN c.failures >= $2 THEN $4::timestamptz ELSE NULL END
     FROM counted c WHERE u.id = c.id
     RETURNING NOT c.locked_now AND c.failures >= $2 AS locked`,
    [username, maxFailures, now, new Date(now.getTime() + lockMs)],
  );
  return { locked: rows[0]?.locked ?? false };
}

/** A successful sign-in (or an admin's unlock): the failure count and any lock are cleared. */
export async function clearFailedSignIns(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1', [id]);
}

export async function setUserDisabled(db: Queryable, id: string, disabled: boolean): Promise<void> {
  await db.query('UPDATE users SET disabled = $2 WHERE id = $1', [id, disabled]);
}

export async function setPasswordHash(db: Queryable, id: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
}

/**
 * The same password's hash made again (new parameters): only while the stored hash is still `was`,
 * so a password changed meanwhile (the owner, an admin) is never put back.
 */
export async function rehashPassword(
  db: Queryable,
  id: string,
  was: string,
  passwordHash: string,
): Promise<void> {
  await db.query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [
    id,
    was,
    passwordHash,
  ]);
}

/** Ends every session of the user (disabled, or a new password). */
export async function deleteSessionsOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
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

/**
 * A session for a sign-in whose password was checked against `verifiedHash`: made only while the
 * account still holds that hash and is enabled — a password changed or the account disabled while
 * the hash was being checked (the queue can hold a sign-in for seconds) ended every session, and
 * must end this one before it begins. Undefined when it was not made.
 */
export async function createSessionIfUnchanged(
  db: Queryable,
  userId: string,
  verifiedHash: string,
  ttlMs: number,
  now: Date,
): Promise<{ token: string; csrfToken: string; expiresAt: Date } | undefined> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + ttlMs);
  const r = await db.query(
    `INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
     SELECT $1, id, $3, $4 FROM users WHERE id = $2 AND password_hash = $5 AND NOT disabled`,
    [hashToken(token), userId, csrfToken, expiresAt, verifiedHash],
  );
  return r.rowCount === 1 ? { token, csrfToken, expiresAt } : undefined;
}

/**
 * Session `s` is held past its expiry by a home visit of its person (the lead or the partner) at
 * `now` (a parameter): a visit that departed while the session was still live, and is either not yet
 * back safe or was said back safe less than HELP_AFTER_BACK_MINUTES ago by this person — the
 * lifecycle keeps "I need help" open that long after back safe — or less than RESUME_WATCH_MINUTES
 * ago by someone else (the partner's "both back safe", the office, perhaps by mistake): the worker
 * is told to press "I am still out", which the lifecycle allows that long, and the phone page it is
 * on must stay with it. A session that had already run out
 * when the visit left is not brought back by it.
 */
const heldByVisitSql = (s: string, now: string) =>
  `EXISTS (SELECT 1 FROM visits v WHERE v.departed_at IS NOT NULL AND ${s}.expires_at > v.departed_at
             AND (v.returned_at IS NULL
                  OR v.returned_at > ${now}::timestamptz - make_interval(mins =>
                       CASE WHEN v.back_safe_by IS DISTINCT FROM 'user:' || ${s}.user_id::text
                            THEN ${RESUME_WATCH_MINUTES} ELSE ${HELP_AFTER_BACK_MINUTES} END))
             AND (v.lead_user_id = ${s}.user_id OR v.partner_user_id = ${s}.user_id))`;

/**
 * The one rule of when session `s` has run out at `now` (a parameter): past its expiry (set once at
 * sign-in: `http.sessionHours`), unless a home visit of its person holds it (heldByVisitSql). A
 * worker out keeps their phone page ("I need help", check-in, running late, back safe) however long
 * they are out, and for HELP_AFTER_BACK_MINUTES after back safe ("I need help" stays open that long);
 * after that the expiry applies again, and one already past refuses the next request. Only a session
 * still live when the visit left is held. Sign-out, a disabled account and a new password still end
 * the session at once (they delete it). The session lookup, the streams' re-check and the purge of
 * expired sessions all ask this.
 */
export const sessionExpiredSql = (s: string, now: string) =>
  `(${s}.expires_at <= ${now}::timestamptz AND NOT ${heldByVisitSql(s, now)})`;

/**
 * The session's user and CSRF token, when the session exists, has not run out (sessionExpiredSql)
 * and the user is enabled. `expiresAt` is the expiry set at sign-in; `heldWhileOut`, that a visit of
 * its person holds it (out, or just back safe: heldByVisitSql), so it does not run out then.
 */
export async function sessionUser(
  db: Queryable,
  token: string,
  now: Date,
): Promise<
  { user: User; csrfToken: string; tokenHash: string; expiresAt: Date; heldWhileOut: boolean } | undefined
> {
  const tokenHash = hashToken(token);
  const { rows } = await db.query(
    `SELECT s.csrf_token, s.expires_at AS session_expires_at, ${heldByVisitSql('s', '$2')} AS held_while_out,
            ${COLUMNS.split(', ')
              .map((c) => `u.${c}`)
              .join(', ')}
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND NOT ${sessionExpiredSql('s', '$2')} AND NOT u.disabled`,
    [tokenHash, now],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    user: publicUser(toUser(r)),
    csrfToken: r.csrf_token as string,
    tokenHash,
    expiresAt: new Date(r.session_expires_at as string),
    heldWhileOut: Boolean(r.held_while_out),
  };
}

/** Of these session token hashes, the ones still valid (not ended, not run out, the user enabled). */
export async function liveSessions(
  db: Queryable,
  tokenHashes: readonly string[],
  now: Date,
): Promise<Set<string>> {
  if (tokenHashes.length === 0) return new Set();
  const { rows } = await db.query<{ token_hash: string }>(
    `SELECT s.token_hash FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = ANY($1) AND NOT ${sessionExpiredSql('s', '$2')} AND NOT u.disabled`,
    [[...tokenHashes], now],
  );
  return new Set(rows.map((r) => r.token_hash));
}

/** Ends one session; returns its token hash (what the open streams of the session are known by). */
export async function deleteSession(db: Queryable, token: string): Promise<string> {
  const tokenHash = hashToken(token);
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  return tokenHash;
}
