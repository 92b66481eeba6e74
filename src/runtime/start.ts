import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { type MqttFobTransport, shareGroup } from '../../connectors/fob/mqtt/transport.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { type FirstStepsHere, firstStepHere } from '../../jobs/escalate.ts';
import { handlers } from '../../jobs/index.ts';
import { stepSendsSettled } from '../../jobs/notify.ts';
import { startMqttFeed } from '../alarms/fob-feeds.ts';
import { INGEST_STORE, prepareIngestStore } from '../alarms/ingest-groups.ts';
import { OUTSIDE_CONFIG_LOG } from '../checks/outside-config.ts';
import { visitRulesLookup } from '../config/policy-packs.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { deviceHomes, deviceLookingLike, feedProfiles } from '../config/school-of.ts';
import { buildHttpApp } from '../http/app.ts';
import { createMetrics, feedMetrics, ingestCounters } from '../http/metrics.ts';
import { purgeMetrics } from '../http/purge-metrics.ts';
import { DropWatcher } from '../import/drop-watcher.ts';
import type { Logger } from '../log/logger.ts';
import { catalog, type Role } from '../queue/catalog.ts';
import { Producer } from '../queue/producer.ts';
import { RedisRateLimiter } from '../queue/rate-limit.ts';
import { assertRedisReachable, connectRedis, describeRedisUrl } from '../queue/redis.ts';
import { WorkerHost } from '../queue/worker-host.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import { openStore } from '../store/open.ts';
import { autovacuumSetting } from '../store/server-settings.ts';
import { watchedOutsideConfig } from '../store/visit-watch.ts';
import { fobsOutReadiness, redisCheck, storeCheck, watchCheck } from './checks.ts';
import { keepSchedules, scheduleAll } from './schedules.ts';

export interface StartOptions {
  config: DoorstepConfig;
  roles: readonly Role[];
  log: Logger;
  /** PostgreSQL URL; PGlite in config.store.dataDir when absent. */
  databaseUrl?: string | undefined;
}

export interface RunningDoorstep {
  /** Where the web role listens, when it runs. */
  url: string | undefined;
  db: Db;
  producer: Producer<typeof catalog>;
  /** Stops taking work and closes everything within `deadlineMs`. */
  stop(deadlineMs: number): Promise<{ handedBack: number }>;
}

/**
 * Brings up the roles asked for, in dependency order: Redis (fail fast with one clear line),
 * the store (migrations applied), the producer, the workers, then the HTTP server last so
 * /readyz only answers once everything behind it exists.
 */
