import { describe, expect, it } from 'vitest';
import { raiseFobDrill } from '../../src/alarms/fob-drill.ts';
import { configWith } from '../helpers/config.ts';
import { raceBehindLock } from '../helpers/races.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

const school = configWith({ school: '    fobs: { devices: [{ deviceId: PS-RACE-1, staffId: staff-9 }] }' })
  .schools[0]!;
const q = storeAndQueue('drill_race');

describe('a fob drill', () => {
  it('asked for twice at the same moment is one open drill and one refusal', async () => {
    // A table lock that lets both drills read (neither sees an open drill) and holds their inserts:
    // without the device's drill lock both would then write, two open TEST alarms for one fob.
    const deps = { db: q.db, producer: q.producer, prefix: q.prefix };
    const drill = (second: number) =>
      raiseFobDrill(deps, school, 'PS-RACE-1', 'it:ada', new Date(Date.UTC(2026, 11, 3, 10, 0, second)));
    const results = await raceBehindLock(
      q.db,
      (tx) => tx.query('LOCK TABLE alarms IN SHARE MODE'),
      () => [drill(1), drill(2)],
      { like: ['%fob-drill%', '%raise_alarms%'] },
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason.message)).toMatch(
      /a TEST alarm for PS-RACE-1 is still open \(#\d+\): resolve it first/,
    );
    const { rows } = await q.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alarms WHERE device_id = 'PS-RACE-1' AND test AND status <> 'resolved'`,
    );
    expect(rows[0]!.n).toBe(1);
  });
});
