import * as z from 'zod';
import type { AccountAction } from '../auth/accounts.ts';
import { alarmCommand } from './alarm-command.ts';
import type { CommandDeps } from './command-deps.ts';
import { fobCommand } from './fob-command.ts';
import { importCommand } from './import-command.ts';
import { leaveRefusedCommand } from './leave-command.ts';
import { outboxCommand } from './outbox-command.ts';
import { type SubjectOptions, subjectCommand } from './subject-command.ts';
import { triggersCommand } from './triggers-command.ts';
import {
  type UserAddOptions,
  type UserEditOptions,
  userAddCommand,
  userAdminCommand,
  userEditCommand,
  userTrainingCommand,
} from './user-command.ts';

type Out = (line: string) => void;

/**
 * A store command as the CLI runs it and as the running server runs it for the CLI: the options
 * commander parsed (checked again here, as anything arriving over the admin socket is), its
 * positional arguments, and the one function that does the work. `paths` names the options and
 * arguments that are file paths, made absolute by the CLI before they travel.
 */
interface StoreCommand {
  args: z.ZodType<string[]>;
  opts: z.ZodType<Record<string, unknown>>;
  paths?: { args?: number[]; opts?: string[] };
  run(args: string[], opts: Record<string, unknown>, out: Out, deps: CommandDeps): Promise<number>;
}

const text = z.string().max(4096);
const flag = z.boolean();
const options = <S extends z.ZodRawShape>(shape: S) => z.strictObject({ config: text, ...shape });
const noArgs = z.tuple([]);
const username = z.tuple([text]);
const actionAndId = z.union([z.tuple([text]), z.tuple([text, text])]);

function userAction(action: AccountAction): StoreCommand {
  return {
    args: username,
    opts: options({ whileOut: flag.optional() }),
    run: ([name], o, out, deps) =>
      userAdminCommand(action, name, o as { config: string; whileOut?: boolean }, out, deps),
  };
}

export const STORE_COMMANDS = {
  import: {
    args: z.tuple([text]),
    opts: options({ school: text.optional(), format: text.optional(), dryRun: flag.optional() }),
    paths: { args: [0] },
    run: ([file], o, out, deps) => importCommand(file!, o as { config: string }, out, deps),
  },
  triggers: {
    args: noArgs,
    opts: options({
      school: text,
      date: text.optional(),
      pupil: text.optional(),
      explain: flag.optional(),
    }),
    run: (_a, o, out, deps) => triggersCommand(o as { config: string; school: string }, out, deps),
  },
  'leave-refused': {
    args: noArgs,
    opts: options({ school: text, pupil: text, from: text, to: text, by: text.optional() }),
    run: (_a, o, out, deps) =>
      leaveRefusedCommand(
        o as { config: string; school: string; pupil: string; from: string; to: string },
        out,
        deps,
      ),
  },
  outbox: {
    args: actionAndId,
    opts: options({
      school: text.optional(),
      status: text.optional(),
      limit: text.optional(),
      reason: text.optional(),
      by: text.optional(),
    }),
    run: ([action, id], o, out, deps) => outboxCommand(action!, id, o as { config: string }, out, deps),
  },
  fob: {
    args: z.tuple([text]),
    opts: options({ school: text.optional(), device: text.optional(), by: text.optional() }),
    run: ([action], o, out, deps) => fobCommand(action!, o as { config: string }, out, deps),
  },
  alarm: {
    args: actionAndId,
    opts: options({
      school: text.optional(),
      by: text.optional(),
      reason: text.optional(),
      note: text.optional(),
    }),
    run: ([action, id], o, out, deps) => alarmCommand(action!, id, o as { config: string }, out, deps),
  },
  subject: {
    args: z.tuple([text]),
    opts: options({
      school: text,
      pupil: text.optional(),
      staff: text.optional(),
      out: text.optional(),
      field: text.optional(),
      value: text.optional(),
      on: text.optional(),
      by: text.optional(),
      yes: flag.optional(),
      dropFiles: z.enum(['keep', 'delete']).optional(),
      erasure: text.optional(),
    }),
    paths: { opts: ['out'] },
    run: ([action], o, out, deps) => subjectCommand(action!, o as unknown as SubjectOptions, out, deps),
  },
  'user add': {
    args: noArgs,
    opts: options({
      username: text,
      name: text,
      roles: text,
      positions: text.optional(),
      schools: text.optional(),
      staffId: text.optional(),
      phone: text.optional(),
      email: text.optional(),
    }),
    run: (_a, o, out, deps) => userAddCommand(o as unknown as UserAddOptions, out, deps),
  },
  'user edit': {
    args: username,
    opts: options({
      name: text.optional(),
      roles: text.optional(),
      positions: text.optional(),
      schools: text.optional(),
      staffId: text.optional(),
      phone: text.optional(),
      email: text.optional(),
      whileOut: flag.optional(),
    }),
    run: ([name], o, out, deps) => userEditCommand(name!, o as unknown as UserEditOptions, out, deps),
  },
  'user list': {
    args: noArgs,
    opts: options({}),
    run: (_a, o, out, deps) => userAdminCommand('list', undefined, o as { config: string }, out, deps),
  },
  'user disable': userAction('disable'),
  'user enable': userAction('enable'),
  'user unlock': userAction('unlock'),
  'user password': userAction('password'),
  'user training': {
    args: username,
    opts: options({
      homeVisit: text.optional(),
      safeguarding: text.optional(),
      experienced: text.optional(),
    }),
    run: ([name], o, out, deps) => userTrainingCommand(name!, o as { config: string }, out, deps),
  },
} satisfies Record<string, StoreCommand>;

export type StoreCommandName = keyof typeof STORE_COMMANDS;

export function storeCommand(name: string): StoreCommand | undefined {
  return Object.hasOwn(STORE_COMMANDS, name) ? STORE_COMMANDS[name as StoreCommandName] : undefined;
}
