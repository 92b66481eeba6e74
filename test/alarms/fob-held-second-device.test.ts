import { beforeAll, describe, expect, it } from 'vitest';
import { getVisit } from '../../src/store/visits.ts';
import { fobsConfig, fobWorld } from '../helpers/fob-world.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

/**
 * A worker with two registered devices (the config allows one staff id on several: a fob and a
 * spare, or an app) leaves with the first (a visit records only one, `visits.fob_device_id`). The
 * other device — held by no visit out — is still hers by its staff id: its check-ins count for her
 * visit (else a false missed check-in pages the ladder) and its SOS is tied to her visit.
 */
// Ann wears two registered devices (a fob and a spare / app): the config allows one staff id on several.
const two = fobsConfig('{ deviceId: FOB-1, staffId: st-ann }, { deviceId: FOB-2, staffId: st-ann }');
const after = fobsConfig('{ deviceId: FOB-1, staffId: st-bob }');

describe.each(BACKENDS)('a second registered device of a worker out, on $name', ({ open }) => {
  let now = new Date('2026-11-23T10:00:00Z');
  const w = fobWorld('fobtwo', open, () => now);
  let annVisit: string;

  beforeAll(async () => {
    annVisit = await w.out(two, w.ann, w.p1);
  });

  it("the fob the visit left with is held: its SOS is the wearer's, whoever the config now names", async () => {
    expect((await getVisit(w.db, annVisit))!.fobDeviceId).toBe('FOB-1');
    now = new Date('2026-11-23T10:10:00Z');
    const r = await w.ingest(after, 'held-1', 'FOB-1');
    expect(r).toMatchObject({ outcome: 'accepted', held: { visitId: annVisit } });
  });

  it("a check-in on the wearer's second registered device counts for her visit", async () => {
    now = new Date('2026-11-23T10:20:00Z');
    await w.ingest(two, 'chk-fob2', 'FOB-2', 'check_in');
    await w.watch(two);
    const { rows } = await w.db.query<{ last: Date | null }>(
      'SELECT last_check_in_at AS last FROM visits WHERE id = $1',
      [annVisit],
    );
    expect(rows[0]!.last).toEqual(now);
  });

  it("an SOS from the wearer's second registered device is tied to her visit", async () => {
    now = new Date('2026-11-23T10:30:00Z');
    const r = await w.ingest(two, 'sos-fob2', 'FOB-2');
    await w.watch(two);
    const { rows } = await w.db.query<{ visit_id: string | null; staff_id: string }>(
      'SELECT visit_id::text, staff_id FROM alarms WHERE id = $1',
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows[0]).toEqual({ visit_id: annVisit, staff_id: 'st-ann' });
  });
});
