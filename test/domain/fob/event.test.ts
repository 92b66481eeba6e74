import { describe, expect, it } from 'vitest';
import { checkEvent } from '../../../src/domain/fob/event.ts';
import { assessFobEvent, contentHash, trustedCopyHash } from '../../../src/domain/fob/trust.ts';

const received = '2025-11-18T10:02:01.000Z';
const sos = {
  deviceId: 'PS-0001',
  vendorEventId: 'ev-1',
  type: 'sos',
  occurredAt: '2025-11-18T10:02:00Z',
  receivedAt: received,
  location: { lat: 53.81, lon: -1.57, accuracyM: 12, fixAt: null },
  batteryPercent: 82,
  message: 'help',
  voiceNoteUrl: null,
};
const checkIn = { ...sos, vendorEventId: 'ev-2', type: 'check_in' };

describe('checkEvent: text a database can keep', () => {
  it('removes NUL and replaces lone surrogates in every string, ids included', () => {
    const r = checkEvent({
      ...sos,
      deviceId: 'PS-\u00000001',
      vendorEventId: 'ev-\ud800-1',
      message: 'he\u0000lp \udc00',
    });
    expect(r).toMatchObject({
      ok: true,
      event: { deviceId: 'PS-0001', vendorEventId: 'ev-\ufffd-1', message: 'help \ufffd' },
    });
    expect(r.ok && r.unreadable).toBeFalsy();
    const all = JSON.stringify(r);
    expect(all).not.toMatch(/\\u0000|\\ud[89ab]/i);
    expect(all.isWellFormed()).toBe(true);
  });

  it('reads numeric device and event ids as text', () => {
    expect(checkEvent({ ...sos, deviceId: 42, vendorEventId: 1234567 })).toMatchObject({
      ok: true,
      event: { deviceId: '42', vendorEventId: '1234567' },
    });
  });
});

