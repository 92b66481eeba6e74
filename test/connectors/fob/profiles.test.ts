import { describe, expect, it } from 'vitest';
import { BlacklineProfile, blacklineReply } from '../../../connectors/fob/profiles/blackline.ts';
import { GenericProfile, pointer } from '../../../connectors/fob/profiles/generic.ts';
import { PeoplesafeStyleProfile } from '../../../connectors/fob/profiles/peoplesafe-style.ts';
import type { FobProfile } from '../../../connectors/fob/types.ts';
import { blacklinePush } from '../../helpers/blackline.ts';

const meta = { receivedAt: new Date('2025-11-18T10:02:01Z') };
const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

/** The FobProfile contract: a valid vendor payload becomes a canonical SOS; junk names its field. */
const cases: { profile: FobProfile; sos: unknown; badType: unknown }[] = [
  {
    profile: new PeoplesafeStyleProfile(),
    sos: {
      event_id: 'ps-1',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2025-11-18T10:02:00Z',
      location: { lat: 53.81, lon: -1.57, accuracy_m: 12, fix_at: '2025-11-18T10:01:55Z' },
      battery: 82,
    },
    badType: {
      event_id: 'ps-2',
      device: { id: 'PS-0001' },
      type: 'PANIC',
      occurred_at: '2025-11-18T10:02:00Z',
    },
  },
  {
    profile: new BlacklineProfile(),
    sos: {
      id: 991,
      status: 'unacknowledged',
      type: 'emergency_alert',
      date_created: '2025-11-18T10:02:00Z',
      escalation_protocol: 'school',
      contacts: [{ device_id: 'BL-77' }],
      location: {
        latitude: 53.81,
        longitude: -1.57,
        uncertainty: 12,
        position_date_utc: '2025-11-18T10:01:55Z',
      },
    },
    badType: { id: 992, type: 'gas_detected', date_created: '2025-11-18T10:02:00Z', contacts: [] },
  },
  {
    profile: new GenericProfile({
      fields: {
        deviceId: '/dev/serial',
        vendorEventId: '/uid',
        type: '/kind',
        occurredAt: '/ts',
        lat: '/pos/0',
        lon: '/pos/1',
      },
      types: { PANIC: 'sos' },
    }),
    sos: {
      uid: 'g-1',
      dev: { serial: 'G-1' },
      kind: 'PANIC',
      ts: '2025-11-18T10:02:00Z',
      pos: [53.81, -1.57],
    },
    badType: { uid: 'g-2', dev: { serial: 'G-1' }, kind: 'WAVE', ts: '2025-11-18T10:02:00Z' },
  },
];

describe.each(cases)('FobProfile contract: $profile.name', ({ profile, sos, badType }) => {
  it('maps a vendor SOS onto the canonical event', () => {
    const r = profile.decode(buf(sos), meta);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).toMatchObject({
      type: 'sos',
      occurredAt: '2025-11-18T10:02:00Z',
      receivedAt: '2025-11-18T10:02:01.000Z',
    });
    expect(r.event.deviceId).toMatch(/\S/);
    expect(r.event.vendorEventId).toMatch(/\S/);
    expect(r.event.location).toMatchObject({ lat: 53.81, lon: -1.57 });
  });

  it('raises an unknown type as an SOS, flagged; names the failing field for bad JSON; raises an SOS without its time', () => {
    // When in doubt on the alarm path, raise it: a vendor's new alert kind is never dropped.
    expect(profile.decode(buf(badType), meta)).toMatchObject({
      ok: true,
      event: { type: 'sos' },
      unreadable: expect.arrayContaining([
        {
          field: 'type',
          reason: expect.stringMatching(/^unknown type "(gas_detected|WAVE|PANIC)"; raised as an SOS$/),
        },
      ]),
    });
    expect(profile.decode(buf('{"oops'), meta)).toEqual({
      ok: false,
      error: { field: '(body)', reason: 'the body is not JSON' },
    });
    const missing = { ...(sos as Record<string, unknown>) };
    delete missing[
      profile.name === 'blackline' ? 'date_created' : profile.name === 'generic' ? 'ts' : 'occurred_at'
    ];
    // An SOS is never refused for its time: it is raised at the time received, the field named.
    const m = profile.decode(buf(missing), meta);
    expect(m).toMatchObject({
      ok: true,
      event: { type: 'sos', occurredAt: meta.receivedAt.toISOString() },
      unreadable: [{ field: 'occurredAt' }],
    });
  });
});

