import { describe, expect, it } from 'vitest';
import { decodeAttendanceMarks } from '../../../../connectors/mis/ctf/reader.ts';

const where = { unit: 'ctf.xml', line: 12, record: 3 };

describe('CTF AttendanceMarks decoding', () => {
  it('reads two characters per calendar day, AM then PM, skipping sessions with no mark', () => {
    const marks = decodeAttendanceMarks('A123456789012', '2025-01-17', '/\\####I-', where);
    expect(marks.map((m) => `${m.date} ${m.session} ${m.mark}`)).toEqual([
      '2025-01-17 AM /',
      '2025-01-17 PM \\',
      '2025-01-20 AM I',
    ]);
  });

  it('refuses an odd-length string', () => {
    expect(() => decodeAttendanceMarks('A', '2025-01-17', '/\\N', where)).toThrow(
      'ctf.xml, line 12, record 3, field AttendanceMarks: expected two characters per day, got an odd length (3)',
    );
  });

  it('refuses characters that could start a two-character code, and unknown ones', () => {
    expect(() => decodeAttendanceMarks('A', '2025-01-17', '/Y', where)).toThrow(
      /cannot decode "Y" for 2025-01-17 PM unambiguously/,
    );
    expect(() => decodeAttendanceMarks('A', '2025-01-17', '/?', where)).toThrow(
      /unknown mark "\?" for 2025-01-17 PM \(position 2\)/,
    );
  });

  it('reads J and Y before 2024-08-19 as the single-character codes they were then; refuses them from it', () => {
    // J1 and Y1–Y7 began on 2024-08-19: before it a J or Y is whole (the import rejects its row, a
    // code from before the 2024 code set), never the file.
    const marks = decodeAttendanceMarks('A', '2024-08-16', 'JYHN####', where);
    expect(marks.map((m) => `${m.date} ${m.session} ${m.mark}`)).toEqual([
      '2024-08-16 AM J',
      '2024-08-16 PM Y',
      '2024-08-17 AM H',
      '2024-08-17 PM N',
    ]);
    expect(decodeAttendanceMarks('A', '2024-08-18', 'JY', where)).toHaveLength(2);
    expect(() => decodeAttendanceMarks('A', '2024-08-18', 'JYJ/', where)).toThrow(
      /cannot decode "J" for 2024-08-19 AM unambiguously/,
    );
    expect(() => decodeAttendanceMarks('A', '2024-08-18', 'NN/Y', where)).toThrow(
      /cannot decode "Y" for 2024-08-19 PM unambiguously/,
    );
  });
});