describe('checkEvent: an alarm is raised whatever else is wrong with it', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['battery as text', { batteryPercent: '82' }, 'batteryPercent'],
    ['battery over 100', { batteryPercent: 101 }, 'batteryPercent'],
    ['latitude as text', { location: { lat: '53.8', lon: -1.57, accuracyM: null, fixAt: null } }, 'location'],
    ['an empty location', { location: {} }, 'location'],
    ['a relative voice-note address', { voiceNoteUrl: '/notes/1.mp3' }, 'voiceNoteUrl'],
  ];
  for (const [what, change, field] of cases) {
    it(`${what}: raised without it, the field named`, () => {
      const r = checkEvent({ ...sos, ...change });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.event.type).toBe('sos');
      expect(r.event[field as 'location']).toBeNull();
      expect(r.unreadable?.map((u) => u.field)).toEqual([field]);
      // The readable rest is kept.
      expect(r.event.message).toBe('help');
    });
  }

  it('a position is kept without the part of its location that cannot be read', () => {
    const noAccuracy = checkEvent({
      ...sos,
      location: { lat: 53.8, lon: -1.57, accuracyM: -1, fixAt: null },
    });
    expect(noAccuracy).toMatchObject({
      ok: true,
      event: { location: { lat: 53.8, lon: -1.57, accuracyM: null, fixAt: null } },
      unreadable: [{ field: 'location.accuracyM' }],
    });
    const noFixTime = checkEvent({
      ...sos,
      location: { lat: 53.8, lon: 1, accuracyM: 5, fixAt: '2025-11-18T10:00' },
    });
    expect(noFixTime).toMatchObject({
      ok: true,
      event: { location: { lat: 53.8, lon: 1, accuracyM: 5, fixAt: null } },
      unreadable: [{ field: 'location.fixAt' }],
    });
  });

  it('a message cut inside an emoji is still text a database can store', () => {
    const r = checkEvent({ ...sos, message: `${'x'.repeat(1999)}🚨 help` });
    expect(r.ok && r.event.message?.isWellFormed()).toBe(true);
    expect(r.ok && r.event.message?.startsWith('x'.repeat(1999))).toBe(true);
  });

  it('without an event id or a readable time, each delivery gets an id of its own', () => {
    const one = checkEvent({ ...sos, vendorEventId: undefined, occurredAt: 'now' });
    const two = checkEvent({
      ...sos,
      vendorEventId: undefined,
      occurredAt: 'now',
      receivedAt: '2025-11-18T10:05:00.000Z',
    });
    expect(one.ok && two.ok && one.event.vendorEventId !== two.event.vendorEventId).toBe(true);
  });

  it('a payload nested thousands deep is read in bounded time (an alarm raised without the field)', () => {
    const deep = JSON.parse(`${'['.repeat(50_000)}1${']'.repeat(50_000)}`);
    expect(checkEvent({ ...sos, message: deep })).toMatchObject({
      ok: true,
      unreadable: [{ field: 'message' }],
    });
    expect(checkEvent({ ...checkIn, message: deep })).toMatchObject({
      ok: false,
      error: { field: 'message' },
    });
  });

  it('a message over its limit is cut, not dropped', () => {
    const r = checkEvent({ ...sos, message: 'x'.repeat(5000) });
    expect(r).toMatchObject({ ok: true, unreadable: [{ field: 'message', reason: /cut to 2000/ }] });
    expect(r.ok && r.event.message).toHaveLength(2000);
  });

  it('a time without a zone, or in epoch milliseconds: raised at the time received', () => {
    for (const occurredAt of ['2025-11-18T10:02:00', 1763460120000, undefined]) {
      const r = checkEvent({ ...sos, occurredAt });
      expect(r).toMatchObject({
        ok: true,
        event: { occurredAt: received },
        unreadable: [{ field: 'occurredAt' }],
      });
    }
  });

  it('tells a payload with no device time at all (absent, null, "now") from one whose time is there but unreadable', () => {
    const noTime = (occurredAt: unknown) => {
      const r = checkEvent({ ...sos, occurredAt });
      if (!r.ok) throw new Error('an SOS is raised');
      return r.unreadable?.find((u) => u.field === 'occurredAt')?.noDeviceTime === true;
    };
    for (const none of [undefined, null, 'now', '']) expect(noTime(none), String(none)).toBe(true);
    // A clock not set gives every press the same time (0, the epoch, a zero date): no time of its
    // own, whatever its form — and one that cannot be read even leniently is taken as none (a
    // redelivery later than its window pages twice; taken as the device's own, a new press under a
    // restarted counter would be lost).
    for (const unset of [
      0,
      '0',
      '0000-00-00 00:00:00',
      '1970-01-01T00:00:00',
      '2000-01-01 00:00',
      '18/11/2025 10:02',
    ])
      expect(noTime(unset), String(unset)).toBe(true);
    // The device's own time is in the bytes, near its receipt: a new press differs from the last
    // without help (no zone, epoch ms or seconds, a space for the T).
    for (const there of [
      '2025-11-18T10:02:00',
      '2025-11-18 09:58:30',
      1763460120000,
      1763460120,
      '1763460120',
    ])
      expect(noTime(there), String(there)).toBe(false);
  });

  it('an unusable event id is made from the content: a redelivery is the same id, other content another', () => {
    const a = checkEvent({ ...sos, vendorEventId: 'x'.repeat(300) });
    const again = checkEvent({ ...sos, vendorEventId: 'x'.repeat(300), receivedAt: '2025-11-18T10:05:00Z' });
    const other = checkEvent({ ...sos, vendorEventId: 'x'.repeat(300), message: 'other' });
    const missing = checkEvent({ ...sos, vendorEventId: undefined });
    expect(a.ok && again.ok && other.ok && missing.ok).toBe(true);
    if (!a.ok || !again.ok || !other.ok || !missing.ok) return;
    expect(a.event.vendorEventId).toMatch(/^unreadable-[\w-]{32}$/);
    expect(again.event.vendorEventId).toBe(a.event.vendorEventId);
    expect(other.event.vendorEventId).not.toBe(a.event.vendorEventId);
    expect(missing.unreadable?.map((u) => u.field)).toEqual(['vendorEventId']);
  });

  it('every alarm type, not only SOS', () => {
    for (const type of ['fall', 'duress', 'missed_check_in', 'timer_overrun'])
      expect(checkEvent({ ...sos, type, batteryPercent: 'low' })).toMatchObject({
        ok: true,
        event: { type },
      });
  });

  it('without a readable device it is raised for an unknown one; the transport’s, when it names one, takes its place', () => {
    const r = checkEvent({ ...sos, deviceId: { id: 1 } });
    expect(r).toMatchObject({
      ok: true,
      event: { deviceId: '(unreadable device)' },
      unreadable: [{ field: 'deviceId', reason: /raised for an unknown device/ }],
    });
    if (!r.ok) return;
    const settings = { deviceHasKey: false, requireSigned: false, maxClockSkewMs: 120_000 };
    expect(
      assessFobEvent(r.event, { deviceId: 'PS-0009', signature: 'absent' }, settings, r.unreadable),
    ).toMatchObject({
      verdict: 'accept',
      event: { deviceId: 'PS-0009' },
    });
    // Not a check-in.
    expect(checkEvent({ ...checkIn, deviceId: '' })).toMatchObject({
      ok: false,
      error: { field: 'deviceId' },
    });
  });

  it('an alarm with unreadable fields is untrusted, the fields named, and still accepted', () => {
    const r = checkEvent({ ...sos, batteryPercent: '82', occurredAt: 'yesterday' });
    if (!r.ok) throw new Error('refused');
    const a = assessFobEvent(
      r.event,
      { deviceId: 'PS-0001', signature: 'absent' },
      { deviceHasKey: false, requireSigned: false, maxClockSkewMs: 120_000 },
      r.unreadable,
    );
    expect(a.verdict).toBe('accept');
    expect(a.trustIssue).toMatch(/could not be read in full: batteryPercent \(.+\), occurredAt \(/);
  });
});

