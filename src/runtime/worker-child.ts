import { type ChildProcess, spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backgroundCommand, canPin } from '../core/background-cpus.ts';
import type { Logger } from '../log/logger.ts';
import { execArgvFor } from './node-flags.ts';

const WORKER_ARGS = ['start', '--role', 'worker'];

/**
 * The `worker` role in a child process of its own. Imports and trigger evaluation are CPU-heavy (a
 * 760k-mark file parses for tens of seconds); in the same process as `web` they hold the event loop
 * that delivers the board's live events, so an SOS waits behind a parse. Forked, the child has its
 * own event loop and runs at a lower CPU priority (`queue.workerNice`), so on a small machine the
 * kernel gives the board and the alarm path the CPU first — and, every thread of it from its first
 * instruction, on the background cores (`queue.backgroundCores`: all but one), so an import can never
 * take every core. Same argv, config and environment: `doorstep start --role worker`.
 *
 * Supervised: a child that dies is started again (1 s, doubling to 30 s between tries; its jobs
 * are picked up again by BullMQ's stalled-job check). A child whose parent dies stops on its own
 * (the IPC channel closes), so a SIGKILLed parent never leaves a worker behind.
 */
export interface WorkerChild {
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL once `deadlineMs` has passed. */
  stop(deadlineMs: number): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
/** How long a child may take to report it is running (migrations are already applied by the parent). */
const READY_MS = 60_000;

/** Whether this `start` runs its worker role in a child: it shares the process and the store allows it. */
export function workerRunsApart(
  roles: readonly string[],
  setting: 'separate' | 'same',
  databaseUrl: string | undefined,
): boolean {
  return (
    setting === 'separate' &&
    databaseUrl !== undefined &&
    databaseUrl !== '' &&
    roles.includes('worker') &&
    (roles.includes('web') || roles.includes('ingest'))
  );
}

export async function startWorkerChild(o: {
  configPath: string;
  nice: number;
  /** The CPU list the child runs on (src/core/background-cpus.ts); undefined: anywhere. */
  cpus?: string | undefined;
  log: Logger;
}): Promise<WorkerChild> {
  let child: ChildProcess | undefined;
  let stopping = false;
  let backoffMs = 1000;
  let restart: NodeJS.Timeout | undefined;

  const spawnOnce = async () => {
    // Checked at every start: a container's CPU set may have shrunk since the last. Unpinned, the
    // worker still runs (at a lower priority); the warning says why.
    const cpus = o.cpus !== undefined && (await canPin(o.cpus)) ? o.cpus : undefined;
    if (o.cpus !== undefined && cpus === undefined)
      o.log.warn({ cpus: o.cpus }, 'taskset may not use these CPUs now: the worker process runs on any core');
    return new Promise<ChildProcess>((resolve, reject) => {
      // As `fork` would (node, its flags, the CLI; an IPC channel), under `nice` and `taskset`: each
      // execs the next in its own place (same pid), so every thread the child starts inherits both.
      const run = backgroundCommand({ cpus, nice: o.nice }, process.execPath, [
        // The flags the worker role runs with (src/runtime/node-flags.ts: not the alarm path's heap size).
        ...execArgvFor(WORKER_ARGS, process.execArgv),
        MAIN,
        ...WORKER_ARGS,
        '--config',
        o.configPath,
      ]);
      const c = spawn(run.command, run.args, {
        env: { ...process.env, DOORSTEP_WORKER_CHILD: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      try {
        // Only where the `nice` program is missing (it is part of every Linux and macOS install).
        if (c.pid !== undefined && !run.niced) setPriority(c.pid, o.nice);
      } catch (err) {
        o.log.warn({ err }, 'could not lower the worker process priority');
      }
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`the worker process did not start within ${READY_MS / 1000} s`));
      }, READY_MS);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new Error(`the worker process exited while starting (${signal ?? `code ${code}`})`));
      };
      c.once('exit', onExit);
      // Could not be started at all (taskset or node missing): no 'exit' follows.
      c.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      c.on('message', (m) => {
        if ((m as { type?: unknown } | null)?.type !== 'ready') return;
        clearTimeout(timer);
        c.off('exit', onExit);
        resolve(c);
      });
    });
  };

  const scheduleRestart = () => {
    restart = setTimeout(() => {
      spawnOnce().then(
        (next) => {
          backoffMs = 1000;
          o.log.info({ workerPid: next.pid }, 'worker process running again');
          if (stopping) next.kill('SIGTERM');
          else supervise(next);
        },
        (err: unknown) => {
          backoffMs = Math.min(backoffMs * 2, 30_000);
          o.log.error({ err, restartInMs: backoffMs }, 'worker process failed to start');
          if (!stopping) scheduleRestart();
        },
      );
    }, backoffMs);
  };

  const supervise = (c: ChildProcess) => {
    child = c;
    c.once('exit', (code, signal) => {
      if (stopping) return;
      o.log.error(
        { workerPid: c.pid, code, signal, restartInMs: backoffMs },
        'worker process exited; starting it again',
      );
      scheduleRestart();
    });
  };

  supervise(await spawnOnce());
  o.log.info(
    { workerPid: child?.pid, nice: o.nice, cpus: o.cpus ?? 'any' },
    'worker role running in its own process',
  );

  return {
    get pid() {
      return child?.pid;
    },
    async stop(deadlineMs) {
      stopping = true;
      clearTimeout(restart);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const kill = setTimeout(() => c.kill('SIGKILL'), deadlineMs);
      await exited;
      clearTimeout(kill);
    },
  };
}
