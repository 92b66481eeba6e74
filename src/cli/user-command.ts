import {
  type AccountAction,
  accountEditSchema,
  changeAccount,
  createAccount,
  editAccount,
  listAccounts,
  newAccountSchema,
  recordTraining,
  trainingSchema,
} from '../auth/accounts.ts';
import { doorstepError, isDoorstepError } from '../errors.ts';
import { userByUsername } from '../store/users.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';

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

/** `doorstep user add`: creates a local account (the first admin, then anyone). Audited. */
export async function userAddCommand(
  opts: UserAddOptions,
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const { config } = deps;
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
  const parsed = schema.safeParse({ ...input, password: await deps.readPassword() });
  if (!parsed.success) throw usage(parsed.error.issues[0]!);
  return deps.withStore(async (db) => {
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

export interface UserEditOptions {
  config: string;
  name?: string;
  roles?: string;
  positions?: string;
  schools?: string;
  /** `none` clears it (as for --phone and --email). */
  staffId?: string;
  phone?: string;
  email?: string;
  whileOut?: boolean;
}

/**
 * `doorstep user edit USERNAME [--name …] [--roles …] [--positions …] [--schools …] [--staff-id …]
 * [--phone …] [--email …]`: only what is given changes (`none` clears a staff id, phone or e-mail;
 * `--positions none`, `--schools none` empty the list). Audited; a new scope ends their sessions.
 */
export async function userEditCommand(
  username: string,
  opts: UserEditOptions,
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const cleared = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
  const listOf = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? [] : list(v));
  const input = Object.fromEntries(
    Object.entries({
      displayName: opts.name,
      roles: listOf(opts.roles),
      positions: listOf(opts.positions),
      schools: listOf(opts.schools),
      staffId: cleared(opts.staffId),
      phone: cleared(opts.phone),
      email: cleared(opts.email),
      whileOut: opts.whileOut,
    }).filter(([, v]) => v !== undefined),
  );
  const parsed = accountEditSchema(deps.config).safeParse(input);
  if (!parsed.success) throw usage(parsed.error.issues[0]!);
  return deps.withStore(async (db) => {
    const user = await userByUsername(db, username);
    if (!user) throw doorstepError('USAGE', `no user "${username}"`);
    const { sessionsEnded } = await editAccount(db, deps.config, user.id, parsed.data, 'system:cli').catch(
      (err) => {
        if (isDoorstepError(err, 'CONFLICT') || isDoorstepError(err, 'BAD_REQUEST'))
          throw doorstepError('USAGE', err.message.replace('(whileOut;', '(--while-out;'));
        throw err;
      },
    );
    out(
      `user ${username}: changed${sessionsEnded ? ', sessions ended (a new scope: they sign in again)' : ''}`,
    );
    return 0;
  });
}

/** `doorstep user list|disable|enable|unlock|password USERNAME`: account upkeep, each audited. */
export async function userAdminCommand(
  action: 'list' | AccountAction,
  username: string | undefined,
  opts: { config: string; whileOut?: boolean },
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const password = action === 'password' ? await deps.readPassword() : undefined;
  return deps.withStore(async (db) => {
    if (action === 'list') {
      for (const a of await listAccounts(db))
        out(
          `#${a.id} ${a.username}  ${a.roles.join(',')}  ${a.schools.join(',') || 'every school'}${a.disabled ? '  DISABLED' : ''}${a.locked ? '  LOCKED' : ''}`,
        );
      return 0;
    }
    const user = username ? await userByUsername(db, username) : undefined;
    if (!user) throw doorstepError('USAGE', `no user "${username ?? ''}"`);
    await changeAccount(db, user.id, action, 'system:cli', password, {
      whileOut: opts.whileOut === true,
    }).catch((err) => {
      if (isDoorstepError(err, 'CONFLICT'))
        throw doorstepError('USAGE', err.message.replace('(whileOut;', '(--while-out;'));
      throw isDoorstepError(err, 'BAD_REQUEST') ? doorstepError('USAGE', err.message) : err;
    });
    out(
      `user ${user.username}: ${action === 'password' ? 'password changed, sessions ended' : `${action}d`}`,
    );
    return 0;
  });
}

/**
 * `doorstep user training USERNAME --home-visit DATE --safeguarding DATE --experienced yes|no`
 * (`none` clears a date). Audited.
 */
export async function userTrainingCommand(
  username: string,
  opts: { config: string; homeVisit?: string; safeguarding?: string; experienced?: string },
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const value = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
  if (opts.experienced !== undefined && opts.experienced !== 'yes' && opts.experienced !== 'no')
    throw doorstepError('USAGE', '--experienced: expected yes or no');
  const parsed = trainingSchema.safeParse({
    ...(opts.homeVisit !== undefined ? { homeVisitTrainedOn: value(opts.homeVisit) } : {}),
    ...(opts.safeguarding !== undefined ? { safeguardingTrainedOn: value(opts.safeguarding) } : {}),
    ...(opts.experienced !== undefined ? { homeVisitExperienced: opts.experienced === 'yes' } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = String(issue.path[0]) === 'homeVisitTrainedOn' ? '--home-visit' : '--safeguarding';
    throw doorstepError('USAGE', `${flag}: ${issue.message}`);
  }
  if (opts.homeVisit === undefined && opts.safeguarding === undefined && opts.experienced === undefined)
    throw doorstepError('USAGE', 'give --home-visit DATE, --safeguarding DATE and/or --experienced yes|no');
  return deps.withStore(async (db) => {
    const user = await userByUsername(db, username);
    if (!user) throw doorstepError('USAGE', `no user "${username}"`);
    await recordTraining(db, user.id, parsed.data, 'system:cli').catch((err) => {
      throw isDoorstepError(err, 'BAD_REQUEST') ? doorstepError('USAGE', err.message) : err;
    });
    out(`user ${user.username}: training recorded`);
    return 0;
  });
}
