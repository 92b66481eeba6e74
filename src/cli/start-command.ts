import { recordSinkWarnings } from '../../connectors/records/settings.ts';
import { hashOnCpus } from '../auth/password.ts';
import { newSetupToken, SETUP_LINK_MINUTES } from '../auth/setup-link.ts';
import { loadConfigFile } from '../config/load.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { backgroundCpus } from '../core/background-cpus.ts';
import { doorstepError } from '../errors.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { ROLES, type Role } from '../queue/catalog.ts';
import { startDoorstep } from '../runtime/start.ts';
import { startWorkerChild, type WorkerChild, workerRunsApart } from '../runtime/worker-child.ts';
import type { Db } from '../store/db.ts';
import { anyUserExists } from '../store/users.ts';
import { type AdminSocket, serveAdminSocket } from './admin-server.ts';
import { reportFatal } from './output.ts';

export function parseRoles(text: string): Role[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.includes('all')) return [...ROLES];
  const unknown = parts.filter((p) => !(ROLES as readonly string[]).includes(p));
  if (unknown.length || parts.length === 0) {
    throw doorstepError(
      'USAGE',
      `--role: expected all, web, ingest or worker (comma-separated), got "${text}"`,
    );
  }
  return parts as Role[];
}

/**
 * `doorstep start`: runs until SIGTERM/SIGINT, then stops taking work and exits 0 within the
 * configured deadline (jobs still running are handed back to the queue). A second signal exits
 * at once with 1.
 */
