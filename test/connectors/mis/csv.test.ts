import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../../connectors/mis/csv/reader.ts';
import type { MisBatch } from '../../../connectors/mis/types.ts';

/**
 * The CSV reader refuses a file it cannot read as the export it claims to be, naming the file, line
 * and field and what was expected — never the value, which may be a pupil's name or address.
 */
async function read(text: string | Buffer): Promise<MisBatch[]> {
  const out: MisBatch[] = [];
  for await (const b of readCsv(Readable.from([Buffer.from(text)]), { unit: 'pupils.csv' })) out.push(b);
  return out;
}

const HEADER = 'ID,Legal Forename,Legal Surname,Address Line 1,Postcode\n';

describe('CSV reader: a NUL character is refused', () => {
  it('refuses a NUL in a value, naming the file, line and field (the database cannot store it)', async () => {
    const refused = read(
      `${HEADER}1001,Amelia,Okafor,1 High St,LS6 2AB\n1002,Bo\u0000b,Good,2 Low Rd,LS6 3CD\n`,
    );
    await expect(refused).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringMatching(
        /^pupils\.csv, line 3, record 2, field Legal Forename: holds a NUL character \(U\+0000\), which no field can hold/,
      ),
    });
    await expect(refused).rejects.not.toThrow(/Bo/);
  });

  it('refuses a NUL in a mark row id (a marks file) the same way', async () => {
    await expect(
      read('PersonID,AttendanceDate,SessionName,AttendanceMark\n10\u000001,2025-01-13,AM,/\n'),
    ).rejects.toThrow(/^pupils\.csv, line 2, record 1, field PersonID: holds a NUL character/);
  });

  it('refuses a NUL in a column caption, naming the header line', async () => {
    await expect(read('ID,Legal\u0000Forename\n1001,Amelia\n')).rejects.toThrow(
      /^pupils\.csv, line 1: a column caption holds a NUL character/,
    );
  });
});

describe('CSV reader: a field given by two columns is refused (the later would silently win)', () => {
  it('the same caption twice, or two captions that are one field, when Doorstep reads it', async () => {
    await expect(
      read('PersonID,AttendanceDate,SessionName,AttendanceMark,AttendanceMark\n1,2025-01-13,AM,N,/\n'),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message:
        'pupils.csv, line 1, field AttendanceMark: column 5 ("AttendanceMark") is the same field as column 4 ("AttendanceMark"): expected each column once',
    });
    await expect(
      read('PersonID,AttendanceDate,SessionName,Attendance Mark,attendance_mark\n1,2025-01-13,AM,N,/\n'),
    ).rejects.toThrow(/column 5 \("attendance_mark"\) is the same field as column 4 \("Attendance Mark"\)/);
    await expect(read(`ID,ID,Legal Forename\n1,2,Amelia\n`)).rejects.toThrow(/column 2 \("ID"\)/);
  });

  it('a caption Doorstep does not read may repeat (an export’s unused columns)', async () => {
    const batches = await read('ID,Legal Forename,Notes,Notes\n1001,Amelia,a,b\n');
    expect(batches.flatMap((b) => (b.kind === 'pupils' ? b.pupils : [])).map((p) => p.misId)).toEqual([
      '1001',
    ]);
  });
});

describe("CSV reader: csv-parse's refusals name the line and field, never the value", () => {
  it('a quote inside an unquoted value (an address with a quoted house name)', async () => {
    const refused = read(`${HEADER}1001,Amelia,Okafor,Flat 2 Sunnyside Court "The Maltings",LS6 2AB\n`);
    await expect(refused).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message:
        'pupils.csv, line 2, field Address Line 1: not valid CSV: a double quote inside a value that does not start with one; expected a value wholly in double quotes, with each quote inside it doubled ("")',
    });
    await expect(refused).rejects.not.toThrow(/Sunnyside|Maltings/);
  });

  it('text after a closing quote', async () => {
    const refused = read(`${HEADER}1001,"Robert" Bobby,Okafor,1 High St,LS6 2AB\n`);
    await expect(refused).rejects.toThrow(
      /^pupils\.csv, line 2, field Legal Forename: not valid CSV: text after a closing double quote; expected the delimiter/,
    );
    await expect(refused).rejects.not.toThrow(/Robert|Bobby/);
  });

  it('a quoted value never closed', async () => {
    const refused = read(`${HEADER}1001,Amelia,Okafor,"1 High St,LS6 2AB\n`);
    await expect(refused).rejects.toThrow(
      /^pupils\.csv, line 2: not valid CSV: a quoted value is never closed; expected a closing double quote/,
    );
    await expect(refused).rejects.not.toThrow(/High St/);
  });

  it('a row longer than the header, with the counts and no values', async () => {
    const refused = read(`${HEADER}1001,Amelia,Okafor,1 High St,LS6 2AB,Extra Secret\n`);
    await expect(refused).rejects.toThrow(
      /^pupils\.csv, line 2: not valid CSV: row length differs from the header: expected 5 fields, got 6$/,
    );
    await expect(refused).rejects.not.toThrow(/Secret|Amelia/);
  });
  it('names a column by its number, never by a caption Doorstep does not read (an export without its header row: line 1 is a pupil)', async () => {
    const refused = read('1001,Amelia,Okafor,14 Rosebank Terrace\n1002,Ben,Sm"ith,3 Mill Lane\n');
    await expect(refused).rejects.toThrow(
      /^pupils\.csv, line 2, field column 3: not valid CSV: a double quote inside a value/,
    );
    await expect(refused).rejects.not.toThrow(/Okafor|Amelia|Rosebank|Ben|Mill/);
    // A caption that is no column Doorstep reads is not named either (a NUL in its value).
    const nul = read('ID,Amelia Okafor\n1002,B\u0000en\n');
    await expect(nul).rejects.toThrow(
      /^pupils\.csv, line 2, record 1, field column 2: holds a NUL character/,
    );
    await expect(nul).rejects.not.toThrow(/Amelia|Okafor/);
  });
});

