import { describe, expect, it } from 'vitest';
import { countedOnce } from '../../src/core/counted-once.ts';

describe('progress counted once across readings', () => {
  it('reports a second reading only where it goes past the first', () => {
    const reported: number[] = [];
    const readings = countedOnce((n) => reported.push(n));
    const first = readings();
    first(10);
    first(5); // the first reading stops at 15
    const second = readings();
    second(10); // 10: nothing new
    second(10); // 20: 5 new
    second(7); // 27: 7 new
    expect(reported).toEqual([10, 5, 5, 7]);
    expect(reported.reduce((a, b) => a + b)).toBe(27);
  });
});