describe('every profile, a body nested thousands deep', () => {
  const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
  const bodies: [FobProfile, string][] = [
    [new PeoplesafeStyleProfile(), `{"event_id":"x","device":{"id":"PS-1"},"type":${deep}}`],
    [new BlacklineProfile(), `{"id":${deep},"type":"emergency_alert","device":{"id":"B-1"}}`],
    [
      new GenericProfile({
        fields: { deviceId: '/d', vendorEventId: '/id', type: '/t', occurredAt: '/ts' },
        types: { SOS: 'sos' },
      }),
      `{"d":${deep},"id":"x","t":"SOS"}`,
    ],
  ];
  for (const [profile, body] of bodies)
    it(`${profile.name}: refused naming the body, never thrown`, () => {
      expect(profile.decode(Buffer.from(body), meta)).toEqual({
        ok: false,
        error: { field: '(body)', reason: 'the body is nested deeper than 32 levels' },
      });
    });
});

describe('every profile, values of a shape no vendor sends (a fuzzer, or an attacker)', () => {
  // `{"toString": 0}` is an object whose String() throws; `constructor` and `__proto__` are keys every
  // object has by inheritance. None may throw (over MQTT a throw holds the session's queue) or name a type.
  const odd: unknown[] = [{ toString: 0 }, 'constructor', '__proto__', 'toString', ['SOS'], { SOS: 1 }, true];
  const generic = new GenericProfile({
    fields: { deviceId: '/d', vendorEventId: '/id', type: '/t', occurredAt: '/ts' },
    types: { SOS: 'sos' },
  });
  const typed: [FobProfile, (type: unknown) => unknown][] = [
    [new PeoplesafeStyleProfile(), (type) => ({ event_id: 'x', device: { id: 'PS-1' }, type })],
    [new BlacklineProfile(), (type) => ({ id: 'x', type, device: { id: 'B-1' } })],
    [generic, (t) => ({ d: 'G-1', id: 'x', t })],
  ];
  for (const [profile, body] of typed)
    it(`${profile.name}: a type that is no vendor's type is raised as an SOS, flagged, never thrown`, () => {
      for (const type of odd) {
        const r = profile.decode(buf(body(type)), meta);
        expect(r).toMatchObject({
          ok: true,
          event: { type: 'sos' },
          unreadable: expect.arrayContaining([
            { field: 'type', reason: expect.stringMatching(/^unknown type .*; raised as an SOS$/) },
          ]),
        });
      }
    });

  const alarmTypes: [FobProfile, (type: unknown) => unknown, string[]][] = [
    [
      new PeoplesafeStyleProfile(),
      (type) => ({ event_id: 'x', device: { id: 'PS-1' }, type }),
      ['sos', ' Sos '],
    ],
    [
      new BlacklineProfile(),
      (type) => ({ id: 'x', type, device: { id: 'B-1' } }),
      ['EMERGENCY_ALERT', 'Emergency_Alert'],
    ],
    [generic, (t) => ({ d: 'G-1', id: 'x', t }), ['sos', 'Sos']],
  ];
  for (const [profile, body, spellings] of alarmTypes)
    it(`${profile.name}: an alarm type in another case is the alarm, not an unknown type`, () => {
      for (const type of spellings)
        expect(profile.decode(buf(body(type)), meta)).toMatchObject({ ok: true, event: { type: 'sos' } });
    });

  const ids: [FobProfile, (id: unknown) => unknown][] = [
    [new BlacklineProfile(), (id) => ({ id, type: 'emergency_alert', device: { id: id ?? 'B-1' } })],
    [generic, (id) => ({ d: id, id, t: 'SOS' })],
  ];
  for (const [profile, body] of ids)
    it(`${profile.name}: an SOS whose id and device are such values is raised, flagged, never thrown`, () => {
      for (const id of [{ toString: 0 }, ['a'], { a: 1 }, true, 1.5] as unknown[]) {
        const r = profile.decode(buf(body(id)), meta);
        expect(r).toMatchObject({ ok: true, event: { type: 'sos', vendorEventId: expect.any(String) } });
        const unreadable = r.ok ? (r.unreadable ?? []).map((u) => u.field) : [];
        expect(unreadable).toContain('vendorEventId');
      }
      // A number is still its digits, as vendors send it.
      expect(profile.decode(buf(body(991)), meta)).toMatchObject({
        ok: true,
        event: { vendorEventId: '991' },
      });
    });

  it('an unknown type is shown cut short where it is named, not whole', () => {
    const r = new PeoplesafeStyleProfile().decode(buf({ event_id: 'x', type: 'P'.repeat(10_000) }), meta);
    expect(r.ok && r.unreadable?.[0]?.reason.length).toBeLessThan(120);
  });

  it('generic: a type the school lists as no alarm (notAlarms) is refused quietly; two unknown types under one id differ', () => {
    const g = new GenericProfile({
      fields: { deviceId: '/d', vendorEventId: '/id', type: '/t', occurredAt: '/ts' },
      types: { SOS: 'sos' },
      notAlarms: ['POSITION', 'heartbeat'],
    });
    // A map and nothing else (as a school first writes it): a vendor's alert kind the map does not
    // name, or an event with no type at all, is raised as an SOS naming what came — never refused.
    const mapOnly = new GenericProfile({
      fields: { deviceId: '/d', vendorEventId: '/id', type: '/t', occurredAt: '/ts' },
      types: { SOS: 'sos' },
    });
    const ts = '2025-11-18T10:02:00Z';
    expect(mapOnly.decode(buf({ d: 'G-1', id: 'x', t: 'GAS_HIGH', ts }), meta)).toMatchObject({
      ok: true,
      event: { type: 'sos', deviceId: 'G-1' },
      unreadable: [{ field: 'type', reason: 'unknown type "GAS_HIGH"; raised as an SOS' }],
    });
    expect(mapOnly.decode(buf({ d: 'G-1', id: 'y', ts }), meta)).toMatchObject({
      ok: true,
      event: { type: 'sos' },
      unreadable: [{ field: 'type', reason: 'no type given; raised as an SOS' }],
    });
    // The explicit opt-out refuses a named unmapped type (kept on the data page); an event with no
    // type, or one that is no text, is raised all the same.
    const optedOut = new GenericProfile({
      fields: { deviceId: '/d', vendorEventId: '/id', type: '/t', occurredAt: '/ts' },
      types: { SOS: 'sos' },
      unmappedTypes: 'refuse',
    });
    expect(optedOut.decode(buf({ d: 'G-1', id: 'x', t: 'GAS' }), meta)).toEqual({
      ok: false,
      error: { field: '/t', reason: 'unknown event type "GAS"' },
    });
    for (const body of [
      { d: 'G-1', id: 'y' },
      { d: 'G-1', id: 'z', t: { kind: 'SOS' } },
    ])
      expect(optedOut.decode(buf(body), meta)).toMatchObject({ ok: true, event: { type: 'sos' } });
    // Doorstep's own type names need no map, in any case: a gateway sending "SOS" or "Fall" is heard.
    for (const [t, type] of [
      ['sos', 'sos'],
      ['SOS', 'sos'],
      ['Fall', 'fall'],
    ] as const)
      expect(
        new GenericProfile({
          fields: { deviceId: '/d', vendorEventId: '/id', type: '/t', occurredAt: '/ts' },
          types: {},
        }).decode(buf({ d: 'G-1', id: 'x', t }), meta),
      ).toMatchObject({
        ok: true,
        event: { type },
      });
    for (const t of ['POSITION', 'Heartbeat'])
      expect(g.decode(buf({ d: 'G-1', id: 'x', t }), meta)).toMatchObject({
        ok: false,
        error: { field: '/t', reason: expect.stringContaining('is not an alarm') },
      });
    const a = g.decode(buf({ d: 'G-1', id: 'x', t: 'GAS' }), meta);
    const b = g.decode(buf({ d: 'G-1', id: 'x', t: 'SMOKE' }), meta);
    expect(a.ok && b.ok && a.said !== b.said).toBe(true);
  });
});

