import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { BACKENDS, insert, type TestStore } from './dp-fixtures.ts';

/**
 * Erasing a pupil strips not only the fob events of the visits' alarms and check-ins but every event
 * the visits' fobs sent while the workers were out — the lead's fob as the visit took it, and any
 * device the registry gives the lead's or the partner's staff id: a timer started with a voice note
 * naming the family, a cancelled timer, a check-out, a low battery, a drill, position reports. They
 * stay in the device's log (device, type, time) without position, payload, message or voice note.
 * Events outside the visit, other workers' and other schools', and an open alarm's, are untouched.
 */
const AT = (hhmm: string) => new Date(`2026-03-15T${hhmm}:00Z`);
const DEPARTED = AT('10:00');
const RETURNED = AT('11:00');
/** When the pupil is erased: a day after their visits were back safe (no longer to be undone). */
const ERASED_AT = new Date('2026-03-16T12:00:00Z');
const DOOR = { lat: 51.4321, lon: -0.9876 };

async function seed(db: Db) {
  const user = (username: string, staffId: string) =>
    insert(db, 'users', {
      username,
      display_name: username,
      password_hash: 'x',
      roles: ['visiting-staff'],
      schools: ['alpha'],
      staff_id: staffId,
    });
  const lead = await user('lena', 's-lead');
  const partner = await user('pat', 's-partner');
  await user('otto', 's-other');
  const visit = (pupil: string) =>
    insert(db, 'visits', {
      school_id: 'alpha',
      pupil_mis_id: pupil,
      reason: 'absence',
      address: { line1: '17 Marrowbone Lane', postcode: 'ZZ9 9QX' },
      planned_for: '2026-03-15',
      status: 'completed',
      requested_by: lead,
      lead_user_id: lead,
      partner_user_id: partner,
      fob_device_id: 'RD-1',
      partner_fob_device_ids: ['RD-4'],
      departed_at: DEPARTED,
      returned_at: RETURNED,
    });
  await insert(db, 'pupils', { school_id: 'alpha', mis_id: 'M1', surname: 'Quillfeather' });
  await visit('M1');
  // A sibling's visit on the same trip, its SOS alarm still open: its event is left whole.
  const sibling = await visit('M2');
  let n = 0;
  const event = (type: string, at: string, extra: Record<string, unknown> = {}) =>
    insert(db, 'fob_events', {
      school_id: 'alpha',
      device_id: 'RD-1',
      vendor_event_id: `v-${++n}`,
      type,
      occurred_at: AT(at),
      received_at: AT(at),
      staff_id: 's-lead',
      location: DOOR,
      transport: 'mqtt',
      profile: 'generic',
      raw: JSON.stringify({ type, lat: DOOR.lat, lon: DOOR.lon }),
      ...extra,
    });
  const stripped = {
    timerStarted: await event('timer_started', '10:05', {
      message: 'Quillfeather family, dog in the yard',
      voice_note_url: 'https://fob.invalid/voice/v-1.mp3',
    }),
    timerCancelled: await event('timer_cancelled', '10:30'),
    lowBattery: await event('low_battery', '10:40', { battery_percent: 9 }),
    drill: await event('test', '10:45'),
    checkOut: await event('check_out', '11:00'),
    // The partner's fob (not the one the visit took: found by their staff id).
    partnerLocation: await event('location', '10:20', { device_id: 'RD-2', staff_id: 's-partner' }),
    // A fob recorded as the partner's when the visit left, the registry giving it to someone else since.
    partnerRecorded: await event('location', '10:25', { device_id: 'RD-4', staff_id: 's-other' }),
  };
  const kept = {
    beforeDeparture: await event('location', '09:59'),
    afterReturn: await event('location', '11:01'),
    otherWorker: await event('location', '10:20', { device_id: 'RD-3', staff_id: 's-other' }),
    otherSchool: await event('location', '10:20', { school_id: 'beta' }),
    openAlarm: await event('sos', '10:50', { device_id: 'RD-2', staff_id: 's-partner', message: 'help' }),
  };
  await insert(db, 'alarms', {
    school_id: 'alpha',
    visit_id: sibling,
    fob_event_id: kept.openAlarm,
    device_id: 'RD-2',
    staff_id: 's-partner',
    unknown_device: false,
    type: 'sos',
    status: 'open',
    raised_at: AT('10:50'),
    policy: {},
  });
  return { stripped, kept };
}