describe('checkEvent: anything else is refused whole', () => {
  it('a check-in with an unreadable field does not count', () => {
    expect(checkEvent({ ...checkIn, batteryPercent: '82' })).toMatchObject({
      ok: false,
      error: { field: 'batteryPercent' },
    });
    expect(checkEvent({ ...checkIn, occurredAt: '2025-11-18T10:02:00' })).toMatchObject({
      ok: false,
      error: { field: 'occurredAt' },
    });
  });

  it('an unknown type is refused', () => {
    expect(checkEvent({ ...sos, type: 'panic' })).toMatchObject({ ok: false, error: { field: 'type' } });
  });
});

describe('assessFobEvent: an alarm is raised at a time the office can believe', () => {
  const settings = { deviceHasKey: false, requireSigned: false, maxClockSkewMs: 120_000 };
  const facts = { deviceId: 'PS-0001', signature: 'absent' as const };
  const at = (occurredAt: string, type = 'sos') => {
    const r = checkEvent({ ...sos, type, occurredAt });
    if (!r.ok) throw new Error('refused');
    return assessFobEvent(r.event, facts, settings);
  };

  it('a device clock reset to 2000: raised at the time received, the device time kept as its skew', () => {
    const a = at('2000-01-01T00:00:00Z');
    expect(a.event.occurredAt).toBe(received);
    expect(a.clockSkewMs).toBe(Date.parse('2000-01-01T00:00:00Z') - Date.parse(received));
    expect(a.verdict).toBe('accept');
  });

  it('held back less than an hour (out of coverage): raised at its own time', () => {
    const a = at('2025-11-18T09:10:00Z');
    expect(a.event.occurredAt).toBe('2025-11-18T09:10:00Z');
    expect(a.clockSkewMs).toBeNull();
  });

  it('a check-in keeps its device time (the visit watcher decides what an old one is worth)', () => {
    const a = at('2000-01-01T00:00:00Z', 'check_in');
    expect(a.event.occurredAt).toBe('2000-01-01T00:00:00Z');
    expect(a.clockSkewMs).toBeNull();
  });
});

