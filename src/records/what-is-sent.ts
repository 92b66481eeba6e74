import { sinkSettingsNamed } from '../../connectors/records/index.ts';
import { outboundRecord, type StoredRecord } from '../../connectors/records/outbound.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { findSchool } from '../config/school-of.ts';

/** What a record carries to its sink besides its title and text. */
export interface SentWith {
  /** The category its kind is filed under; null when its school or sink is no longer configured. */
  category: string | null;
  /** The date it is filed on (`occurred_at`). */
  occurredAt: Date;
}

/**
 * What a stored record is sent with — or, kept as a preview, would be sent with once its school is
 * live: read from `outboundRecord`, the record deliver-record hands the sink, never worked out again
 * here (`doorstep outbox show` and the data page show it, so a data manager checks categories and
 * dates before go-live).
 */
export function sentWith(config: DoorstepConfig, r: StoredRecord & { sink: string }): SentWith {
  const school = findSchool(config, r.schoolId);
  const settings = school ? sinkSettingsNamed(school, r.sink) : undefined;
  if (!settings) return { category: null, occurredAt: r.occurredAt };
  const sent = outboundRecord(r, settings);
  return { category: sent.category, occurredAt: sent.occurredAt };
}
