import { lstat, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { DoorstepConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';
import {
  type AdminFile,
  adminFilePath,
  adminFileSchema,
  parseJson,
  readLines,
  send,
  serverMessageSchema,
} from './admin-wire.ts';
import { readPasswordHere } from './command-deps.ts';
import { printable } from './output.ts';
import { ProgressLine } from './progress.ts';
import { storeCommand } from './remote-commands.ts';

export interface Terminal {
  out: (line: string) => void;
  err: (line: string) => void;
  readPassword: () => Promise<string>;
  /** Whether a progress bar can be drawn (standard error is a terminal). */
  tty: boolean;
}

const here: Terminal = {
  // Stored text (notes, names, a sink's answer) never drives the terminal (output.ts `printable`).
  out: (line) => console.log(printable(line)),
  err: (line) => process.stderr.write(`${line}\n`),
  readPassword: readPasswordHere,
  tty: Boolean(process.stderr.isTTY),
};

/** A running server's admin file, and where it lies. */
export type RunningServer = AdminFile & { file: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * The running `doorstep start` that holds this configuration's embedded store, if one does: its
 * admin file, when the process it names is alive. Undefined with PostgreSQL, an in-memory store, or
 * no running server (the command then opens the store itself).
 */
export async function runningServer(config: DoorstepConfig): Promise<RunningServer | undefined> {
  if (process.env.DATABASE_URL || config.store.dataDir.startsWith('memory://')) return undefined;
  const file = adminFilePath(config.store.dataDir);
  const st = await lstat(file).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isFile()) throw doorstepError('SERVICE_UNAVAILABLE', `${file} is not a regular file: remove it`);
  // The file names the socket this command will send a typed password and pupil ids to: trusted only
  // as the server writes it — this account's own, 0600. One another account could have written (or
  // planted, where it may write in the data folder) could point at that account's own socket.
  const uid = process.getuid?.();
  if (uid !== undefined && (st.uid !== uid || (st.mode & 0o077) !== 0))
    throw doorstepError(
      'FORBIDDEN',
      `${file} is not this account's own file (owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}; a running Doorstep writes it 0600 as the account that runs it): run this command as that account, or remove the file if no Doorstep runs`,
    );
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw doorstepError(
      'FORBIDDEN',
      `the store in ${resolve(config.store.dataDir)} is held by a running Doorstep and its admin file cannot be read (${code}): run this command as the account that runs Doorstep`,
    );
  }
  const parsed = adminFileSchema.safeParse(parseJson(text));
  if (!parsed.success) return undefined; // half-written or from an older version: not a server we can use
  return alive(parsed.data.pid) ? { ...parsed.data, file } : undefined;
}

/** Positional arguments and options that are paths, made absolute here (the server has its own cwd). */
function absolutePaths(
  name: string,
  args: string[],
  opts: Record<string, unknown>,
): { args: string[]; opts: Record<string, unknown> } {
  const paths = storeCommand(name)?.paths;
  const abs = (p: unknown) => (typeof p === 'string' && !isAbsolute(p) ? resolve(p) : p);
  return {
    args: args.map((a, i) => (paths?.args?.includes(i) ? (abs(a) as string) : a)),
    opts: Object.fromEntries(
      Object.entries(opts)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, paths?.opts?.includes(k) ? abs(v) : v]),
    ),
  };
}

/**
 * Sends one store command to the running server and relays what comes back: output lines to
 * standard output, errors to standard error, the password prompt to this terminal, the progress
 * bar. Resolves with the command's exit code.
 */
export async function runOnServer(
  server: RunningServer,
  name: string,
  args: string[],
  opts: Record<string, unknown>,
  terminal: Terminal = here,
): Promise<number> {
  const socket: Socket = await new Promise((res, rej) => {
    const s = connect(server.socket);
    s.once('connect', () => res(s));
    s.once('error', (err) =>
      rej(
        doorstepError(
          'SERVICE_UNAVAILABLE',
          `the running Doorstep (pid ${server.pid}) holds the store, but its admin socket ${server.socket} does not answer (${(err as { code?: string }).code ?? err.message}): if it is starting, try again in a moment; if no Doorstep runs on this store (the pid belongs to something else now), remove ${server.file}`,
          { cause: err },
        ),
      ),
    );
  });
  terminal.err(`doorstep: the store is held by the running Doorstep (pid ${server.pid}): running this there`);
  const sent = absolutePaths(name, args, opts);
  let progress: ProgressLine | undefined;
  return new Promise<number>((res, rej) => {
    let code: number | undefined;
    socket.on('error', () => {});
    socket.once('close', () => {
      progress?.done();
      if (code !== undefined) res(code);
      else
        rej(
          doorstepError(
            'SERVICE_UNAVAILABLE',
            `the running Doorstep (pid ${server.pid}) closed the connection before the command finished; see its log`,
          ),
        );
    });
    readLines(socket, (line) => {
      const m = serverMessageSchema.safeParse(parseJson(line));
      if (!m.success) {
        socket.destroy();
        return;
      }
      const msg = m.data;
      switch (msg.type) {
        case 'out':
          terminal.out(msg.line);
          break;
        case 'err':
          terminal.err(msg.line);
          break;
        case 'ask':
          terminal.readPassword().then(
            (value) => send(socket, { type: 'answer', value }),
            () => socket.destroy(),
          );
          break;
        case 'progress':
          if (!terminal.tty) break;
          progress ??= new ProgressLine(msg.total);
          progress.set(msg.bytes, msg.records);
          if (msg.done) {
            progress.done();
            progress = undefined;
          }
          break;
        case 'exit':
          code = msg.code;
          break;
        case 'refused':
          terminal.err(`doorstep: the running Doorstep refused the command: ${msg.reason}`);
          code = msg.code;
          break;
      }
    });
    send(socket, { type: 'run', token: server.token, command: name, ...sent });
  });
}
