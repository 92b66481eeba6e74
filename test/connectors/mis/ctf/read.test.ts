import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCtf } from '../../../../connectors/mis/ctf/reader.ts';
import type { MarkRecord, PupilRecord } from '../../../../connectors/mis/types.ts';

/**
 * The fixture (made by Heath Lane: LEA 383, Estab 2001, URN 100001, for Beta: LEA 383, Estab 2002)
 * with its first pupil's attendance replaced. `read` reads it as Heath Lane itself (its `urn`), so its
 * sessions are the school's own; a school that gives no URN reads it as a transfer (below).
 */
const fixture = readFileSync('test/fixtures/mis/ctf/ctf25.xml', 'utf8');
const withYears = (years: string) =>
  fixture.replace(/(<UPN>A123456789012<\/UPN>[\s\S]*?<Attendance>)[\s\S]*?(<\/Attendance>)/, `$1${years}$2`);
const year = (school: string, start: string, marks: string) =>
  `<YearData><Year>2024</Year>${school}<AttendSessions><AttendanceStartDate>${start}</AttendanceStartDate><AttendanceMarks>${marks}</AttendanceMarks></AttendSessions></YearData>`;

async function read(
  xml: string,
  urn: string | null = '100001',
): Promise<{ pupils: PupilRecord[]; marks: MarkRecord[] }> {
  const pupils: PupilRecord[] = [];
  const marks: MarkRecord[] = [];
  const options = { unit: 'ctf.xml', ...(urn ? { urn } : {}) };
  for await (const b of readCtf(Readable.from([Buffer.from(xml)]), options)) {
    if (b.kind === 'pupils') pupils.push(...b.pupils);
    if (b.kind === 'marks') marks.push(...b.marks);
  }
  return { pupils, marks };
}
const of = (marks: MarkRecord[], upn: string) =>
  marks.filter((m) => m.pupilMisId === upn).map((m) => `${m.date} ${m.session} ${m.mark}`);

describe('CTF attendance as the school that made it kept it', () => {
  it('leaves out the sessions of another school a joining pupil brings (its LEA and Estab), and says so', async () => {
    const { pupils, marks } = await read(
      withYears(
        year('<LEA>999</LEA><Estab>8888</Estab><SchoolName>Old School</SchoolName>', '2024-09-02', 'NNNN') +
          year('<LEA>383</LEA><Estab>2001</Estab>', '2025-01-13', '/\\NN'),
      ),
    );
    expect(of(marks, 'A123456789012')).toEqual([
      '2025-01-13 AM /',
      '2025-01-13 PM \\',
      '2025-01-14 AM N',
      '2025-01-14 PM N',
    ]);
    expect(pupils.find((p) => p.misId === 'A123456789012')!.unusable).toEqual([
      {
        field: expect.stringMatching(/^Attendance\/YearData \(line \d+, 4 sessions, LEA 999 Estab 8888\)$/),
        expected: expect.stringContaining("another school's sessions are not this school's marks"),
      },
    ]);
  });

  it('leaves out a YearData naming a school when the file’s SourceSchool gives no LEA and Estab to tell it by', async () => {
    const noIds = withYears(year('<LEA>383</LEA><Estab>2001</Estab>', '2025-01-13', 'NN')).replace(
      '<LEA>383</LEA><Estab>2001</Estab><URN>',
      '<URN>',
    );
    const { pupils, marks } = await read(noIds);
    expect(of(marks, 'A123456789012')).toEqual([]);
    expect(pupils[0]!.unusable).toEqual([
      {
        field: expect.stringMatching(/^Attendance\/YearData \(line \d+, 2 sessions, LEA 383 Estab 2001\)$/),
        expected: expect.stringContaining("whose LEA and Estab the file's Header/SourceSchool does not give"),
      },
    ]);
  });

  it('takes a YearData that names no school as the file’s own', async () => {
    const { marks } = await read(withYears(year('', '2025-01-13', 'NN')));
    expect(of(marks, 'A123456789012')).toEqual(['2025-01-13 AM N', '2025-01-13 PM N']);
  });

  it('a marks string wrapped over indented lines keeps every mark on its own day', async () => {
    const { marks } = await read(withYears(year('', '2025-01-13', '////\n          NNNN\n        ')));
    expect(of(marks, 'A123456789012')).toEqual([
      '2025-01-13 AM /',
      '2025-01-13 PM /',
      '2025-01-14 AM /',
      '2025-01-14 PM /',
      '2025-01-15 AM N',
      '2025-01-15 PM N',
      '2025-01-16 AM N',
      '2025-01-16 PM N',
    ]);
  });

  it('spaces that are sessions without marks are kept: beyond the shared indentation, or where a line is not indented', async () => {
    const read4 = async (marks: string) =>
      of((await read(withYears(year('', '2025-01-13', marks)))).marks, 'A123456789012');
    const expected = ['2025-01-13 AM /', '2025-01-13 PM /', '2025-01-15 AM N', '2025-01-15 PM N'];
    // A line not indented: the next line's two spaces are sessions without marks (a weekend, say).
    expect(await read4('/\n/\n  NN')).toEqual(expected);
    // Indented by four, one line starting with sessions without marks beyond it.
    expect(await read4('\n    //\n      NN\n  ')).toEqual(expected);
    // Wrapped and indented, the end tag right after the last mark: the indentation is layout.
    expect(await read4('//\n  //\n  NN')).toEqual([
      '2025-01-13 AM /',
      '2025-01-13 PM /',
      '2025-01-14 AM /',
      '2025-01-14 PM /',
      '2025-01-15 AM N',
      '2025-01-15 PM N',
    ]);
  });
});

