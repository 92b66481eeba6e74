import type { DoorstepConfig } from '../config/schema.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';

/** `10:30` → cron `30 10 * * 1-5` (school days, Europe/London). */
export function syncCron(hhmm: string): string {
  const [h, m] = hhmm.split(':').map(Number);
  return `${m} ${h} * * 1-5`;
}

export function syncSchedulerId(schoolId: string, hhmm: string): string {
  return `sync-attendance:${schoolId}:${hhmm.replace(':', '')}`;
}

/**
 * One BullMQ job scheduler per school and configured time (after registers close, Mon–Fri, in
 * Europe/London). Upserting is idempotent across processes; schedulers for times no longer in the
 * config are removed.
 */
export async function scheduleAttendanceSyncs(
  producer: Producer<DoorstepCatalog>,
  config: DoorstepConfig,
): Promise<string[]> {
  const ids: string[] = [];
  for (const school of config.schools) {
    const keep: string[] = [];
    for (const at of school.attendance.syncAt) {
      const id = syncSchedulerId(school.id, at);
      keep.push(id);
      await producer.schedule(
        id,
        'sync-attendance',
        { cron: syncCron(at), tz: 'Europe/London' },
        {
          schoolId: school.id,
          reason: 'schedule',
        },
      );
    }
    await producer.pruneSchedulers('sync-attendance', `sync-attendance:${school.id}:`, keep);
    ids.push(...keep);
  }
  return ids;
}

/** The nightly full trigger evaluation per school (Europe/London), at `triggers.nightlyAt`. */
export async function scheduleNightlyEvaluations(
  producer: Producer<DoorstepCatalog>,
  config: DoorstepConfig,
): Promise<void> {
  for (const school of config.schools) {
    const [h, m] = school.triggers.nightlyAt.split(':').map(Number);
    await producer.schedule(
      `evaluate-triggers:${school.id}:nightly`,
      'evaluate-triggers',
      { cron: `${m} ${h} * * *`, tz: 'Europe/London' },
      { schoolId: school.id, reason: 'nightly' },
    );
  }
}