describe('assessFobEvent: a topic that names no device', () => {
  it('leaves the payload’s device unvouched for: an alarm raised flagged, anything else refused', () => {
    const settings = { deviceHasKey: false, requireSigned: false, maxClockSkewMs: 120_000 };
    const facts = { deviceId: null, deviceMissing: true, signature: 'absent' as const };
    const alarm = checkEvent(sos);
    const checkInEvent = checkEvent(checkIn);
    if (!alarm.ok || !checkInEvent.ok) throw new Error('refused');
    const a = assessFobEvent(alarm.event, facts, settings);
    expect(a).toMatchObject({
      verdict: 'accept',
      trustIssue: expect.stringMatching(/topic names no device/),
    });
    expect(assessFobEvent(checkInEvent.event, facts, settings).verdict).toBe('reject');
  });
});

describe('assessFobEvent: a topic whose device level cannot name a device', () => {
  const settings = { deviceHasKey: false, requireSigned: false, maxClockSkewMs: 120_000 };
  const alarm = checkEvent(sos);
  const checkInEvent = checkEvent(checkIn);
  if (!alarm.ok || !checkInEvent.ok) throw new Error('refused');

  it.each([
    ['empty', '', /device level is empty/],
    ['longer than a device id may be', 'x'.repeat(4000), /4000 characters long, over the 128/],
    ['with a control character', 'PS-0001\u0007', /characters no device id has/],
    ['with bytes that were not UTF-8', 'PS-\ufffd', /characters no device id has/],
    ['with a lone surrogate', 'PS-\ud800', /characters no device id has/],
  ])(
    '%s: the alarm is raised for the payload’s device, flagged (the level kept only hashed); a check-in refused',
    (_, level, why) => {
      const facts = { deviceId: level, signature: 'absent' as const };
      const a = assessFobEvent(alarm.event, facts, settings);
      expect(a.verdict).toBe('accept');
      expect(a.event.deviceId).toBe('PS-0001');
      expect(a.claimedDeviceId).toBeNull();
      expect(a.trustIssue).toMatch(/^the topic names no usable device \(/);
      expect(a.trustIssue).toMatch(why);
      expect(a.trustIssue).toMatch(/kept only as its SHA-256 [\w-]{16}\)$/);
      expect(a.trustIssue!.length).toBeLessThan(200);
      if (level.length > 0) expect(a.trustIssue).not.toContain(level);
      expect(assessFobEvent(checkInEvent.event, facts, settings).verdict).toBe('reject');
    },
  );

  it('the bound is the payload’s own: 128 characters name the device, 129 do not', () => {
    const fits = assessFobEvent(alarm.event, { deviceId: 'd'.repeat(128), signature: 'absent' }, settings);
    expect(fits.event.deviceId).toBe('d'.repeat(128));
    expect(fits.claimedDeviceId).toBe('PS-0001');
    const over = assessFobEvent(alarm.event, { deviceId: 'd'.repeat(129), signature: 'absent' }, settings);
    expect(over.event.deviceId).toBe('PS-0001');
    expect(over.trustIssue).toMatch(/129 characters long/);
  });
});

describe('contentHash: what an exact redelivery repeats', () => {
  const event = checkEvent(sos);
  if (!event.ok) throw new Error('the test event must be readable');
  const e = event.event;
  it('is the same whenever it was heard, and differs with what tells a redelivery apart', () => {
    const base = contentHash(e);
    expect(contentHash({ ...e, receivedAt: '2026-01-01T00:00:00.000Z' })).toBe(base);
    expect(contentHash(e, { tellApartBy: 'w1' })).toBe(contentHash(e, { tellApartBy: 'w1' }));
    expect(contentHash(e, { tellApartBy: 'w1' })).not.toBe(contentHash(e, { tellApartBy: 'w2' }));
  });
  it('a trusted copy raised anew (its unverified twin resolved) has its own identity, the same each time', () => {
    const base = contentHash(e);
    expect(trustedCopyHash(base)).toBe(trustedCopyHash(base));
    expect(trustedCopyHash(base)).not.toBe(base);
  });
});