export async function startCommand(opts: { config: string; role: string }): Promise<void> {
  const config = loadConfigFile(opts.config);
  const roles = parseRoles(opts.role);
  const log = createLogger({ base: { roles: roles.join(',') } });
  // A stop asked for while starting (a deploy's quick restart, Ctrl-C) waits for the start to finish
  // and is then a graceful stop: Node's default would end this process at once and leave its worker
  // child, still starting, to write its schedules after everything else had stopped. Twice: at once.
  let stopAsked: NodeJS.Signals | undefined;
  const whileStarting = (signal: NodeJS.Signals) => {
    if (stopAsked) process.exit(1);
    stopAsked = signal;
    log.info({ signal }, 'stop asked for while starting: stopping once started');
  };
  process.on('SIGTERM', whileStarting);
  process.on('SIGINT', whileStarting);
  const databaseUrl = process.env.DATABASE_URL;
  // The worker role's heavy jobs never share this process's event loop with the board or the fobs.
  const apart = workerRunsApart(roles, config.queue.workerProcess, databaseUrl);
  const here = apart ? roles.filter((r) => r !== 'worker') : roles;
  // Background work (the worker child, password hashing) kept off one core for the alarm path —
  // decided by the parent: a worker child is already held to the background cores.
  const isWorkerChild = process.env.DOORSTEP_WORKER_CHILD === '1';
  const { cpus, skipped } = isWorkerChild
    ? { cpus: undefined, skipped: undefined }
    : await backgroundCpus(config.queue.backgroundCores);
  if (skipped) log.warn({ reason: skipped }, 'background work is not kept off a core');
  // What the config lets stand but a school should hear of when it starts (as `doorstep check` says
  // it): records none of its sinks can take. Once, by the parent, not again by a worker child.
  if (!isWorkerChild)
    for (const school of config.schools)
      for (const w of recordSinkWarnings(school))
        log.warn({ schoolId: school.id, setting: w.path.join('.') }, w.message);
  hashOnCpus(cpus);
  // Both at once (migrations run under an advisory lock, whichever process comes first).
  const [started, forked] = await Promise.allSettled([
    startDoorstep({ config, roles: here, log, databaseUrl }),
    apart
      ? startWorkerChild({ configPath: opts.config, nice: config.queue.workerNice, cpus, log })
      : undefined,
  ]);
  if (started.status === 'rejected' || forked.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop(1000).catch(() => {});
    if (forked.status === 'fulfilled') await forked.value?.stop(1000).catch(() => {});
    throw started.status === 'rejected' ? started.reason : (forked as PromiseRejectedResult).reason;
  }
  const running = started.value;
  const child: WorkerChild | undefined = forked.value;
  // The embedded store is this process's alone: CLI commands come here to use it.
  const admin = await adminSocketFor(running.db, config, opts.config, log);

  const where = running.url;
  // A fresh install: nobody can sign in yet, so the banner points to the page that says what to do.
  const noAccounts = where ? !(await anyUserExists(running.db).catch(() => true)) : false;
  // …and a one-time link to create the first admin in the browser (only this console shows it).
  const setupToken =
    noAccounts && process.env.DOORSTEP_WORKER_CHILD !== '1'
      ? await newSetupToken(running.db, new Date()).catch(() => null)
      : null;
  // A worker child says nothing here: its parent's banner names it (one banner per `doorstep start`).
  const isChild = process.env.DOORSTEP_WORKER_CHILD === '1';
  if (!isChild)
    process.stderr.write(
      `${[
        `doorstep: running roles ${roles.join(', ')} for ${config.schools.length} school(s); store: ${running.db.describe}`,
        ...(child
          ? [
              `  worker   in its own process (pid ${child.pid}, nice ${config.queue.workerNice}, CPUs ${cpus ?? 'any'})`,
            ]
          : []),
        ...(where
          ? [
              `  health   ${where}/healthz`,
              `  ready    ${where}/readyz`,
              `  metrics  ${where}/metrics`,
              `  board    ${where}/board (sign in; first account: npx doorstep user add --config ${opts.config} --roles admin,office …)`,
              ...(noAccounts
                ? [
                    setupToken
                      ? `  setup    ${where}/setup?token=${setupToken} (no account yet: create the first admin there; works once, for ${SETUP_LINK_MINUTES} minutes)`
                      : `  setup    ${where}/setup (no account yet: how to create the first admin)`,
                  ]
                : []),
              `  queues   ${config.http.admin ? `${where}/admin/queues` : 'disabled (set http.admin in the config)'}`,
            ]
          : []),
        '  stop with Ctrl-C or SIGTERM',
      ].join('\n')}\n`,
    );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A worker child is told twice on Ctrl-C (the terminal's SIGINT, then its parent's SIGTERM):
      // it keeps to its graceful stop, which its parent's deadline bounds.
      if (process.env.DOORSTEP_WORKER_CHILD === '1') return;
      process.stderr.write(`doorstep: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    const deadline = config.shutdown.deadlineMs;
    log.info({ signal, deadlineMs: deadline }, 'shutting down');
    const hard = setTimeout(() => {
      process.stderr.write(`doorstep: shutdown exceeded ${deadline + 2000} ms, exiting\n`);
      process.exit(1);
    }, deadline + 2000);
    hard.unref();
    Promise.all([
      admin?.close().then(() => running.stop(deadline)) ?? running.stop(deadline),
      child?.stop(deadline),
    ])
      .then(([report]) => {
        log.info({ handedBack: report.handedBack }, 'stopped');
        log.flush();
        process.exitCode = 0;
        clearTimeout(hard);
        setImmediate(() => process.exit(0));
      })
      .catch((err) => {
        process.exit(reportFatal(err));
      });
  };
  process.off('SIGTERM', whileStarting);
  process.off('SIGINT', whileStarting);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.send && process.env.DOORSTEP_WORKER_CHILD === '1') {
    // A worker child: stop when the parent goes (even by SIGKILL) — also if it went while this
    // process was starting (its 'disconnect' then came before anyone listened) — else say it runs.
    process.on('disconnect', () => stop('SIGTERM'));
    if (!process.connected) stop('SIGTERM');
    else process.send({ type: 'ready' });
  }
  if (stopAsked) stop(stopAsked);
}

/** With the embedded store, the admin socket CLI commands use while this process holds it. */
async function adminSocketFor(
  db: Db,
  config: DoorstepConfig,
  configPath: string,
  log: Logger,
): Promise<AdminSocket | undefined> {
  if (db.backend !== 'pglite' || config.store.dataDir.startsWith('memory://')) return undefined;
  // A failure here must not take the board and the alarms down: the CLI then says it cannot reach it.
  return serveAdminSocket({ dataDir: config.store.dataDir, db, config, configPath, log }).catch((err) => {
    log.error({ err }, 'admin socket not available: CLI commands cannot reach this process');
    return undefined;
  });
}
