import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnitKeys } from '../../src/import/unit-keys.ts';

describe('UnitKeys (a repeated session noticed while a unit is read)', () => {
  it('tells a repeat from a first sighting, by pupil, date and session', () => {
    const keys = new UnitKeys(new Set([2024]));
    expect(keys.add('1001', '2024-09-02', 'AM')).toBe(false);
    expect(keys.add('1001', '2024-09-02', 'PM')).toBe(false);
    expect(keys.add('1002', '2024-09-02', 'AM')).toBe(false);
    expect(keys.add('1001', '2024-09-03', 'AM')).toBe(false);
    expect(keys.repeats).toBe(0);
    expect(keys.add('1001', '2024-09-02', 'AM')).toBe(true);
    expect(keys.repeats).toBe(1);
  });

  it('covers the whole of each accepted year and counts a date it cannot place as a repeat (the safe side)', () => {
    const keys = new UnitKeys(new Set([2023, 2024]));
    expect(keys.add('1', '2023-09-01', 'AM')).toBe(false);
    expect(keys.add('1', '2025-08-31', 'PM')).toBe(false);
    expect(keys.add('1', '2025-09-01', 'AM')).toBe(true);
    expect(keys.add('1', '2023-08-31', 'AM')).toBe(true);
    expect(keys.repeats).toBe(2);
  });

  it('stays bounded: past 100,000 pupils a new pupil counts as a repeat (the staged path, no memory here)', () => {
    const keys = new UnitKeys(new Set([2024]));
    for (let i = 0; i < 100_000; i++) keys.add(String(i), '2024-09-02', 'AM');
    expect(keys.repeats).toBe(0);
    expect(keys.add('one-more', '2024-09-02', 'AM')).toBe(true);
    expect(keys.add('5', '2024-09-02', 'PM')).toBe(false);
  });

  it('agrees with a set of strings on any sequence of keys', () => {
    const day = fc.integer({ min: 0, max: 364 }).map((d) => new Date(Date.UTC(2024, 8, 1) + d * 86_400_000));
    const key = fc.record({
      pupil: fc.constantFrom('1', '2', '10', '100', 'A-1'),
      date: day.map((d) => d.toISOString().slice(0, 10)),
      session: fc.constantFrom('AM' as const, 'PM' as const),
    });
    fc.assert(
      fc.property(fc.array(key, { maxLength: 300 }), (list) => {
        const keys = new UnitKeys(new Set([2024]));
        const seen = new Set<string>();
        for (const k of list) {
          const id = `${k.pupil}|${k.date}|${k.session}`;
          expect(keys.add(k.pupil, k.date, k.session)).toBe(seen.has(id));
          seen.add(id);
        }
        expect(keys.repeats).toBe(list.length - seen.size);
      }),
    );
  });
});
