import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The day's visits on a phone (`table.fits`) broke words mid-word ("complete" / "d"): its cells had
 * `overflow-wrap: anywhere`, which lets a table squeeze a column below its words. They wrap between
 * words now (`break-word`: only a word longer than the column breaks).
 */
const css = readFileSync(new URL('../../../web/assets/app.css', import.meta.url), 'utf8');

/** The declarations of every rule whose selector list names `selector`. */
const declarationsFor = (selector: string) =>
  [...css.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/([^{}]+)\{([^}]*)\}/g)]
    .filter(([, sel]) => sel!.split(',').some((s) => s.trim() === selector))
    .map(([, , body]) => body!.trim());

describe('the day’s visits table on a phone', () => {
  it('wraps its cells between words, never mid-word', () => {
    for (const cell of ['table.fits td', 'table.fits th']) {
      const rules = declarationsFor(cell).join(';');
      expect(rules, cell).toMatch(/overflow-wrap:\s*break-word/);
      expect(rules, cell).not.toMatch(/overflow-wrap:\s*anywhere|word-break:\s*break-(all|word)/);
    }
  });
});
