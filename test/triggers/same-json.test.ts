import { describe, expect, it } from 'vitest';
import { sameJson, stableJson } from '../../src/triggers/same-json.ts';
import { rng } from '../helpers/rng.ts';

const cases: [unknown, unknown][] = [
  [
    { a: 1, b: [1, 2] },
    { b: [1, 2], a: 1 },
  ],
  [{ a: 1 }, { a: 1, b: undefined }],
  [{ a: 1, f: () => 1 }, { a: 1 }],
  [[undefined], [null]],
  [[() => 1], [null]],
  [{ a: Number.NaN }, { a: null }],
  [{ a: Number.POSITIVE_INFINITY }, { a: null }],
  [{ a: -0 }, { a: 0 }],
  [{ a: 1 }, { a: '1' }],
  [{}, []],
  [{ a: {} }, { a: [] }],
  [{ d: new Date('2025-01-01T00:00:00Z') }, { d: '2025-01-01T00:00:00.000Z' }],
  [{ a: [1, { c: 2, b: 3 }] }, { a: [1, { b: 3, c: 2 }] }],
  [{ a: [1, { c: 2, b: 3 }] }, { a: [1, { b: 3, c: 4 }] }],
  [{ a: 1 }, { a: 1, b: null }],
  [null, {}],
  [undefined, null],
  ['x', 'x'],
  [true, false],
  [
    { sessions: [{ date: '2025-01-02', session: 'AM', code: 'N' }], count: 1 },
    { count: 1, sessions: [{ code: 'N', session: 'AM', date: '2025-01-02' }] },
  ],
];

describe('sameJson', () => {
  it('says what comparing the stable JSON says', () => {
    for (const [a, b] of cases) {
      expect(sameJson(a, b), `${stableJson(a)} vs ${stableJson(b)}`).toBe(stableJson(a) === stableJson(b));
      expect(sameJson(b, a)).toBe(stableJson(a) === stableJson(b));
    }
  });

  it('agrees with it on random evidence-like values', () => {
    const random = rng(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 2 || r < 0.4) return pick([0, 1, 0.5, 'a', 'b', '', true, null, undefined]);
      if (r < 0.7) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (const k of ['from', 'to', 'count', 'days']) if (random() < 0.5) o[k] = value(depth + 1);
      return o;
    };
    let equal = 0;
    for (let i = 0; i < 5000; i++) {
      const a = value(0);
      const b = random() < 0.5 ? JSON.parse(JSON.stringify(a) ?? 'null') : value(0);
      const same = stableJson(a) === stableJson(b);
      if (same) equal++;
      expect(sameJson(a, b)).toBe(same);
    }
    expect(equal).toBeGreaterThan(1000);
  });
});
