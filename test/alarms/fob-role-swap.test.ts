import { describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { getVisit } from '../../src/store/visits.ts';
import { departVisit } from '../../src/visits/departure.ts';
import { fobsConfig, fobWorld } from '../helpers/fob-world.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

// Ann leads A with Bob as partner; A not back safe yet (a round, back safe at its end); Bob then leads
// B with Ann as partner. Nothing in the config changed: each wears their own fob.
describe('two workers swapping roles between visits, A still out', () => {
  let now = new Date('2026-11-23T10:00:00Z');
  const w = fobWorld('fobroleswap', BACKENDS[1]!.open, () => now);
  const cfg = fobsConfig('{ deviceId: FOB-A, staffId: st-ann }, { deviceId: FOB-B, staffId: st-bob }');

  it("Bob's own fob checks in the visit he leads, and his SOS is tied to it", async () => {
    const a = await w.out(cfg, w.ann, w.bob);
    now = new Date('2026-11-23T10:30:00Z');
    const b = await w.out(cfg, w.bob, w.ann);
    now = new Date('2026-11-23T10:40:00Z');
    await w.ingest(cfg, 'bob-chk', 'FOB-B', 'check_in');
    const sos = await w.ingest(cfg, 'bob-sos', 'FOB-B', 'sos');
    await w.watch(cfg);
    expect({
      bFob: (await getVisit(w.db, b))!.fobDeviceId,
      bCheckIns: await w.fobCheckIns(b),
      aCheckIns: await w.fobCheckIns(a),
      sosVisit: await w.alarmVisit(sos),
    }).toEqual({ bFob: 'FOB-B', bCheckIns: 1, aCheckIns: 0, sosVisit: b });
  });

  it('at a school whose policy requires a fob, Bob may still leave leading B with his own fob', async () => {
    const base = visitRulesLookup(cfg);
    const deps = {
      ...w.vdeps(cfg),
      rulesFor: (id: string) => {
        const r = base(id);
        return { ...r, requires: { ...r.requires, fob: true } };
      },
    };
    // Fresh pair of visits: Ann leads A2 with Bob, then Bob leads B2 with Ann.
    now = new Date('2026-11-23T12:00:00Z');
    await w.db.query(`UPDATE visits SET returned_at = $1, status = 'returned' WHERE returned_at IS NULL`, [
      now,
    ]);
    await w.out(cfg, w.ann, w.bob);
    const b2 = await w.request(cfg, w.bob);
    await w.db.query(`UPDATE visits SET family_notice = $2 WHERE id = $1`, [
      b2,
      JSON.stringify({ method: 'letter', exemption: null, note: null, at: now.toISOString(), by: w.bob.id }),
    ]);
    let err: unknown = null;
    try {
      await departVisit(deps, w.bob, b2, {
        expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
        partnerUserId: w.ann.id,
        risksRead: true,
        identification: true,
      });
    } catch (e) {
      err = e;
    }
    expect(err && (err as Error).message).toBeNull();
  });

  it("a trip's second visit (the same lead and partner, a brother or sister at the address) records the partner's fob too", async () => {
    now = new Date('2026-11-23T14:00:00Z');
    await w.db.query(`UPDATE visits SET returned_at = $1, status = 'returned' WHERE returned_at IS NULL`, [
      now,
    ]);
    const first = await w.out(cfg, w.ann, w.bob);
    const second = await w.out(cfg, w.ann, w.bob);
    const { rows } = await w.db.query<{ id: string; partner: string[] }>(
      'SELECT id::text, partner_fob_device_ids AS partner FROM visits WHERE id = ANY($1::bigint[]) ORDER BY id',
      [[first, second]],
    );
    expect(rows.map((r) => r.partner)).toEqual([['FOB-B'], ['FOB-B']]);
  });
});
