import { beforeAll, describe, expect, it } from 'vitest';
import { getVisit } from '../../src/store/visits.ts';
import { departureCheck } from '../../src/visits/departure.ts';
import { fobsConfig, fobWorld } from '../helpers/fob-world.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

// Ann leaves with FOB-1, Bob with FOB-2. The config then swaps them (FOB-1 -> Bob, FOB-2 -> Ann) while
// both are out. Bob comes back safe, still holding FOB-2 (he has it in his hand). Ann is still out.
const before = fobsConfig('{ deviceId: FOB-1, staffId: st-ann }, { deviceId: FOB-2, staffId: st-bob }');
const swapped = fobsConfig('{ deviceId: FOB-1, staffId: st-bob }, { deviceId: FOB-2, staffId: st-ann }');

describe('a fob swap in the config while both wearers are out', () => {
  let now = new Date('2026-11-23T10:00:00Z');
  const w = fobWorld('fobswap', BACKENDS[1]!.open, () => now);
  let annVisit: string;
  let bobVisit: string;

  beforeAll(async () => {
    annVisit = await w.out(before, w.ann, w.p1);
    bobVisit = await w.out(before, w.bob, w.p1);
  });

  it("Bob's presses on the fob in his hand never check Ann in, nor tie his SOS to Ann's visit", async () => {
    expect((await getVisit(w.db, annVisit))!.fobDeviceId).toBe('FOB-1');
    expect((await getVisit(w.db, bobVisit))!.fobDeviceId).toBe('FOB-2');
    now = new Date('2026-11-23T10:10:00Z');
    await w.backSafe(bobVisit, now);
    now = new Date('2026-11-23T10:20:00Z');
    // Bob (back, still holding FOB-2) presses check-in on it.
    await w.ingest(swapped, 'bob-chk', 'FOB-2', 'check_in');
    await w.watch(swapped);
    const { rows } = await w.db.query<{ last: Date | null }>(
      'SELECT last_check_in_at AS last FROM visits WHERE id = $1',
      [annVisit],
    );
    // Ann's visit must not be credited by a press of a fob she never left with.
    expect(await w.fobCheckIns(annVisit)).toBe(0);
    expect(rows[0]!.last).not.toEqual(now);
  });

  it("Bob's SOS on FOB-2 is not tied to Ann's visit (her address on the card)", async () => {
    now = new Date('2026-11-23T10:30:00Z');
    const r = await w.ingest(swapped, 'bob-sos', 'FOB-2');
    await w.watch(swapped);
    const { rows } = await w.db.query<{ visit_id: string | null; staff_id: string }>(
      'SELECT visit_id::text, staff_id FROM alarms WHERE id = $1',
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows[0]!.visit_id).not.toBe(annVisit);
  });

  it('a worker whose first registered fob is out with another visit leaves with the next one no visit holds, told not to rely on the first', async () => {
    // Bob is back; the registry now gives him FOB-1 (still out with Ann) and FOB-3.
    const bobs = fobsConfig(
      '{ deviceId: FOB-1, staffId: st-bob }, { deviceId: FOB-3, staffId: st-bob }, { deviceId: FOB-2, staffId: st-ann }',
    );
    const id = await w.request(bobs, w.bob);
    const page = await departureCheck(w.vdeps(bobs), w.bob, id, {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
      partnerUserId: w.p1.id,
      risksRead: true,
    });
    expect(page.filter((f) => f.rule === 'fob-out' || f.rule === 'fob')).toEqual([
      {
        level: 'warn',
        rule: 'fob-out',
        message:
          'leaving with fob FOB-3 — do not rely on fob FOB-1: it is recorded out with another visit, and its alarms and check-ins go to that visit; ask the office to record Back safe on that visit',
      },
    ]);
    await w.out(bobs, w.bob, w.p1, id);
    expect((await getVisit(w.db, id))!.fobDeviceId).toBe('FOB-3');
    const { rows } = await w.db.query<{ ids: string[] }>(
      'SELECT fob_device_ids AS ids FROM visits WHERE id = $1',
      [id],
    );
    expect(rows[0]!.ids).toEqual(['FOB-3']);
  });
});
