import { createInterface } from 'node:readline';
import { loadConfigFile } from '../config/load.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import type { Db } from '../store/db.ts';
import { openStore } from '../store/open.ts';
import { ProgressLine } from './progress.ts';

/** Where a long command (an import) reports how far it got. */
export interface ProgressSink {
  addBytes(n: number): void;
  addRecords(n: number): void;
  done(): void;
}

/**
 * What a store command needs besides its options. A command run from a terminal gets `localDeps`:
 * it opens the store for itself and closes it after. A command the CLI hands to the running
 * `doorstep start` (which holds the embedded store) gets the server's open store, and its password
 * prompt and progress bar travel back to the terminal (src/cli/admin-server.ts). The command's code
 * is the same either way.
 */
export interface CommandDeps {
  config: DoorstepConfig;
  /** Lends the store to `fn`. */
  withStore<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** A secret the person types (a password): never from the command line. */
  readPassword(): Promise<string>;
  /** A progress bar for `total` bytes, when someone is watching a terminal. */
  progress(total: number): ProgressSink | undefined;
}

/**
 * The password never goes on the command line (other users can read it in `ps`): it comes from
 * DOORSTEP_PASSWORD, else the terminal (not echoed), else the first line of standard input.
 */
export async function readPasswordHere(): Promise<string> {
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

/** The store as the configuration names it: PostgreSQL when DATABASE_URL is set, else PGlite. */
export function openConfiguredStore(config: DoorstepConfig): Promise<Db> {
  return openStore({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: config.store.dataDir,
    ...(config.store.schema !== 'public' ? { schema: config.store.schema } : {}),
  });
}

/** Deps for a command run in this process: the store opened for the command and closed after. */
export function localDeps(config: DoorstepConfig | string): CommandDeps {
  const loaded = typeof config === 'string' ? loadConfigFile(config) : config;
  return {
    config: loaded,
    async withStore(fn) {
      const db = await openConfiguredStore(loaded);
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
    readPassword: readPasswordHere,
    progress: (total) => (process.stderr.isTTY ? new ProgressLine(total) : undefined),
  };
}
