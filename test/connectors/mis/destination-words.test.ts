import { describe, expect, it } from 'vitest';
import { readDestination } from '../../../connectors/mis/destination-words.ts';

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
      'N/K',
      'NK',
      'n.k.',
      'Not known yet',
      'Unknown at present',
    ])
      expect(readDestination(said), said).toBe('unknown');
    for (const named of [
      'Unknown Academy',
      'ACME College',
      'CME Trust School',
      'Known',
      '',
      'N/A',
      'NKC School',
    ])
      expect(readDestination(named), named).not.toBe('unknown');
  });
});

describe('how a Destination is read', () => {
  it('a placeholder or punctuation alone says nothing of where the pupil went: no destination given', () => {
    for (const nothing of [
      'N/A',
      'n/a',
      'NA',
      'N.A.',
      'None',
      'NIL',
      'Not applicable',
      'TBC',
      'T.B.A.',
      'To be confirmed',
      'to follow',
      '-',
      '?',
      '…',
      '.',
      ' -- ',
      '',
    ])
      expect(readDestination(nothing), nothing).toBe('none');
  });

  it('words saying nobody knows are unknown — and no placeholder is', () => {
    for (const unknown of ['Unknown', 'N/K', 'Not known yet', 'Unknown at present', 'CME'])
      expect(readDestination(unknown), unknown).toBe('unknown');
  });

  it('anything else is a named destination, in any script', () => {
    for (const named of [
      'Riverside Academy',
      'Nantwich High',
      'None Such Academy',
      'TBC Learning Trust',
      'Home educated',
      'Abroad',
      'Moved to Spain',
      '北京第一中学',
      'École Jules Ferry',
      '123456',
    ])
      expect(readDestination(named), named).toBe('named');
  });

  it('a destination named in another script stays named with a placeholder or "unknown" beside it', () => {
    expect(readDestination('北京第一中学')).toBe('named');
    expect(readDestination('Greece TBC')).toBe('named');
    expect(readDestination('Ελλάδα TBC')).toBe('named');
    expect(readDestination('Київ (N/A)')).toBe('named');
    expect(readDestination('Україна — unknown')).toBe('named');
    expect(readDestination('Україна — unknown')).toBe('named');
  });
});
