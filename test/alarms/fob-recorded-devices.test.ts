import { beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { departureCheck } from '../../src/visits/departure.ts';
import { fobsConfig, fobWorld } from '../helpers/fob-world.ts';
import { addUser } from '../helpers/web.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

/**
 * Where no visit out holds a device (the fob it left with), its presses count only for the visits
 * that recorded it when they left — the lead's devices then (`fob_device_ids`), the partner's
 * (`partner_fob_device_ids`) — never for a visit by the staff id the registry gives the device now:
 * a config change while a wearer was out must not let their presses check someone else in (that
 * person's missed check-in never raised) or tie their SOS to someone else's visit.
 */
describe('a lead who left with no fob (the one the config gave them was out with another visit)', () => {
  let now = new Date('2026-11-23T10:00:00Z');
  const w = fobWorld('fobnofob', BACKENDS[1]!.open, () => now);
  const before = fobsConfig('{ deviceId: FOB-1, staffId: st-ann }');
  const moved = fobsConfig('{ deviceId: FOB-1, staffId: st-bob }');

  it("Ann, back safe with FOB-1 still in her hand, never checks in Bob's visit nor ties her SOS to it", async () => {
    const annVisit = await w.out(before, w.ann, w.p1);
    expect((await getVisit(w.db, annVisit))!.fobDeviceId).toBe('FOB-1');
    now = new Date('2026-11-23T10:05:00Z');
    // FOB-1 is Bob's in the config now, but out with Ann: Bob leaves warned, with no fob.
    const bobVisit = await w.out(moved, w.bob, w.p1);
    expect((await getVisit(w.db, bobVisit))!.fobDeviceId).toBeNull();
    now = new Date('2026-11-23T10:10:00Z');
    await w.backSafe(annVisit, now);
    now = new Date('2026-11-23T10:20:00Z');
    await w.ingest(moved, 'ann-chk', 'FOB-1', 'check_in');
    const sos = await w.ingest(moved, 'ann-sos', 'FOB-1', 'sos');
    await w.watch(moved);
    expect({ checkIns: await w.fobCheckIns(bobVisit), sosVisit: await w.alarmVisit(sos) }).toEqual({
      checkIns: 0,
      sosVisit: null,
    });
  });
});

describe('a fob swapped in the config between a partner and another worker out', () => {
  let now = new Date('2026-11-23T11:00:00Z');
  const w = fobWorld('fobpartner', BACKENDS[1]!.open, () => now);
  let carl: User;
  // Ann partners Carl, wearing FOB-3; Bob leads his own visit with FOB-4.
  const before = fobsConfig(
    '{ deviceId: FOB-3, staffId: st-ann }, { deviceId: FOB-4, staffId: st-bob }, { deviceId: FOB-5, staffId: st-carl }',
  );
  const swapped = fobsConfig(
    '{ deviceId: FOB-4, staffId: st-ann }, { deviceId: FOB-3, staffId: st-bob }, { deviceId: FOB-5, staffId: st-carl }',
  );
  let carlVisit: string;
  let bobVisit: string;

  beforeAll(async () => {
    carl = await addUser(w.db, 'carl', ['visiting-staff'], { staffId: 'st-carl', phone: '+447700900444' });
    carlVisit = await w.out(before, carl, w.ann);
    bobVisit = await w.out(before, w.bob, w.p1);
  });

  it("the departure records the partner's registered devices", async () => {
    const { rows } = await w.db.query<{ ids: string[] }>(
      'SELECT partner_fob_device_ids AS ids FROM visits WHERE id = $1',
      [carlVisit],
    );
    expect(rows[0]!.ids).toEqual(['FOB-3']);
  });

  it("the partner's press on her own fob still checks the visit in, whatever the config now says", async () => {
    now = new Date('2026-11-23T11:05:00Z');
    await w.ingest(swapped, 'ann-chk', 'FOB-3', 'check_in');
    await w.watch(swapped);
    expect(await w.fobCheckIns(carlVisit)).toBe(1);
  });

  it('Bob, back safe with FOB-4 in his hand, never checks in the visit Ann partners', async () => {
    now = new Date('2026-11-23T11:10:00Z');
    await w.backSafe(bobVisit, now);
    now = new Date('2026-11-23T11:20:00Z');
    await w.ingest(swapped, 'bob-chk', 'FOB-4', 'check_in');
    const sos = await w.ingest(swapped, 'bob-sos', 'FOB-4', 'sos');
    await w.watch(swapped);
    expect({ checkIns: await w.fobCheckIns(carlVisit), sosVisit: await w.alarmVisit(sos) }).toEqual({
      checkIns: 1,
      sosVisit: null,
    });
  });

  it('a partner whose fob another visit out recorded is warned not to rely on it, and leaves without it recorded', async () => {
    // Ann (still out partnering Carl, FOB-3 recorded) partners Bob on a new visit: FOB-3 is not hers there.
    const id = await w.request(before, w.bob);
    const page = await departureCheck(w.vdeps(before), w.bob, id, {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
      partnerUserId: w.ann.id,
      risksRead: true,
    });
    expect(page.filter((f) => f.rule === 'fob-out')).toEqual([
      {
        level: 'warn',
        rule: 'fob-out',
        message:
          'the partner must not rely on fob FOB-3: it is recorded out with another visit, and its alarms and check-ins go to that visit; ask the office to record Back safe on that visit',
      },
    ]);
    await w.out(before, w.bob, w.ann, id);
    const { rows } = await w.db.query<{ lead: string[]; partner: string[] }>(
      'SELECT fob_device_ids AS lead, partner_fob_device_ids AS partner FROM visits WHERE id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ lead: ['FOB-4'], partner: [] });
  });
});

describe('a spare recorded out with one visit, given to another worker in the config', () => {
  let now = new Date('2026-11-23T10:00:00Z');
  const w = fobWorld('fobspare', BACKENDS[1]!.open, () => now);
  const before = fobsConfig('{ deviceId: FOB-1, staffId: st-ann }, { deviceId: FOB-9, staffId: st-ann }');
  const moved = fobsConfig('{ deviceId: FOB-1, staffId: st-ann }, { deviceId: FOB-9, staffId: st-bob }');

  it("is held: Bob leaves without it, and Ann's presses on it are her visit's, never his", async () => {
    const annVisit = await w.out(before, w.ann, w.p1);
    const { rows } = await w.db.query<{ ids: string[] }>(
      'SELECT fob_device_ids AS ids FROM visits WHERE id = $1',
      [annVisit],
    );
    expect(rows[0]!.ids).toEqual(['FOB-1', 'FOB-9']);
    now = new Date('2026-11-23T10:05:00Z');
    const bobVisit = await w.out(moved, w.bob, w.p1);
    now = new Date('2026-11-23T10:20:00Z');
    await w.ingest(moved, 'ann-spare-chk', 'FOB-9', 'check_in');
    await w.watch(moved);
    expect({
      bobFob: (await getVisit(w.db, bobVisit))!.fobDeviceId,
      bobCheckIns: await w.fobCheckIns(bobVisit),
      annCheckIns: await w.fobCheckIns(annVisit),
    }).toEqual({ bobFob: null, bobCheckIns: 0, annCheckIns: 1 });
  });
});