export async function startDoorstep(options: StartOptions): Promise<RunningDoorstep> {
  const { config, roles, log } = options;
  const redisSettings = { url: config.redis.url, password: config.redis.password };
  const redisVersion = await assertRedisReachable(redisSettings);

  const db = await openStore({
    databaseUrl: options.databaseUrl,
    dataDir: config.store.dataDir,
    ...(config.store.schema !== 'public' ? { schema: config.store.schema } : {}),
    ...(roles.includes('ingest') ? INGEST_STORE : {}),
  });

  let conn: Redis | undefined;
  let producer: Producer<typeof catalog> | undefined;
  let host: WorkerHost<typeof catalog, JobDeps> | undefined;
  let app: FastifyInstance | undefined;
  let watcher: DropWatcher | undefined;
  let schedules: { stop(): void } | undefined;
  const transports: MqttFobTransport[] = [];
  let stopPreparing: (() => void) | undefined;
  let firstSteps: FirstStepsHere | undefined;
  const closeAll = async (deadlineMs: number) => {
    const started = Date.now();
    const left = () => Math.max(0, deadlineMs - (Date.now() - started) - 500);
    stopPreparing?.();
    schedules?.stop();
    watcher?.stop();
    await Promise.all(transports.map((t) => t.stop()));
    await app?.close();
    // First steps taken here and the sends steps started are not jobs: waited for before the store
    // and Redis close under them (their jobs finish whatever the deadline cuts short).
    await firstSteps?.settled(left());
    const report = host ? await host.close(left()) : { handedBack: 0 };
    await stepSendsSettled(left());
    await producer?.close();
    conn?.disconnect();
    await db.close();
    return report;
  };

  try {
    conn = await connectRedis(redisSettings, 'producer');
    await warnUnlessNoEviction(conn, log);
    await warnUnlessAutovacuum(db, log);
    await sayWatchedOutsideConfig(db, config, log);
    producer = new Producer(catalog, conn, config.redis.prefix);
    const instance = `${hostname()}:${process.pid}`;

    const metrics = createMetrics([...producer.queues.values()]);
    purgeMetrics(metrics, db);
    const jobDeps: JobDeps = {
      db,
      log,
      producer,
      now: () => new Date(),
      instance,
      config,
      limiter: new RedisRateLimiter(conn, config.redis.prefix),
      publisher: conn,
    };
    // One way into the alarm path for every transport (MQTT and the webhook): the same store, queues,
    // board and counters (`/metrics` counts a refused or untrusted webhook event as an MQTT one).
    const ingestDeps = {
      db,
      producer,
      publisher: conn,
      prefix: config.redis.prefix,
      counters: ingestCounters(metrics),
      schoolOfDevice: deviceHomes(config),
      trustFeedProfiles: feedProfiles(config),
      deviceLookingLike: deviceLookingLike(config),
    };
    if (roles.includes('ingest')) {
      // This role's workers run the ladder: a new alarm's first step is taken here, at once.
      firstSteps = firstStepHere(jobDeps);
      stopPreparing = await prepareIngestStore(db);
      const ingest = { ...ingestDeps, ...(firstSteps ? { firstStep: firstSteps } : {}) };
      const feeds = feedMetrics(metrics);
      for (const school of config.schools) {
        for (const transport of school.fobs.transports) {
          if (transport.kind !== 'mqtt') continue;
          for (let c = 0; c < (transport.shared ? transport.connections : 1); c++) {
            const instance = [process.env.DOORSTEP_INSTANCE, transport.connections > 1 ? `c${c}` : undefined]
              .filter(Boolean)
              .join('-');
            const t = await startMqttFeed({
              deps: ingest,
              school,
              transport,
              log,
              instance: instance || undefined,
              // Every instance its own group: each gets every message (failover that loses none).
              shareGroup: transport.shared
                ? shareGroup(process.env.DOORSTEP_INSTANCE || undefined, transport.connections)
                : undefined,
              onState: (labels, status) => {
                feeds.up.set(labels, status.state === 'up' ? 1 : 0);
                if (status.state === 'down' && status.takenOver) feeds.takeovers.inc(labels);
              },
              onRetained: (labels) => feeds.retained.inc(labels),
            });
            transports.push(t);
          }
        }
      }
    }
    if (roles.includes('worker') || roles.includes('ingest')) {
      host = new WorkerHost<typeof catalog, JobDeps>({
        catalog,
        handlers,
        deps: jobDeps,
        roles,
        redis: redisSettings,
        prefix: config.redis.prefix,
        log,
        workerOptions: {
          lockDuration: config.queue.lockDurationMs,
          stalledInterval: config.queue.stalledIntervalMs,
        },
      });
      host.run();
      await host.waitUntilReady();
    }
    await scheduleAll(producer, config, roles);
    if (roles.includes('ingest') || roles.includes('worker'))
      schedules = keepSchedules(producer, config, roles, log, config.queue.scheduleCheckMs);
    if (roles.includes('worker')) {
      watcher = new DropWatcher(producer, log);
      watcher.start(config);
    }

    let url: string | undefined;
    if (roles.includes('web')) {
      app = await buildHttpApp({
        log,
        readiness: [
          redisCheck(conn, describeRedisUrl(config.redis.url)),
          storeCheck(db),
          watchCheck(
            db,
            config.schools.map((s) => s.id),
          ),
          fobsOutReadiness(db, config),
        ],
        metrics,
        queues: [...producer.queues.values()],
        admin: config.http.admin,
        fobWebhooks: {
          config,
          ingest: {
            ...ingestDeps,
            // In one process with the ingest role (its workers run the ladder): the first step here too.
            ...(firstSteps ? { firstStep: firstSteps } : {}),
          },
        },
        smsWebhook: { config, db, producer, tell: { publisher: conn, prefix: config.redis.prefix } },
        boardEvents: {
          config,
          db,
          subscriber: await connectRedis(redisSettings, 'worker'),
          prefix: config.redis.prefix,
        },
        trustProxy: config.http.trustProxy,
        metricsToken: config.http.metricsToken,
        web: {
          db,
          config,
          rulesFor: visitRulesLookup(config),
          producer,
          publisher: conn,
          prefix: config.redis.prefix,
          now: () => new Date(),
          log,
          lockout: {
            maxFailures: config.http.lockout.maxFailures,
            lockMs: config.http.lockout.minutes * 60_000,
          },
          sessionTtlMs: config.http.sessionHours * 3_600_000,
          signInsPerMinutePerAddress: config.http.lockout.perAddressPerMinute,
          secureCookies: config.http.secureCookies,
        },
      });
      url = await app.listen({ host: config.http.host, port: config.http.port });
    }

    await appendAudit(db, {
      actor: 'system:start',
      action: 'process.started',
      after: { instance, roles, redisVersion, store: db.backend },
    });
    log.info(
      {
        roles,
        url,
        redisVersion,
        store: db.describe,
        schools: config.schools.length,
        nodeFlags: process.execArgv,
      },
      'doorstep started',
    );
    return { url, db, producer, stop: closeAll };
  } catch (err) {
    await closeAll(1000).catch(() => {});
    throw err;
  }
}

