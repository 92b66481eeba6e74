import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import type { FobEvent } from '../../src/domain/fob/event.ts';
import type { IngestWrite } from '../../src/store/alarms.ts';

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

/** An accepted alarm's durable write for `event` (school alpha, staff st-1, the default ladder). */
export function alarmWrite(event: FobEvent, overrides: Partial<IngestWrite> = {}): IngestWrite {
  return {
    schoolId: 'alpha',
    event,
    staffId: 'st-1',
    transport: 'mqtt',
    profile: 'generic',
    raw: '{}',
    contentHash: `h-${event.vendorEventId}`,
    claimedDeviceId: null,
    trustIssue: null,
    clockSkewMs: 0,
    isAlarm: true,
    boardPayload: { type: event.type, deviceId: event.deviceId },
    policy: DEFAULT_ALARM_POLICY,
    ...overrides,
  };
}