describe('Blackline push as published (https://push.blacklinesafety.com)', () => {
  // The published example: wrapped in "alert", dates UTC as YYYY-MM-DD hh:mm:ss.
  const push = (type: string, id: number, more: Record<string, unknown> = {}) =>
    Buffer.from(blacklinePush(id, type, more));
  const at = { receivedAt: new Date('2025-11-18T10:02:05Z') };

  it('reads the alert inside "alert", its UTC time as such, and each type as its own event (a logon is no SOS)', () => {
    const bl = new BlacklineProfile();
    expect(bl.decode(push('emergency_alert', 24456, { device_id: 'BL-9' }), at)).toMatchObject({
      ok: true,
      event: {
        type: 'sos',
        vendorEventId: '24456',
        deviceId: 'BL-9',
        occurredAt: '2025-11-18T10:02:00Z',
      },
    });
    expect(bl.decode(push('logon', 24457, { device_id: 'BL-9' }), at)).toMatchObject({
      ok: true,
      event: { type: 'check_in', occurredAt: '2025-11-18T10:02:00Z' },
    });
    expect(bl.decode(push('low_battery', 24458, { device_id: 'BL-9' }), at)).toMatchObject({
      ok: true,
      event: { type: 'low_battery' },
    });
    // No device in the push: raised for an unknown device, each alert under its own id.
    const a = bl.decode(push('emergency_alert', 24459), at);
    const b = bl.decode(push('emergency_alert', 24460), at);
    expect(a.ok && b.ok && a.event.vendorEventId !== b.event.vendorEventId).toBe(true);
  });
});

describe('profile details', () => {
  it('Blackline replies with the MD5 hex of the raw body', () => {
    expect(blacklineReply(Buffer.from('{"id":1}'))).toBe('d2ce28b9a7fd7e4407e2b0fd499b7fe4');
  });

  it('JSON pointers follow RFC 6901 escapes', () => {
    expect(pointer({ 'a/b': { '~c': 1 } }, '/a~1b/~0c')).toBe(1);
    expect(pointer({ a: [5, 6] }, '/a/1')).toBe(6);
    expect(pointer({ a: 1 }, '/b/c')).toBeUndefined();
  });
});