describe('CSV reader: what a file holds and which day a mark is on', () => {
  it('a marks file whose pupil column is captioned as a pupils file’s ("ID") is refused, naming what it lacks — never read as pupils', async () => {
    await expect(
      read('ID,AttendanceDate,SessionName,AttendanceMark\n1001,2025-06-16,AM,N\n9999,2025-06-16,AM,N\n'),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringMatching(
        /^pupils\.csv, line 1: this file has mark columns \("AttendanceDate", "SessionName", "AttendanceMark"\) but no "PersonID"/,
      ),
    });
    // A pupils file is still a pupils file.
    const [b] = await read(`${HEADER}1001,Amelia,Okafor,1 High St,LS6 2AB\n`);
    expect(b!.kind).toBe('pupils');
  });

  it('a time with a UTC offset is on the London day of that instant; a time without one is the school’s own', async () => {
    const day = async (date: string) => {
      const [b] = await read(`PersonID,AttendanceDate,SessionName,AttendanceMark\n1001,${date},AM,N\n`);
      return b!.kind === 'marks' ? b!.marks[0]!.date : null;
    };
    expect(await day('2025-06-01T23:30:00Z')).toBe('2025-06-02'); // 00:30 on Monday in London (BST)
    expect(await day('2025-06-02T00:30:00+01:00')).toBe('2025-06-02');
    expect(await day('2025-06-02T08:00:00+0900')).toBe('2025-06-02');
    expect(await day('2025-01-13T23:30:00Z')).toBe('2025-01-13'); // GMT: the same day
    expect(await day('2025-06-01T23:30:00')).toBe('2025-06-01'); // no offset: the school's clock
    // An hour without its leading zero (as Excel writes it) is a time all the same.
    expect(await day('2025-06-02 9:00')).toBe('2025-06-02');
    // A UK date with the time Excel writes after it.
    expect(await day('02/06/2025 09:00')).toBe('2025-06-02');
    expect(await day('2/6/2025 0:00:00')).toBe('2025-06-02');
    expect(await day('2025-06-01T23:30Z')).toBe('2025-06-02');
    expect(await day('2025-06-01 9:30:00+01:00')).toBe('2025-06-01');
    expect(await day('2025-06-02 00:00:00.0000000')).toBe('2025-06-02');
    await expect(day('2025-06-02T25:30:00Z')).rejects.toThrow(/field AttendanceDate: expected a date/);
  });
});

describe('CSV reader: the line named is the line in the file', () => {
  const MARKS = 'PersonID,AttendanceDate,SessionName,AttendanceMark,Comment';
  // Line 1 the header; lines 2-5 one record (a comment of 4 lines); line 6 a record; line 7 the
  // bad date (record 3) — whatever ends the lines, and with empty lines skipped before it.
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
    ['CR', '\r'],
  ])('after a quoted value holding line breaks, with %s line ends', async (_, eol) => {
    const comment = `"a${eol}b${eol}c${eol}d"`;
    await expect(
      read(
        `${MARKS}${eol}1001,2025-01-13,AM,/,${comment}${eol}1001,2025-01-14,AM,/,x${eol}1001,2025-13-13,PM,/,bad${eol}`,
      ),
    ).rejects.toThrow(/^pupils\.csv, line 7, record 3, field AttendanceDate: expected a date/);
    await expect(
      read(`${MARKS}${eol}${eol}1001,2025-01-13,AM,/,x${eol}${eol}1001,2025-13-13,PM,/,bad${eol}`),
    ).rejects.toThrow(/^pupils\.csv, line 5, record 2, field AttendanceDate/);
    // csv-parse's own refusal, after the quoted line breaks: its line too.
    await expect(
      read(
        `${MARKS}${eol}1001,2025-01-13,AM,/,${comment}${eol}1001,2025-01-14,AM,/,x${eol}1001,x"y,PM,/,z${eol}`,
      ),
    ).rejects.toThrow(/^pupils\.csv, line 7, field AttendanceDate: not valid CSV: a double quote inside/);
  });
});

