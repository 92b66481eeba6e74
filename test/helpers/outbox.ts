import type { Db } from '../../src/store/db.ts';
import { insertOutbox } from '../../src/store/outbox.ts';

/** `n` trigger-note records for school alpha, keys `${keyPrefix}-0…`, in one transaction. */
export async function insertTestRecords(db: Db, n: number, sink: string, keyPrefix: string): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = 0; i < n; i++) {
      await insertOutbox(tx, {
        schoolId: 'alpha',
        kind: 'trigger_note',
        pupilIds: [`p${i}`],
        title: `Trigger ${i}`,
        body: `Body ${i}`,
        occurredAt: new Date('2025-11-18T16:00:00Z'),
        sink,
        idempotencyKey: `${keyPrefix}-${i}`,
        sourceType: 'test',
        sourceId: String(i),
      });
    }
  });
}
