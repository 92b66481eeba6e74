import type { FobEvent } from '../../src/domain/fob/event.ts';

/** A canonical fob event for tests and benchmarks: an SOS from PS-0001 now, unless overridden. */
export function fobEvent(vendorEventId: string, overrides: Partial<FobEvent> = {}): FobEvent {
  const now = new Date().toISOString();
  return {
    deviceId: 'PS-0001',
    vendorEventId,
    type: 'sos',
    occurredAt: now,
    receivedAt: now,
    location: null,
    batteryPercent: null,
    message: null,
    voiceNoteUrl: null,
    ...overrides,
  };
}
