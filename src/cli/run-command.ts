import { loadConfigFile } from '../config/load.ts';
import { doorstepError } from '../errors.ts';
import { runningServer, runOnServer } from './admin-client.ts';
import { localDeps } from './command-deps.ts';
import { printable } from './output.ts';
import { type StoreCommandName, storeCommand } from './remote-commands.ts';

/**
 * Runs a store command from the terminal. With PostgreSQL (DATABASE_URL) or no server running it
 * opens the store itself; when a running `doorstep start` holds the embedded store, the command
 * runs there (src/cli/admin-server.ts), through the same function, and its output comes back here.
 */
export async function runCommand(
  name: StoreCommandName,
  args: (string | undefined)[],
  opts: { config: string } & object,
): Promise<number> {
  const command = storeCommand(name);
  if (!command) throw doorstepError('USAGE', `no command "${name}"`);
  const given = args.filter((a): a is string => a !== undefined);
  const config = loadConfigFile(opts.config);
  const server = await runningServer(config);
  if (server) return runOnServer(server, name, given, opts as Record<string, unknown>);
  return command.run(
    given,
    opts as Record<string, unknown>,
    (line) => console.log(printable(line)),
    localDeps(config),
  );
}