describe('CSV reader: a file cut short inside its last row is refused', () => {
  const PUPILS = 'ID,Legal Forename,Legal Surname,CP Plan,Postcode';
  const CUT =
    'the file ends in the middle of this row (no line break after it): is it cut short? If the file is complete (Google Sheets saves its last row without a line break), add a line break at its end, or save it from Excel or the MIS';
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
    ['CR', '\r'],
  ])('reads a file whose last row ends with a line break (%s)', async (_, eol) => {
    const batches = await read(`${PUPILS}${eol}1001,Ann,One,N,LS6 2AB${eol}1003,Cat,Three,Y,SW1A 1AA${eol}`);
    expect(batches.flatMap((b) => (b.kind === 'pupils' ? b.pupils.map((p) => p.misId) : []))).toEqual([
      '1001',
      '1003',
    ]);
  });

  it.each([
    // An upload that died after the CP Plan's comma: the empty flag would clear the pupil's CP plan.
    ['after a comma', 'ID,Legal Forename,Legal Surname,CP Plan\r\n1001,Ann,One,N\r\n1003,Cat,Three,'],
    // Inside a value: 'SW1A 1AA' read as 'SW1A', a mark C1 as C.
    ['inside a value', `${PUPILS}\r\n1001,Ann,One,N,LS6 2AB\r\n1003,Cat,Three,Y,SW1A`],
    // A quoted value holding a line break, the file cut after it: the row is still not ended.
    ['after a quoted value', `${PUPILS}\n1001,Ann,One,N,LS6 2AB\n1003,Cat,Three,Y,"SW1A\n1AA"`],
  ])('cut %s: refused naming the file, its last line and row', async (_, text) => {
    const refused = read(text);
    await expect(refused).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringMatching(/^pupils\.csv, line (3|4), record 2: /),
    });
    await expect(refused).rejects.toThrow(CUT);
  });

  /**
   * Found by review: the refusal said "an export ends its last row with a line break", but RFC 4180
   * lets the last row go without one and Google Sheets' CSV download has none. A cut after a comma
   * has as many fields as a whole row, so such a file is still refused (a cut upload clearing a CP
   * plan is worse); the refusal now says what to do when the file is complete, and names no value.
   */
  it('a complete file whose last row has no line break (a Google Sheets download): refused, told how to import it', async () => {
    const sheets =
      'PersonID,AttendanceDate,SessionName,AttendanceMark\r\n1001,2025-01-13,AM,/\r\n1001,2025-01-13,PM,N';
    const refused = read(sheets);
    await expect(refused).rejects.toThrow(`pupils.csv, line 3, record 2: ${CUT}`);
    await expect(refused).rejects.not.toThrow(/1001|2025|PM|\bN\b/);
    // With the line break added, as the refusal says, it is read.
    const marks = (await read(`${sheets}\r\n`)).flatMap((b) => (b.kind === 'marks' ? b.marks : []));
    expect(marks.map((m) => m.mark)).toEqual(['/', 'N']);
  });

  it('a marks file too: a mark C1 cut to C is never read', async () => {
    await expect(
      read('PersonID,AttendanceDate,SessionName,AttendanceMark\n1001,2025-01-13,AM,/\n1001,2025-01-13,PM,C'),
    ).rejects.toThrow(`pupils.csv, line 3, record 2: ${CUT}`);
  });
});

describe('CSV reader: a file delimited by semicolons or tabs is told so', () => {
  const SAVE = 'save it as comma-separated CSV';
  it.each([
    [
      'semicolons',
      'PersonID;AttendanceDate;SessionName;AttendanceMark\r\n1001;13/01/2025;AM;N\r\n',
      'semicolon',
    ],
    // Its captions quoted: csv-parse refuses the header (text after a closing quote) before it is read.
    [
      'quoted semicolons',
      '"PersonID";"AttendanceDate";"SessionName";"AttendanceMark"\r\n1001;13/01/2025;AM;N\r\n',
      'semicolon',
    ],
    // A value quoted for its comma: the header is told apart before that row is refused as not CSV.
    [
      'semicolons, an address quoted',
      'ID;Legal Forename;Legal Surname;Address Line 1\r\n1001;Ann;One;"1, High St"\r\n',
      'semicolon',
    ],
    ['tabs', 'PersonID\tAttendanceDate\tSessionName\tAttendanceMark\r\n1001\t13/01/2025\tAM\tN\r\n', 'tab'],
  ])('%s: refused saying so — not "check the school\'s column map"', async (_, text, kind) => {
    const refused = read(text);
    await expect(refused).rejects.toThrow(
      `pupils.csv, line 1: the file looks ${kind}-delimited (its header row is one column holding ${kind === 'tab' ? 'tabs' : 'semicolons'}): ${SAVE}`,
    );
    await expect(refused).rejects.not.toThrow(/column map|High St|Ann/);
  });

  it('a comma-separated header with a semicolon in a caption is read as CSV', async () => {
    await expect(read('ID,Legal Forename,Notes; misc\n1001,Ann,x\n')).resolves.toHaveLength(1);
  });
});
