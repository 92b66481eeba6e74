import type { DoorstepConfig } from '../config/schema.ts';
import { VISIT_WATCH_EVERY_MS } from '../domain/visits/watch.ts';
import { schedulePurges } from '../import/purge-schedule.ts';
import { scheduleAttendanceSyncs, scheduleNightlyEvaluations } from '../import/schedules.ts';
import type { Logger } from '../log/logger.ts';
import type { DoorstepCatalog, Role } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';

/**
 * The repeating jobs a process of these roles keeps in Redis: the visit watcher (ingest) — which also
 * reopens timed-out acknowledgements and resumes ladders whose next step was lost — and the
 * heartbeat, MIS syncs, nightly evaluations, purges, outbox relay and outcome chasing (worker).
 * Upserting is idempotent across processes.
 */
export async function scheduleAll(
  producer: Producer<DoorstepCatalog>,
  config: DoorstepConfig,
  roles: readonly Role[],
): Promise<void> {
  if (roles.includes('ingest'))
    await producer.schedule(
      'watch-visits',
      'watch-visits',
      { everyMs: VISIT_WATCH_EVERY_MS },
      { reason: 'schedule' },
    );
  if (roles.includes('worker')) {
    await producer.schedule(
      'heartbeat',
      'heartbeat',
      { everyMs: config.heartbeat.everyMs },
      { source: 'scheduler' },
    );
    await scheduleAttendanceSyncs(producer, config);
    await scheduleNightlyEvaluations(producer, config);
    await schedulePurges(producer, config);
    await producer.schedule('relay-outbox', 'relay-outbox', { everyMs: 5000 }, { reason: 'schedule' });
    await producer.schedule('chase-outcomes', 'chase-outcomes', { everyMs: 300_000 }, { reason: 'schedule' });
  }
}

/** The schedules whose absence means Redis lost what it held (a restart without persistence, a flush). */
const SENTINELS: readonly { role: Role; name: 'watch-visits' | 'heartbeat' | 'relay-outbox'; id: string }[] =
  [
    { role: 'ingest', name: 'watch-visits', id: 'watch-visits' },
    { role: 'worker', name: 'heartbeat', id: 'heartbeat' },
    { role: 'worker', name: 'relay-outbox', id: 'relay-outbox' },
  ];

/**
 * Schedules live only in Redis: if it loses them (restarted without persistence, flushed, failed
 * over to a replica behind), nothing would watch the visits, resume a ladder or reopen an
 * acknowledgement again until a restart — silence while `/readyz` says ready. So every
 * `everyMs` each process checks its roles' schedules and, when one is gone, puts them all back
 * (the watcher's next run then resumes the ladders whose steps were lost with them). Checking
 * before upserting leaves a schedule that is there alone: re-upserting would move its next run.
 */
export function keepSchedules(
  producer: Producer<DoorstepCatalog>,
  config: DoorstepConfig,
  roles: readonly Role[],
  log: Logger,
  /** How often (`queue.scheduleCheckMs`). */
  everyMs: number,
): { stop(): void } {
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const missing: string[] = [];
      for (const s of SENTINELS)
        if (roles.includes(s.role) && !(await producer.hasScheduler(s.name, s.id))) missing.push(s.id);
      if (missing.length > 0) {
        log.error(
          { missing },
          'job schedules missing from Redis (its data was lost): putting them back; run Redis with persistence (appendonly yes) and noeviction',
        );
        await scheduleAll(producer, config, roles);
      }
    } catch (err) {
      log.warn({ err }, 'could not check the job schedules in Redis; trying again');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
