import * as z from 'zod';
import type { DoorstepConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import { allUsers, insertUser, publicUser, userById, userByUsername } from '../store/users.ts';
import { hashPassword, passwordProblem } from './password.ts';
import { POSITIONS, ROLES } from './roles.ts';

/** A new account, as the CLI and the admin page both take it. */
export function newAccountSchema(config: DoorstepConfig) {
  const schoolIds = config.schools.map((s) => s.id);
  return z.strictObject({
    username: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, {
      error: 'expected 2–64 lower-case letters, digits, dot, dash or underscore',
    }),
    displayName: z.string().trim().min(1, { error: 'expected the name people see' }).max(100),
    password: z.string().superRefine((p, ctx) => {
      const problem = passwordProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    roles: z.array(z.enum(ROLES, { error: `expected some of ${ROLES.join(', ')}` })).min(1, {
      error: `expected some of ${ROLES.join(', ')}`,
    }),
    positions: z.array(z.enum(POSITIONS, { error: `expected some of ${POSITIONS.join(', ')}` })).default([]),
    schools: z
      .array(
        z
          .string()
          .refine((s) => schoolIds.includes(s), { error: `expected some of ${schoolIds.join(', ')}` }),
      )
      .default([]),
    staffId: z.string().min(1).max(64).optional(),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, { error: 'expected an E.164 number such as +447700900123' })
      .optional(),
    email: z.email().optional(),
  });
}
export type NewAccount = z.output<ReturnType<typeof newAccountSchema>>;

/** Creates an account (scrypt hash), audited as `actor`. A taken username is a conflict. */
export async function createAccount(db: Db, a: NewAccount, actor: string): Promise<string> {
  if (await userByUsername(db, a.username))
    throw doorstepError('CONFLICT', `username: "${a.username}" already exists`);
  const passwordHash = await hashPassword(a.password);
  return db.transaction(async (tx) => {
    const id = await insertUser(tx, { ...a, passwordHash });
    await appendAudit(tx, {
      actor,
      action: 'user.created',
      entityType: 'user',
      entityId: id,
      after: { username: a.username, roles: a.roles, positions: a.positions, schools: a.schools },
    });
    return id;
  });
}

export const ACCOUNT_ACTIONS = ['disable', 'enable', 'unlock', 'password'] as const;
export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];

/** Disable / enable / unlock / set a password; disabling or a new password ends the person's sessions. Audited. */
export async function changeAccount(
  db: Db,
  userId: string,
  action: AccountAction,
  actor: string,
  password?: string,
): Promise<void> {
  const user = await userById(db, userId);
  if (!user) throw doorstepError('NOT_FOUND', `no user ${userId}`);
  let hash: string | null = null;
  if (action === 'password') {
    const problem = passwordProblem(password ?? '');
    if (problem) throw doorstepError('BAD_REQUEST', `password: ${problem}`);
    hash = await hashPassword(password!);
  }
  await db.transaction(async (tx) => {
    if (action === 'disable') await tx.query('UPDATE users SET disabled = true WHERE id = $1', [user.id]);
    if (action === 'enable') await tx.query('UPDATE users SET disabled = false WHERE id = $1', [user.id]);
    if (action === 'unlock')
      await tx.query('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1', [user.id]);
    if (hash) await tx.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, hash]);
    if (action === 'disable' || action === 'password')
      await tx.query('DELETE FROM sessions WHERE user_id = $1', [user.id]);
    await appendAudit(tx, {
      actor,
      action: `user.${action === 'password' ? 'password-changed' : `${action}d`}`,
      entityType: 'user',
      entityId: user.id,
      before: { disabled: user.disabled, locked: Boolean(user.lockedUntil) },
      after: { username: user.username },
    });
  });
}

/** Every account with its state, for the admin page and `doorstep user list` (never the hash). */
export async function listAccounts(db: Db, now = new Date()) {
  return (await allUsers(db)).map((u) => ({
    ...publicUser(u),
    disabled: u.disabled,
    locked: u.lockedUntil !== null && u.lockedUntil > now,
  }));
}
