import { createInterface } from 'node:readline';
import { hashPassword, passwordProblem } from '../auth/password.ts';
import { isRole, POSITIONS, ROLES, type UserRole } from '../auth/roles.ts';
import { loadConfigFile } from '../config/load.ts';
import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import { openStore } from '../store/open.ts';
import { insertUser, userByUsername } from '../store/users.ts';

export interface UserAddOptions {
  config: string;
  username: string;
  name: string;
  roles: string;
  positions?: string;
  schools?: string;
  staffId?: string;
  phone?: string;
  email?: string;
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * The password never goes on the command line (other users can read it in `ps`): it comes from
 * DOORSTEP_PASSWORD, else the terminal (not echoed), else the first line of standard input.
 */
async function readPassword(): Promise<string> {
  const env = process.env.DOORSTEP_PASSWORD;
  if (env) return env;
  const rl = createInterface({
    input: process.stdin,
    output: process.stdin.isTTY ? process.stderr : undefined,
    terminal: Boolean(process.stdin.isTTY),
  });
  if (process.stdin.isTTY) {
    process.stderr.write('Password (not shown): ');
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  }
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (process.stdin.isTTY) process.stderr.write('\n');
  return line;
}

/** `doorstep user add`: creates a local account (the first admin, then anyone). Audited. */
export async function userAddCommand(opts: UserAddOptions, out: (line: string) => void): Promise<number> {
  const config = loadConfigFile(opts.config);
  if (!/^[a-z0-9][a-z0-9._-]{1,63}$/.test(opts.username))
    throw doorstepError(
      'USAGE',
      '--username: expected 2–64 lower-case letters, digits, dot, dash or underscore',
    );
  const roles = list(opts.roles);
  const bad = roles.filter((r) => !isRole(r));
  if (!roles.length || bad.length)
    throw doorstepError(
      'USAGE',
      `--roles: expected some of ${ROLES.join(', ')}${bad.length ? ` (not: ${bad.join(', ')})` : ''}`,
    );
  const positions = list(opts.positions);
  const badPos = positions.filter((p) => !(POSITIONS as readonly string[]).includes(p));
  if (badPos.length)
    throw doorstepError(
      'USAGE',
      `--positions: expected some of ${POSITIONS.join(', ')} (not: ${badPos.join(', ')})`,
    );
  const schools = list(opts.schools);
  const unknown = schools.filter((s) => !config.schools.some((c) => c.id === s));
  if (unknown.length)
    throw doorstepError('USAGE', `--schools: no school ${unknown.join(', ')} in the config`);
  if (opts.phone && !/^\+[1-9]\d{6,14}$/.test(opts.phone))
    throw doorstepError('USAGE', '--phone: expected an E.164 number such as +447700900123');
  const password = await readPassword();
  const problem = passwordProblem(password);
  if (problem) throw doorstepError('USAGE', `password: ${problem}`);

  const db = await openStore({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: config.store.dataDir,
    ...(config.store.schema !== 'public' ? { schema: config.store.schema } : {}),
  });
  try {
    if (await userByUsername(db, opts.username))
      throw doorstepError('USAGE', `--username: "${opts.username}" already exists`);
    const passwordHash = await hashPassword(password);
    const id = await db.transaction(async (tx) => {
      const id = await insertUser(tx, {
        username: opts.username,
        displayName: opts.name,
        passwordHash,
        roles: roles as UserRole[],
        positions,
        schools,
        staffId: opts.staffId ?? null,
        phone: opts.phone ?? null,
        email: opts.email ?? null,
      });
      await appendAudit(tx, {
        actor: 'system:cli',
        action: 'user.created',
        entityType: 'user',
        entityId: id,
        after: { username: opts.username, roles, positions, schools },
      });
      return id;
    });
    out(
      `user #${id} ${opts.username} created (${roles.join(', ')}${schools.length ? `; ${schools.join(', ')}` : '; every school'})`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

/** `doorstep user list|disable|enable|unlock|password USERNAME`: account upkeep, each audited. */
export async function userAdminCommand(
  action: string,
  username: string | undefined,
  opts: { config: string },
  out: (line: string) => void,
): Promise<number> {
  const actions = ['list', 'disable', 'enable', 'unlock', 'password'];
  if (!actions.includes(action))
    throw doorstepError('USAGE', `expected one of ${actions.join(', ')}, got "${action}"`);
  if (action !== 'list' && !username) throw doorstepError('USAGE', `user ${action}: expected a username`);
  const config = loadConfigFile(opts.config);
  const password = action === 'password' ? await readPassword() : '';
  if (action === 'password') {
    const problem = passwordProblem(password);
    if (problem) throw doorstepError('USAGE', `password: ${problem}`);
  }
  const db = await openStore({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: config.store.dataDir,
    ...(config.store.schema !== 'public' ? { schema: config.store.schema } : {}),
  });
  try {
    if (action === 'list') {
      const { rows } = await db.query<Record<string, unknown>>(
        'SELECT id, username, roles, schools, disabled, locked_until FROM users ORDER BY username',
      );
      for (const r of rows)
        out(
          `#${r.id} ${r.username}  ${(r.roles as string[]).join(',')}  ${(r.schools as string[]).join(',') || 'every school'}${r.disabled ? '  DISABLED' : ''}${r.locked_until && new Date(r.locked_until as string) > new Date() ? '  LOCKED' : ''}`,
        );
      return 0;
    }
    const user = await userByUsername(db, username!);
    if (!user) throw doorstepError('USAGE', `no user "${username}"`);
    const hash = action === 'password' ? await hashPassword(password) : null;
    await db.transaction(async (tx) => {
      if (action === 'disable') await tx.query('UPDATE users SET disabled = true WHERE id = $1', [user.id]);
      if (action === 'enable') await tx.query('UPDATE users SET disabled = false WHERE id = $1', [user.id]);
      if (action === 'unlock')
        await tx.query('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1', [user.id]);
      if (hash) await tx.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, hash]);
      // A disabled account or a new password ends every session the person had.
      if (action === 'disable' || action === 'password')
        await tx.query('DELETE FROM sessions WHERE user_id = $1', [user.id]);
      await appendAudit(tx, {
        actor: 'system:cli',
        action: `user.${action === 'password' ? 'password-changed' : `${action}d`}`,
        entityType: 'user',
        entityId: user.id,
        before: { disabled: user.disabled, locked: Boolean(user.lockedUntil) },
        after: { username: user.username },
      });
    });
    out(
      `user ${user.username}: ${action === 'password' ? 'password changed, sessions ended' : `${action}d`}`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