/**
 * Found by review: an incoming transfer's CTF (made by Heath Lane for Beta) imported at Beta, a school
 * that gives no URN, had Heath Lane's sessions — its N and I among them — taken as Beta's marks: a
 * YearData was compared with the file's own SourceSchool (always equal in a transfer), and one naming
 * no school was taken unchecked. Such a file is a transfer into its DestSchool: its sessions are the
 * source school's, recorded before the pupil joined — left out and said so, the pupil's details taken.
 */
describe('a transfer CTF read where the school gives no URN (DestSchool not its SourceSchool)', () => {
  it("gives the pupils' details and none of their sessions, saying how many were left out and where they were recorded", async () => {
    const { pupils, marks } = await read(fixture, null);
    expect(marks).toEqual([]);
    expect(pupils.map((p) => p.forename)).toEqual(['Amelia', 'Yusuf']);
    // Amelia's YearData names Heath Lane; Yusuf's names no school: both are Heath Lane's sessions. A
    // YearData naming a third school (where the pupil was before Heath Lane) is named as recorded there.
    expect(pupils.map((p) => p.unusable)).toEqual([
      [
        {
          field: expect.stringMatching(/^Attendance\/YearData \(line \d+, 10 sessions\)$/),
          expected:
            "this school's own sessions — these were recorded at Heath Lane Academy (LEA 383 Estab 2001 URN 100001) before the pupil joined: the file is a transfer Heath Lane Academy (LEA 383 Estab 2001 URN 100001) made for the school LEA 383 Estab 2002, so the pupil's details are taken and their sessions left out (if the file is this school's own export, set the school's urn to have its sessions taken)",
        },
      ],
      [
        {
          field: expect.stringMatching(/^Attendance\/YearData \(line \d+, 6 sessions\)$/),
          expected: expect.stringContaining(
            'these were recorded at Heath Lane Academy (LEA 383 Estab 2001 URN 100001) before the pupil joined',
          ),
        },
      ],
    ]);
  });

  it('names the school a YearData names as where its sessions were recorded', async () => {
    const { pupils, marks } = await read(
      withYears(year('<LEA>999</LEA><Estab>8888</Estab>', '2024-09-02', 'NNNN')),
      null,
    );
    expect(marks).toEqual([]);
    expect(pupils[0]!.unusable).toEqual([
      {
        field: expect.stringMatching(/^Attendance\/YearData \(line \d+, 4 sessions\)$/),
        expected: expect.stringMatching(
          /^this school's own sessions — these were recorded at the school LEA 999 Estab 8888 before the pupil joined: the file is a transfer Heath Lane Academy/,
        ),
      },
    ]);
  });

  it('a DestSchool of unknown destination (MMM/MMMM) is another school too', async () => {
    const unknown = fixture.replace(
      '<DestSchool><LEA>383</LEA><Estab>2002</Estab></DestSchool>',
      '<DestSchool><LEA>MMM</LEA><Estab>MMMM</Estab></DestSchool>',
    );
    expect((await read(unknown, null)).marks).toEqual([]);
  });

  it('a file made for its own school, or naming no destination, is the school’s own: its sessions are taken', async () => {
    const toItself = fixture.replace('<Estab>2002</Estab></DestSchool>', '<Estab>2001</Estab></DestSchool>');
    const noDest = fixture.replace(/<DestSchool>[\s\S]*?<\/DestSchool>/, '');
    for (const xml of [toItself, noDest]) {
      expect(xml).not.toBe(fixture);
      const { pupils, marks } = await read(xml, null);
      expect(marks).toHaveLength(16);
      expect(pupils.map((p) => p.unusable)).toEqual([undefined, undefined]);
    }
  });

  it('read by the school that made it (its URN), a transfer it made for another school gives its sessions', async () => {
    const { pupils, marks } = await read(fixture, '100001');
    expect(of(marks, 'A123456789012')).toHaveLength(10);
    expect(of(marks, 'E523456789012')).toHaveLength(6);
    expect(pupils.map((p) => p.unusable)).toEqual([undefined, undefined]);
  });
});