describe.each(BACKENDS)("erasing a pupil strips their visits' fob events on $name", ({ open }) => {
  let store: TestStore;
  let ids: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    store = await open();
    ids = await seed(store.db);
    await erasePupilAudited(store.db, 'alpha', 'M1', 'user:1', ERASED_AT);
  });
  afterAll(async () => store.close());

  const read = async (id: string) =>
    (
      await store.db.query<Record<string, unknown>>(
        'SELECT type, device_id, received_at, location, raw, message, voice_note_url FROM fob_events WHERE id = $1',
        [id],
      )
    ).rows[0]!;

  it("strips every event of the visit's fobs while the workers were out, keeping device, type and time", async () => {
    for (const [what, id] of Object.entries(ids.stripped)) {
      const e = await read(id);
      expect({ what, location: e.location, raw: e.raw, message: e.message, voice: e.voice_note_url }).toEqual(
        {
          what,
          location: null,
          raw: '',
          message: null,
          voice: null,
        },
      );
      expect(e.device_id).toMatch(/^RD-[124]$/);
      expect(e.received_at).not.toBeNull();
    }
  });

  it("leaves events outside the visit, other workers' and schools', and an open alarm's", async () => {
    for (const [what, id] of Object.entries(ids.kept)) {
      const e = await read(id);
      expect({ what, location: e.location, raw: e.raw === '' ? '' : 'kept' }).toEqual({
        what,
        location: DOOR,
        raw: 'kept',
      });
    }
    expect((await read(ids.kept.openAlarm)).message).toBe('help');
  });
});

describe.each(BACKENDS)(
  "erasing a pupil leaves another pupil's visit on the same round whole, on $name",
  ({ open }) => {
    let store: TestStore;
    const DOOR_B = { lat: 52.1, lon: -1.2 };
    let incidentEvent: string;
    let checkInEvent: string;
    beforeAll(async () => {
      store = await open();
      const db = store.db;
      const lead = await insert(db, 'users', {
        username: 'lena',
        display_name: 'lena',
        password_hash: 'x',
        roles: ['visiting-staff'],
        schools: ['alpha'],
        staff_id: 's-lead',
      });
      const visit = (pupil: string, departed: string, returned: string, address: string) =>
        insert(db, 'visits', {
          school_id: 'alpha',
          pupil_mis_id: pupil,
          reason: 'absence',
          address: { line1: address, postcode: 'ZZ9 9QX' },
          planned_for: '2026-03-15',
          status: 'completed',
          requested_by: lead,
          lead_user_id: lead,
          fob_device_id: 'RD-1',
          departed_at: AT(departed),
          returned_at: AT(returned),
        });
      await insert(db, 'pupils', { school_id: 'alpha', mis_id: 'M1', surname: 'Quillfeather' });
      await insert(db, 'pupils', { school_id: 'alpha', mis_id: 'M9', surname: 'Other' });
      // M1's visit: back safe recorded only at the end of the round (12:00).
      await visit('M1', '10:00', '12:00', '17 Marrowbone Lane');
      // Another family's visit on the same round: an incident there, resolved, and a check-in.
      const other = await visit('M9', '10:30', '11:30', '4 Elsewhere Road');
      incidentEvent = await insert(db, 'fob_events', {
        school_id: 'alpha',
        device_id: 'RD-1',
        vendor_event_id: 'v-incident',
        type: 'sos',
        occurred_at: AT('11:00'),
        received_at: AT('11:00'),
        staff_id: 's-lead',
        location: DOOR_B,
        transport: 'mqtt',
        profile: 'generic',
        raw: JSON.stringify({ type: 'sos', lat: DOOR_B.lat }),
        message: 'man with a knife at number 4',
        voice_note_url: 'https://fob.invalid/voice/v-incident.mp3',
      });
      await insert(db, 'alarms', {
        school_id: 'alpha',
        visit_id: other,
        fob_event_id: incidentEvent,
        device_id: 'RD-1',
        staff_id: 's-lead',
        unknown_device: false,
        type: 'sos',
        status: 'resolved',
        resolution_reason: 'incident_with_dispatch',
        raised_at: AT('11:00'),
        policy: {},
      });
      checkInEvent = await insert(db, 'fob_events', {
        school_id: 'alpha',
        device_id: 'RD-1',
        vendor_event_id: 'v-checkin',
        type: 'check_in',
        occurred_at: AT('10:50'),
        received_at: AT('10:50'),
        staff_id: 's-lead',
        location: DOOR_B,
        transport: 'mqtt',
        profile: 'generic',
        raw: JSON.stringify({ type: 'check_in', lat: DOOR_B.lat }),
      });
      await insert(db, 'visit_check_ins', {
        visit_id: other,
        at: AT('10:50'),
        source: 'fob',
        fob_event_id: checkInEvent,
      });
      await erasePupilAudited(db, 'alpha', 'M1', 'user:1', ERASED_AT);
    });
    afterAll(async () => store.close());

    it("keeps the other family's incident and check-in whole: position, payload, message, voice note", async () => {
      const { rows } = await store.db.query<Record<string, unknown>>(
        `SELECT id, location, message, voice_note_url, raw <> '' AS raw FROM fob_events WHERE id = ANY($1::bigint[]) ORDER BY id`,
        [[incidentEvent, checkInEvent]],
      );
      expect(rows.map((r) => ({ ...r, id: String(r.id) }))).toEqual([
        {
          id: incidentEvent,
          location: DOOR_B,
          message: 'man with a knife at number 4',
          voice_note_url: 'https://fob.invalid/voice/v-incident.mp3',
          raw: true,
        },
        { id: checkInEvent, location: DOOR_B, message: null, voice_note_url: null, raw: true },
      ]);
    });
  },
);
