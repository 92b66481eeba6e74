import type { DoorstepConfig } from '../config/schema.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';

/** The nightly purge per school (Europe/London), at `retention.purgeAt`, on the maintenance queue. */
export async function schedulePurges(
  producer: Producer<DoorstepCatalog>,
  config: DoorstepConfig,
): Promise<void> {
  const [h, m] = config.retention.purgeAt.split(':').map(Number);
  for (const school of config.schools) {
    await producer.schedule(
      `purge:${school.id}`,
      'purge',
      { cron: `${m} ${h} * * *`, tz: 'Europe/London' },
      { schoolId: school.id, reason: 'schedule' },
    );
  }
}
