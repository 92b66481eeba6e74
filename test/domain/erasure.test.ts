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