/**
 * Without autovacuum PostgreSQL never reclaims the rows re-imports update and sessions, board events
 * and jobs delete, and the visibility map the marks key's index-only reads rely on (migration 030)
 * goes stale: trigger runs slow down night by night. Say so at start; it is the server's setting.
 */
async function warnUnlessAutovacuum(db: Db, log: Logger): Promise<void> {
  if ((await autovacuumSetting(db)) === 'off') {
    log.warn(
      'PostgreSQL has autovacuum off: updated and deleted rows are never reclaimed and the marks key loses its index-only reads; turn it on (autovacuum = on in postgresql.conf)',
    );
  }
}

/**
 * Workers out or alarms open at schools this config does not hold (a school removed, or its id
 * renamed, while they were open): nothing watches them. Said at start by every role (each opens the
 * store), with school ids and counts only; `/readyz` warns of it while it holds (its `watch` check,
 * never a 503), and the visit watcher says it every run.
 */
async function sayWatchedOutsideConfig(db: Db, config: DoorstepConfig, log: Logger): Promise<void> {
  try {
    const orphans = await watchedOutsideConfig(
      db,
      config.schools.map((s) => s.id),
    );
    if (orphans.length) log.error({ schools: orphans }, OUTSIDE_CONFIG_LOG);
  } catch (err) {
    log.warn({ err }, 'could not look for workers out at schools not in the config (doorstep check does)');
  }
}

/** BullMQ loses jobs if Redis evicts keys; say so loudly (managed Redis may forbid CONFIG). */
async function warnUnlessNoEviction(conn: Redis, log: Logger): Promise<void> {
  try {
    const reply = (await conn.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      log.warn({ policy }, 'Redis maxmemory-policy should be noeviction: queued jobs can be evicted');
    }
  } catch {
    log.warn('could not read Redis maxmemory-policy; make sure it is noeviction');
  }
}
