import { noteSummary } from './arbor-pastoral/sink.ts';
import type { RecordsSettings } from './settings.ts';
import type { OutboundRecord } from './types.ts';

/** An outbox record as it is stored: what a sink is given of it, less the category its settings add. */
export type StoredRecord = Omit<OutboundRecord, 'outboxId' | 'category'> & { id: string };

/**
 * Why a record to this sink carries no category, or undefined when it carries its kind's: an Arbor
 * note has none (PastoralNote and SafeguardingNote are a student, a summary, content and a date), so
 * nothing is shown as one — a category shown would be filed nowhere.
 */
export function noCategory(settings: RecordsSettings): string | undefined {
  return settings.sink === 'arbor-pastoral' ? 'Arbor notes carry no category' : undefined;
}

/**
 * The record a sink is given for a stored one: its text, pupils, the date it carries and the category
 * the sink's settings file its kind under (none for an Arbor note). The one place these are decided —
 * deliver-record hands the sink this, and `doorstep outbox show` and the data page show it (a preview:
 * what go-live sends).
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
    category: settings.sink === 'arbor-pastoral' ? null : settings.categories[r.kind],
  };
}

/**
 * The title as the sink files it, sent under the record's key (`outwardKey`): an Arbor note's summary
 * as the sink builds it (`noteSummary`: the title cut to fit, the key at its end); CPOMS's title (and
 * a preview's) is the record's own.
 */
export function titleSent(r: { title: string; outwardKey: string }, settings: RecordsSettings): string {
  return settings.sink === 'arbor-pastoral' ? noteSummary(r.title, r.outwardKey) : r.title;
}
