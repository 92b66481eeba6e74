import { describe, expect, it } from 'vitest';
import { personalHtml, personalText } from '../../../src/http/web/pages.ts';

/**
 * A right-to-left override (U+202E) in a name, an address or a file name must not reverse what the
 * pages show after it: personal data is shown isolated and without reordering controls.
 */
const RLO = '\u202E';
const PDI = '\u2069';

interface AppBidi {
  bidiClean: (v: unknown) => string;
  isolate: (v: unknown) => string;
}
// The front end's module (plain JS, no DOM needed for these two).
const app = (await import(new URL('../../../web/assets/app.js', import.meta.url).href)) as AppBidi;

describe('bidirectional text in the server-rendered list and slip', () => {
  it('isolates a value in <bdi>, escaped, with its embedding/override/isolate controls removed', () => {
    expect(personalHtml(`14 Rosebank ${RLO}Terrace & <b>`)).toBe(
      '<bdi>14 Rosebank Terrace &#38; &#60;b&#62;</bdi>',
    );
    expect(personalHtml(`Grace${PDI}\u202D 0113 496 0000`)).toBe('<bdi>Grace 0113 496 0000</bdi>');
    expect(personalHtml(null)).toBe('<bdi></bdi>');
  });

  it('list cells (each its own bidi paragraph) get the same text without the <bdi>', () => {
    expect(personalText(`Jo ${RLO}(mother) 07700 900444`)).toBe('Jo (mother) 07700 900444');
  });

  it('keeps right-to-left letters and marks (only the reordering controls go)', () => {
    expect(personalHtml('محمد\u200F')).toBe('<bdi>محمد\u200F</bdi>');
  });
});

describe('bidirectional text in the front end (web/assets/app.js)', () => {
  it('bidiClean removes LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI and PDI', () => {
    const controls = '\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069';
    expect(app.bidiClean(`a${controls}b`)).toBe('ab');
    expect(app.bidiClean(undefined)).toBe('');
    expect(app.bidiClean(42)).toBe('42');
  });

  it('isolate wraps a value in FSI … PDI that nothing inside it can close early', () => {
    expect(app.isolate(`Ann${PDI}${RLO}e`)).toBe('\u2068Anne\u2069');
  });
});
