import { describe, expect, it } from 'vitest';
import { destinationSaysUnknown } from '../../../connectors/mis/row-mapping.ts';

describe('a Destination that says nobody knows where the pupil went', () => {
  it('is read whatever its case, spacing and punctuation — and nothing else is', () => {
    for (const said of [
      'Unknown',
      ' not known ',
      'Destination: unknown',
      'CME',
      'C.M.E.',
      'c m e',
      'MMM/MMMM',
    ])
      expect(destinationSaysUnknown(said), said).toBe(true);
    for (const named of ['Unknown Academy', 'ACME College', 'CME Trust School', 'Known', '', 'N/A'])
      expect(destinationSaysUnknown(named), named).toBe(false);
  });
});
