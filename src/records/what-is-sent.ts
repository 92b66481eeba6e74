import { sinkSettingsNamed } from '../../connectors/records/index.ts';
import {
  noCategory,
  outboundRecord,
  type StoredRecord,
  titleSent,
} from '../../connectors/records/outbound.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { findSchool } from '../config/school-of.ts';

/** What a record carries to its sink besides its text. */
export interface SentWith {
  /**
   * The category its kind is filed under; null when none is sent — its sink's records carry none
   * (`noCategory` says so: Arbor notes) — or when its school or sink is no longer configured.
   */
  category: string | null;
  /** Why no category is sent, when its sink's records carry none: "Arbor notes carry no category". */
  noCategory?: string;
  /**
   * The title as its sink files it: an Arbor note's summary (the title cut to fit, the record's key
   * `[doorstep:KEY]` at its end), otherwise the record's title. Absent when its sink is no longer
   * configured.
   */
  title?: string;
  /** The date it is filed on (`occurred_at`). */
  occurredAt: Date;
}

/**
 * What a stored record is sent with — or, kept as a preview, would be sent with once its school is
 * live: read from `outboundRecord`, the record deliver-record hands the sink, and `titleSent`, the
 * sink's own builder of the title it files, never worked out again here (`doorstep outbox show` and
 * the data page show it, so a data manager checks categories, titles and dates before go-live).
 */
export function sentWith(
  config: DoorstepConfig,
  r: StoredRecord & { sink: string; outwardKey: string },
): SentWith {
  const school = findSchool(config, r.schoolId);
  const settings = school ? sinkSettingsNamed(school, r.sink) : undefined;
  if (!settings) return { category: null, occurredAt: r.occurredAt };
  const sent = outboundRecord(r, settings);
  const none = noCategory(settings);
  return {
    category: sent.category,
    ...(none ? { noCategory: none } : {}),
    title: titleSent(r, settings),
    occurredAt: sent.occurredAt,
  };
}
