import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accuracySaid } from '../../../src/records/templates/lone-worker-incident.ts';

/**
 * How far off a help position may be: the office board's alarm card (web/assets/words.js, plain JS
 * the browser loads) and the lone-worker incident record say it in the same words — "±12 m",
 * "±1.5 km", "±150 km" — never "±150000 m" on the board while the record says "±150 km".
 */
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as {
  accuracySaid: (metres: number) => string;
};

const TABLE: [number, string][] = [
  [0.4, '±0 m'],
  [5, '±5 m'],
  [12, '±12 m'],
  [12.6, '±13 m'],
  [999, '±999 m'],
  [1000, '±1 km'],
  [1500, '±1.5 km'],
  [1549, '±1.5 km'],
  [9_999, '±10 km'],
  [10_000, '±10 km'],
  [150_000, '±150 km'],
  [1_250_000, '±1,250 km'],
  [40_075_017, '±40,075 km'],
];

describe('a position’s accuracy in words, on the board as in the incident record', () => {
  it.each(TABLE)('%d m is said %s by both', (metres, said) => {
    expect(accuracySaid(metres)).toBe(said);
    expect(words.accuracySaid(metres)).toBe(said);
  });
});

describe('the office board’s alarm card', () => {
  it('says a help position’s accuracy with those words, never as a count of metres of its own', () => {
    const card = readFileSync(new URL('../../../web/assets/board-alarms.js', import.meta.url), 'utf8');
    expect(card).toContain('accuracySaid(a.location.accuracyM)');
    expect(card).not.toMatch(/±\$\{Math\.round\(a\.location\.accuracyM\)\} m/);
  });
});
