import { describe, expect, it } from 'vitest';
import { RecordFields, Row } from '../../../connectors/mis/row-mapping.ts';

describe('RecordFields (one record at a time, the same places reused)', () => {
  it('forgets the last record: a field the next record does not give is absent, not carried over', () => {
    const f = new RecordFields();
    f.clear();
    f.set('personid', '1001');
    f.set('minslate', '5');
    f.clear();
    f.set('personid', '1002');
    expect(f.get('personid')).toBe('1002');
    expect(f.get('minslate')).toBeUndefined();
    expect(f.has('minslate')).toBe(false);
    const row = new Row(f, { unit: 'x.xml', line: 3 }, 'normalised');
    expect(row.get('MinsLate')).toBeNull();
    expect(row.get('PersonID')).toBe('1002');
  });

  it('starts afresh past its bound on distinct captions (a file of made-up names)', () => {
    const f = new RecordFields();
    for (let i = 0; i < 10_050; i++) {
      f.clear();
      f.set(`c${i}`, 'v');
      expect(f.get(`c${i}`)).toBe('v');
    }
    f.clear();
    f.set('personid', '7');
    expect(f.get('c10049')).toBeUndefined();
    expect(f.get('personid')).toBe('7');
  });
});