describe('CTF elements a pupil gives once', () => {
  const twice = 'the field appears twice in this record: expected it once';
  const sessions = (inner: string) =>
    withYears(`<YearData><Year>2024</Year>\n<AttendSessions>${inner}</AttendSessions></YearData>`);

  it('refuses the file when a pupil has two UPNs, naming the second', async () => {
    // Taken as the first, the pupil would be imported under one UPN and the other's marks matched to them.
    const xml = fixture.replace(
      '<UPN>A123456789012</UPN>',
      '<UPN>A123456789012</UPN>\n      <UPN>B123456789012</UPN>',
    );
    await expect(read(xml)).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: `ctf.xml, line 14, record 1, field UPN: ${twice}`,
    });
    // The same UPN twice is still a field given twice.
    await expect(
      read(fixture.replace('<UPN>A123456789012</UPN>', '<UPN>A123456789012</UPN><UPN>A123456789012</UPN>')),
    ).rejects.toMatchObject({ message: `ctf.xml, line 13, record 1, field UPN: ${twice}` });
  });

  it('refuses the file when an AttendSessions block has two start dates or two mark strings', async () => {
    // The marks would be read from the first date only, and the second string dropped.
    await expect(
      read(
        sessions(
          '<AttendanceStartDate>2025-01-13</AttendanceStartDate>\n<AttendanceStartDate>2025-01-20</AttendanceStartDate><AttendanceMarks>NN</AttendanceMarks>',
        ),
      ),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringMatching(
        new RegExp(`^ctf\\.xml, line \\d+, record 1, field AttendanceStartDate: ${twice}$`),
      ),
    });
    await expect(
      read(
        sessions(
          '<AttendanceStartDate>2025-01-13</AttendanceStartDate><AttendanceMarks>NN</AttendanceMarks>\n<AttendanceMarks>//</AttendanceMarks>',
        ),
      ),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringMatching(
        new RegExp(`^ctf\\.xml, line \\d+, record 1, field AttendanceMarks: ${twice}$`),
      ),
    });
  });

  it('refuses the file when a YearData has two AttendSessions blocks, or a pupil two Attendance blocks, at the second', async () => {
    // Read with the first only, the second block's marks were dropped without a word.
    const block = (start: string) =>
      `<AttendSessions><AttendanceStartDate>${start}</AttendanceStartDate><AttendanceMarks>NN</AttendanceMarks></AttendSessions>`;
    await expect(
      read(withYears(`<YearData><Year>2024</Year>${block('2025-01-13')}\n${block('2025-01-20')}</YearData>`)),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: `ctf.xml, line 19, record 1, field AttendSessions: ${twice}`,
    });
    const attendance = (start: string) =>
      `<Attendance><YearData><Year>2024</Year>${block(start)}</YearData></Attendance>`;
    await expect(
      read(
        fixture.replace(
          /<Attendance>[\s\S]*?<\/Attendance>/,
          `${attendance('2025-01-13')}\n${attendance('2025-01-20')}`,
        ),
      ),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: `ctf.xml, line 19, record 1, field Attendance: ${twice}`,
    });
  });

  it('refuses the file when a pupil has two dates of birth, or a YearData two LEAs or Estabs', async () => {
    // Which date of birth is the pupil's cannot be told; a YearData naming two schools could take another
    // school's sessions (the second LEA or Estab) as this school's, checked against the first only.
    await expect(
      read(fixture.replace('<DOB>2015-03-09</DOB>', '<DOB>2015-03-09</DOB>\n<DOB>2016-03-09</DOB>')),
    ).rejects.toMatchObject({ message: `ctf.xml, line 17, record 1, field DOB: ${twice}` });
    await expect(
      read(withYears(year('<LEA>383</LEA>\n<LEA>999</LEA><Estab>2001</Estab>', '2025-01-13', 'NN'))),
    ).rejects.toMatchObject({ message: `ctf.xml, line 19, record 1, field LEA: ${twice}` });
    await expect(
      read(withYears(year('<LEA>383</LEA><Estab>2001</Estab>\n<Estab>8888</Estab>', '2025-01-13', 'NN'))),
    ).rejects.toMatchObject({ message: `ctf.xml, line 19, record 1, field Estab: ${twice}` });
  });

  it('reads several years of AttendSessions for one pupil, each once', async () => {
    const { marks } = await read(withYears(year('', '2024-07-15', 'NN') + year('', '2025-01-13', '//')));
    expect(of(marks, 'A123456789012')).toEqual([
      '2024-07-15 AM N',
      '2024-07-15 PM N',
      '2025-01-13 AM /',
      '2025-01-13 PM /',
    ]);
  });
});

