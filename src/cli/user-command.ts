import { createInterface } from 'node:readline';
import {
  type AccountAction,
  changeAccount,
  createAccount,
  listAccounts,
  newAccountSchema,
  recordTraining,
  trainingSchema,
} from '../auth/accounts.ts';
import { loadConfigFile } from '../config/load.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { doorstepError, isDoorstepError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { openStore } from '../store/open.ts';
import { userByUsername } from '../store/users.ts';

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
  const input = {
    username: opts.username,
    displayName: opts.name,
    password: '',
    roles: list(opts.roles),
    positions: list(opts.positions),
    schools: list(opts.schools),
    ...(opts.staffId ? { staffId: opts.staffId } : {}),
    ...(opts.phone ? { phone: opts.phone } : {}),
    ...(opts.email ? { email: opts.email } : {}),
  };
  const schema = newAccountSchema(config);
  // Check everything but the password first, so a typo is reported before the password is asked for.
  const first = schema.safeParse({ ...input, password: 'x'.repeat(12) });
  if (!first.success) throw usage(first.error.issues[0]!);
  const parsed = schema.safeParse({ ...input, password: await readPassword() });
  if (!parsed.success) throw usage(parsed.error.issues[0]!);
  return withStore(config, async (db) => {
    const id = await createAccount(db, parsed.data, 'system:cli').catch((err) => {
      throw isDoorstepError(err, 'CONFLICT') ? doorstepError('USAGE', `--${err.message}`) : err;
    });
    const { roles, schools } = parsed.data;
    out(
      `user #${id} ${opts.username} created (${roles.join(', ')}${schools.length ? `; ${schools.join(', ')}` : '; every school'})`,
    );
    return 0;
  });
}

const FLAGS: Record<string, string> = { displayName: 'name' };
function usage(issue: { path: PropertyKey[]; message: string }) {
  const key = String(issue.path[0] ?? 'input');
  return doorstepError(
    'USAGE',
    `${key === 'password' ? 'password' : `--${FLAGS[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`}: ${issue.message}`,
  );
}

async function withStore<T>(config: DoorstepConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openStore({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: config.store.dataDir,
    ...(config.store.schema !== 'public' ? { schema: config.store.schema } : {}),
  });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** `doorstep user list|disable|enable|unlock|password USERNAME`: account upkeep, each audited. */
export async function userAdminCommand(
  action: 'list' | AccountAction,
  username: string | undefined,
  opts: { config: string },
  out: (line: string) => void,
): Promise<number> {
  const config = loadConfigFile(opts.config);
  const password = action === 'password' ? await readPassword() : undefined;
  return withStore(config, async (db) => {
    if (action === 'list') {
      for (const a of await listAccounts(db))
        out(
          `#${a.id} ${a.username}  ${a.roles.join(',')}  ${a.schools.join(',') || 'every school'}${a.disabled ? '  DISABLED' : ''}${a.locked ? '  LOCKED' : ''}`,
        );
      return 0;
    }
    const user = username ? await userByUsername(db, username) : undefined;
    if (!user) throw doorstepError('USAGE', `no user "${username ?? ''}"`);
    await changeAccount(db, user.id, action, 'system:cli', password).catch((err) => {
      throw isDoorstepError(err, 'BAD_REQUEST') ? doorstepError('USAGE', err.message) : err;
    });
    out(
      `user ${user.username}: ${action === 'password' ? 'password changed, sessions ended' : `${action}d`}`,
    );
    return 0;
  });
}

/** `doorstep user training USERNAME --home-visit DATE --safeguarding DATE` (`none` clears one). Audited. */
export async function userTrainingCommand(
  username: string,
  opts: { config: string; homeVisit?: string; safeguarding?: string },
  out: (line: string) => void,
): Promise<number> {
  const config = loadConfigFile(opts.config);
  const value = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
  const parsed = trainingSchema.safeParse({
    ...(opts.homeVisit !== undefined ? { homeVisitTrainedOn: value(opts.homeVisit) } : {}),
    ...(opts.safeguarding !== undefined ? { safeguardingTrainedOn: value(opts.safeguarding) } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = String(issue.path[0]) === 'homeVisitTrainedOn' ? '--home-visit' : '--safeguarding';
    throw doorstepError('USAGE', `${flag}: ${issue.message}`);
  }
  if (opts.homeVisit === undefined && opts.safeguarding === undefined)
    throw doorstepError('USAGE', 'give --home-visit DATE and/or --safeguarding DATE');
  return withStore(config, async (db) => {
    const user = await userByUsername(db, username);
    if (!user) throw doorstepError('USAGE', `no user "${username}"`);
    await recordTraining(db, user.id, parsed.data, 'system:cli').catch((err) => {
      throw isDoorstepError(err, 'BAD_REQUEST') ? doorstepError('USAGE', err.message) : err;
    });
    out(`user ${user.username}: training recorded`);
    return 0;
  });
}
