import { describe, expect, it } from 'vitest';
import { ERASED, withoutValues } from '../../src/domain/erasure.ts';

describe('withoutValues', () => {
  it("takes an erased pupil's values out of a kept text, whole words only, any case", () => {
    expect(
      withoutValues('Father of zephyrine QUILLFEATHER shouted at  17 Marrowbone   Lane (pupil 1001).', [
        'Zephyrine',
        'Quillfeather',
        '17 Marrowbone Lane',
        '1001',
      ]),
    ).toBe(`Father of ${ERASED} ${ERASED} shouted at  ${ERASED} (pupil ${ERASED}).`);
  });

  it('leaves a value inside a longer word or number, and values too short to name anyone', () => {
    expect(withoutValues('ref 10015, Annabel, at 14:01', ['1001', 'Anna', 'A', ''])).toBe(
      'ref 10015, Annabel, at 14:01',
    );
  });

  it('a value all digits is taken standing alone, never out of a date, a time or a decimal it is part of', () => {
    const kept =
      'threatened at 12:05 on 2026-03-15 (15/03/2026), back by 2026-03-15T13:00:00Z, 3.12 miles away';
    expect(withoutValues(kept, ['2026', '12', '15', '03', '00', '13'])).toBe(kept);
    // The id itself, wherever it stands alone: at a sentence's end, beside a comma, in brackets, before a colon and a space.
    expect(
      withoutValues('Pupil 2026 was home. Asked for 2026, (2026) and 2026: no answer; see pupil 2026.', [
        '2026',
      ]),
    ).toBe(
      `Pupil ${ERASED} was home. Asked for ${ERASED}, (${ERASED}) and ${ERASED}: no answer; see pupil ${ERASED}.`,
    );
    // A date next to a standalone id: the id goes, the date stays.
    expect(withoutValues('2026 seen on 2026-03-15 at 12:05; 12 at the door', ['2026', '12'])).toBe(
      `${ERASED} seen on 2026-03-15 at 12:05; ${ERASED} at the door`,
    );
    // A value with letters keeps the word rule: a hyphen is no part of a name's word.
    expect(withoutValues('Quillfeather-Smith and M4417-2', ['Quillfeather', 'M4417'])).toBe(
      `${ERASED}-Smith and ${ERASED}-2`,
    );
  });

  it('takes a full name whole before its parts, and reads values as text, not patterns', () => {
    expect(withoutValues('Ottoline Quillfeather rang', ['Quillfeather', 'Ottoline Quillfeather'])).toBe(
      `${ERASED} rang`,
    );
    expect(withoutValues('call +447700900999 or a.b@x.invalid', ['+447700900999', 'a.b@x.invalid'])).toBe(
      `call ${ERASED} or ${ERASED}`,
    );
    expect(withoutValues('nothing here matches', ['.*', 'h.re', null, undefined])).toBe(
      'nothing here matches',
    );
  });
});