/**
 * Found by review: a field's text was run together with the text around an element inside it
 * (`<UPN>A1234<X/>56789012</UPN>` one UPN), as the SIMS reader ran `<PersonID>1<Note>2</Note>`
 * into pupil 12.
 */
describe('CTF fields holding an element', () => {
  it('refuses the file at the element, naming the field', async () => {
    await expect(
      read(fixture.replace('<UPN>A123456789012</UPN>', '<UPN>A1234<X/>56789012</UPN>')),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: 'ctf.xml, line 13, record 1, field UPN: the field holds an element: expected only text',
    });
    await expect(read(withYears(year('', '2025-01-13', 'NN<X>NN</X>')))).rejects.toMatchObject({
      message: expect.stringMatching(
        /^ctf\.xml, line \d+, record 1, field AttendanceMarks: the field holds an element/,
      ),
    });
    await expect(
      read(fixture.replace('<CTFversion>25.0</CTFversion>', '<CTFversion>25<X/>.0</CTFversion>')),
    ).rejects.toMatchObject({
      message:
        'ctf.xml, line 5, field CTfile/Header/CTFversion: the field holds an element: expected only text',
    });
  });

  it('reads past elements inside elements it does not read', async () => {
    const { pupils } = await read(
      fixture.replace('<Sex>F</Sex>', '<Sex>F<Note>x</Note></Sex><Extra><A>1</A></Extra>'),
    );
    expect(pupils[0]).toMatchObject({ upn: 'A123456789012', forename: 'Amelia', surname: 'Okafor' });
  });
});

/** Found by review: the CTF root's name was quoted from the document in the refusal. */
describe("CTF root element: the document's own name", () => {
  it('is described by its length, unless it is a root Doorstep knows', async () => {
    const other = read('<Smith><a/></Smith>');
    await expect(other).rejects.toThrow(
      /^ctf\.xml, line 1: unexpected root element \(a name of 5 characters\): expected <CTfile>$/,
    );
    await expect(other).rejects.not.toThrow(/Smith/);
    await expect(read('<SessionAttendances/>')).rejects.toThrow(
      /unexpected root element <SessionAttendances>: expected <CTfile>; this is a SIMS XML file: import it with --format sims-xml/,
    );
  });
});
