import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DoorstepConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Db } from '../store/db.ts';
import {
  type AdminFile,
  adminFilePath,
  answerSchema,
  parseJson,
  readLines,
  requestSchema,
  send,
} from './admin-wire.ts';
import type { CommandDeps, ProgressSink } from './command-deps.ts';
import { reportFatal } from './output.ts';
import { storeCommand } from './remote-commands.ts';

/** Longest Unix socket path Linux and macOS take (sun_path is 108 and 104 bytes). */
const MAX_SOCKET_PATH = 100;
const FIRST_MESSAGE_MS = 10_000;

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The embedded store (PGlite) belongs to one process, so while `doorstep start` runs a CLI command
 * cannot open it. The server therefore takes the CLI's store commands over a local socket and runs
 * them, with the same command functions, against the store it holds.
 *
 * Only the account that runs Doorstep may use it: the socket is in a folder only it can enter
 * (0700) and is itself 0600, and every command must carry the random token in
 * `<dataDir>/doorstep-admin.json` (0600, rewritten at each start). A command with another token is
 * refused and logged.
 */
export async function serveAdminSocket(o: {
  dataDir: string;
  db: Db;
  config: DoorstepConfig;
  configPath: string;
  log: Logger;
}): Promise<AdminSocket> {
  const dataDir = resolve(o.dataDir);
  const token = randomBytes(32).toString('base64url');
  const expected = digest(token);
  let folder = join(dataDir, 'admin');
  let temporary = false;
  if (join(folder, 'doorstep.sock').length > MAX_SOCKET_PATH) {
    folder = await mkdtemp(join(tmpdir(), 'doorstep-admin-'));
    temporary = true;
  } else {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const st = await lstat(folder);
    if (!st.isDirectory())
      throw doorstepError(
        'SERVICE_UNAVAILABLE',
        `${folder} must be a folder (it is not: refusing to use it)`,
      );
    await chmod(folder, 0o700);
  }
  const path = join(folder, 'doorstep.sock');
  await removeStaleSocket(path);

  const running = new Set<Socket>();
  const server: Server = createServer((socket) => {
    running.add(socket);
    socket.on('close', () => running.delete(socket));
    socket.on('error', () => {});
    handle(socket, expected, o).catch((err) => {
      o.log.error({ err }, 'admin socket: a command failed outside its handler');
      socket.destroy();
    });
  });
  server.maxConnections = 8;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => {
      server.off('error', rej);
      res();
    });
  });
  await chmod(path, 0o600);
  const file = adminFilePath(dataDir);
  await writePrivateJson(file, { pid: process.pid, socket: path, token, config: resolve(o.configPath) });
  o.log.info({ socket: path }, 'admin socket listening: CLI commands run here while the store is held');

  return {
    path,
    async close() {
      await new Promise<void>((res) => {
        server.close(() => res());
        for (const s of running) s.destroy();
      });
      // Only our own file: a later process may have written its own.
      const mine = await readFile(file, 'utf8').then(
        (t) => (parseJson(t) as Partial<AdminFile> | undefined)?.pid === process.pid,
        () => false,
      );
      if (mine) await unlink(file).catch(() => {});
      await unlink(path).catch(() => {});
      if (temporary) await rm(folder, { recursive: true, force: true });
    },
  };
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw doorstepError('SERVICE_UNAVAILABLE', `${path} exists and is not a socket`);
  await unlink(path);
}

/** Written whole under a temporary name (0600, never through a link) and renamed into place. */
async function writePrivateJson(file: string, value: AdminFile): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  const fh = await open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await fh.writeFile(`${JSON.stringify(value)}\n`);
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/** One connection: one request, checked, then the command run with the held store. */
async function handle(
  socket: Socket,
  expected: Buffer,
  o: { db: Db; config: DoorstepConfig; log: Logger },
): Promise<void> {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  readLines(socket, (line) => {
    lines.push(line);
    wake?.();
  });
  const closed = new Promise<void>((res) => socket.once('close', () => res()));
  const next = async (ms: number): Promise<string | undefined> => {
    if (lines.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((res) => {
          wake = res;
        }),
        closed,
        new Promise<void>((res) => {
          timer = setTimeout(res, ms);
        }),
      ]);
      clearTimeout(timer);
      wake = undefined;
    }
    return lines.shift();
  };
  const refuse = (reason: string, code: number) => {
    send(socket, { type: 'refused', reason, code });
    socket.end();
  };

  const first = await next(FIRST_MESSAGE_MS);
  const request = requestSchema.safeParse(first === undefined ? undefined : parseJson(first));
  if (!request.success) return refuse('not a Doorstep command request', 64);
  if (!timingSafeEqual(digest(request.data.token), expected)) {
    o.log.warn('admin socket: a command with a wrong token was refused');
    return refuse('wrong admin token', 1);
  }
  const command = storeCommand(request.data.command);
  if (!command) return refuse(`no command "${request.data.command}" runs through the server`, 64);
  const args = command.args.safeParse(request.data.args);
  const opts = command.opts.safeParse(request.data.opts);
  if (!args.success || !opts.success) {
    const issue = (args.success ? opts.error?.issues[0] : args.error.issues[0])!;
    const where = args.success ? `option ${issue.path.join('.')}` : 'arguments';
    return refuse(`${request.data.command}: ${where}: ${issue.message}`, 64);
  }

  const deps: CommandDeps = {
    config: o.config,
    withStore: (fn) => fn(o.db),
    async readPassword() {
      send(socket, { type: 'ask', what: 'password' });
      const answer = answerSchema.safeParse(parseJson((await next(10 * 60_000)) ?? ''));
      if (!answer.success) throw doorstepError('USAGE', 'password: not given');
      return answer.data.value;
    },
    progress: (total) => remoteProgress(socket, total),
  };
  o.log.info({ command: request.data.command }, 'admin socket: running a CLI command');
  let code: number;
  try {
    code = await command.run(args.data, opts.data, (line) => send(socket, { type: 'out', line }), deps);
  } catch (err) {
    code = reportFatal(err, (line) => send(socket, { type: 'err', line }));
  }
  send(socket, { type: 'exit', code });
  socket.end();
}

/** Progress sent at most ten times a second; the CLI draws the bar on its terminal. */
function remoteProgress(socket: Socket, total: number): ProgressSink {
  let bytes = 0;
  let records = 0;
  let last = 0;
  const tell = (done: boolean) => {
    const now = Date.now();
    if (!done && now - last < 100) return;
    last = now;
    send(socket, { type: 'progress', total, bytes, records, done });
  };
  return {
    addBytes: (n) => {
      bytes += n;
      tell(false);
    },
    addRecords: (n) => {
      records += n;
      tell(false);
    },
    done: () => tell(true),
  };
}
