import type { RecordsSettings } from './settings.ts';
import type { OutboundRecord } from './types.ts';

/** An outbox record as it is stored: what a sink is given of it, less the category its settings add. */
export type StoredRecord = Omit<OutboundRecord, 'outboxId' | 'category'> & { id: string };

/**
 * The record a sink is given for a stored one: its text, pupils, the date it carries and the category
 * the sink's settings file its kind under. The one place these are decided — deliver-record hands
 * the sink this, and `doorstep outbox show` and the data page show it (a preview: what go-live sends).
 */
export function outboundRecord(r: StoredRecord, settings: RecordsSettings): OutboundRecord {
  return {
    outboxId: r.id,
    schoolId: r.schoolId,
    kind: r.kind,
    pupils: r.pupils,
    title: r.title,
    body: r.body,
    occurredAt: r.occurredAt,
    category: settings.categories[r.kind],
  };
}
