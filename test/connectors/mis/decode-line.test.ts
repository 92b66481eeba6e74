import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv } from '../../../connectors/mis/csv/reader.ts';
import { decodeText } from '../../../connectors/mis/decode.ts';
import { type FileFormat, fileUnit } from '../../../connectors/mis/file-unit.ts';
import { readSimsXml } from '../../../connectors/mis/sims-xml/reader.ts';
import { configWith } from '../../helpers/config.ts';

/**
 * Found by review: a file refused for wrong encoding named only the byte range of the 64 KB chunk the
 * bad byte fell in ("in bytes 0–65536"), never the line, though the import rules promise file, line
 * and field: a data manager with a 5,000-line export could not find the one "é" Excel wrote in
 * Windows-1252. Now the refusal names the line the bad byte is on, wherever the chunks of the file
 * fall (a character split between two chunks included).
 */
async function refusal(chunks: Buffer[], read: (input: Readable) => AsyncIterable<unknown>): Promise<string> {
  try {
    for await (const _ of read(Readable.from(chunks))) {
      // drain
    }
  } catch (err) {
    return (err as Error).message;
  }
  return 'read whole';
}
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const E_1252 = Buffer.from([0xe9]);

describe('text that is not in the file’s encoding', () => {
  it('names the line of a Windows-1252 byte in a UTF-8 CSV', async () => {
    const lines = ['PersonID,AttendanceDate,SessionName,AttendanceMark'];
    for (let i = 0; i < 1500; i++) lines.push(`${1000 + i},2025-01-13,AM,/`);
    const file = Buffer.concat([
      utf8(`${lines.join('\n')}\n`),
      // Line 1502: a pupil id with a Windows-1252 "é" (0xE9), not valid UTF-8.
      utf8('Ren'),
      E_1252,
      utf8(',2025-01-13,AM,/\n3000,2025-01-13,PM,/\n'),
    ]);
    const message = await refusal([file], (input) => readCsv(input, { unit: 'marks.csv' }));
    expect(message).toMatch(
      /^marks\.csv, line 1502: not valid utf-8 text on that line .*set the school's mis\.encoding: windows-1252$/,
    );
  });

  it('counts the lines of the chunks before, a UTF-8 character split between two of them', async () => {
    const e = utf8('é'); // two bytes: C3 A9
    const chunks = [
      Buffer.concat([utf8('line 1\nline 2\nJos'), e.subarray(0, 1)]),
      Buffer.concat([e.subarray(1), utf8('\nline 4\r\nline 5 '), E_1252, utf8('\nline 6\n')]),
    ];
    // Line 3 is "José", whole once its two bytes are joined; the bad byte is on line 5.
    const message = await refusal(chunks, (input) => decodeText(input, 'notes.csv'));
    expect(message).toMatch(/^notes\.csv, line 5: not valid utf-8 text/);
    const first = await refusal([Buffer.concat([utf8('a\n'), E_1252]), utf8('\nb\n')], (input) =>
      decodeText(input, 'first.csv'),
    );
    expect(first).toMatch(/^first\.csv, line 2: /);
  });

  it('names the last line when the file ends in the middle of a character', async () => {
    const message = await refusal([utf8('a\nb\nc'), utf8('é').subarray(0, 1)], (input) =>
      decodeText(input, 'cut.csv'),
    );
    expect(message).toBe('cut.csv, line 3: file ends in the middle of a utf-8 character');
  });
});

describe('UTF-16 said but not, or meant but not marked', () => {
  const xml = (decl: string) =>
    `<?xml version="1.0" encoding="${decl}"?>\n<SessionAttendances>\n  <SessionAttendance><PersonID>1001</PersonID><AttendanceDate>2025-01-13</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>/</AttendanceMark></SessionAttendance>\n</SessionAttendances>\n`;
  async function marksOf(file: Buffer): Promise<string[]> {
    const out: string[] = [];
    for await (const b of readSimsXml(Readable.from([file]), { unit: 'marks.xml' }))
      if (b.kind === 'marks')
        out.push(...b.marks.map((m) => `${m.pupilMisId} ${m.date} ${m.session} ${m.mark}`));
    return out;
  }

  it('reads as UTF-8 an XML file whose declaration says UTF-16 but is one byte a character (no byte-order mark)', async () => {
    expect(await marksOf(utf8(xml('utf-16')))).toEqual(['1001 2025-01-13 AM /']);
    expect(await marksOf(utf8(xml('UTF-16LE')))).toEqual(['1001 2025-01-13 AM /']);
  });

  it('reads XML in UTF-16 without a byte-order mark, known by its first bytes', async () => {
    const le = Buffer.from(xml('utf-16'), 'utf16le');
    expect(await marksOf(le)).toEqual(['1001 2025-01-13 AM /']);
    const be = Buffer.from(le);
    be.swap16();
    expect(await marksOf(be)).toEqual(['1001 2025-01-13 AM /']);
    // With its byte-order mark, as before.
    expect(await marksOf(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toEqual(['1001 2025-01-13 AM /']);
  });

  it('says a CSV looks like UTF-16 without a byte-order mark, naming the file, instead of a NUL in a caption', async () => {
    const text = 'PersonID,AttendanceDate,SessionName,AttendanceMark\r\n1001,2025-01-13,AM,/\r\n';
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le);
    be.swap16();
    for (const file of [le, be]) {
      const message = await refusal([file], (input) => readCsv(input, { unit: 'marks.csv' }));
      expect(message).toBe(
        'marks.csv, line 1: the file looks like UTF-16 without a byte-order mark (every other byte a zero); save it as UTF-8',
      );
    }
    // A NUL in a caption of a UTF-8 file is still that.
    const nul = await refusal([utf8('PersonID,Attendance\u0000Date,SessionName,AttendanceMark\n')], (input) =>
      readCsv(input, { unit: 'marks.csv' }),
    );
    expect(nul).toMatch(/^marks\.csv, line 1: a column caption holds a NUL character/);
  });
});

/**
 * Found by review: `mis.encoding: windows-1252` was accepted for every file kind, and a UTF-8 refusal
 * of an XML file told the data manager to set it, but only CSVs were read with it: a Windows-1252
 * SIMS XML or CTF without a declaration was refused at every sync, the hint followed or not.
 */
describe("the school's mis.encoding for XML files", () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-xml-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const school = (kind: 'sims-xml' | 'ctf', encoding?: string) =>
    configWith({
      mis: `{ kind: ${kind}, dropFolder: ./d${encoding ? `, encoding: ${encoding}` : ''} }`,
      // A school whose MIS export is CTF gives its URN (the file below is its own).
      school: kind === 'ctf' ? '    urn: "100001"\n' : '',
    }).schools[0]!;
  const zoe = (decl = '') =>
    Buffer.from(
      `${decl}<SuperStarReport>\n<Record><ID>2001</ID><Legal_x0020_Forename>Zo\xeb</Legal_x0020_Forename></Record></SuperStarReport>`,
      'latin1',
    );
  const ctf = Buffer.from(
    '<CTfile><Header><CTFversion>25.0</CTFversion><SourceSchool><URN>100001</URN></SourceSchool></Header><CTFpupilData>\n<Pupil><UPN>A123456789012</UPN><Forename>Zo\xeb</Forename></Pupil></CTFpupilData></CTfile>',
    'latin1',
  );
  async function forenames(bytes: Buffer, format: FileFormat, s: ReturnType<typeof school>) {
    const path = join(dir, `f-${Math.random().toString(36).slice(2)}.xml`);
    writeFileSync(path, bytes);
    const out: (string | null | undefined)[] = [];
    for await (const b of fileUnit(path, format, s).batches())
      if (b.kind === 'pupils') out.push(...b.pupils.map((p) => p.forename));
    return out;
  }

  it('decodes a SIMS XML or CTF with no declaration by it', async () => {
    expect(await forenames(zoe(), 'sims-xml', school('sims-xml', 'windows-1252'))).toEqual(['Zoë']);
    expect(await forenames(ctf, 'ctf', school('ctf', 'windows-1252'))).toEqual(['Zoë']);
    // Unset, UTF-8: refused naming the line, with the setting as the hint.
    await expect(forenames(zoe(), 'sims-xml', school('sims-xml'))).rejects.toThrow(
      /, line 2: not valid utf-8 text .*set the school's mis\.encoding: windows-1252$/,
    );
  });

  it('leaves a declaration or byte-order mark to win, and never hints at a setting that changes nothing', async () => {
    const s1252 = school('sims-xml', 'windows-1252');
    // Declared Windows-1252 with the school on UTF-8, and declared UTF-8 in UTF-8 with the school on 1252.
    expect(
      await forenames(zoe('<?xml version="1.0" encoding="windows-1252"?>'), 'sims-xml', school('sims-xml')),
    ).toEqual(['Zoë']);
    const utf8Zoe = Buffer.from(zoe('<?xml version="1.0" encoding="utf-8"?>').toString('latin1'), 'utf8');
    expect(await forenames(utf8Zoe, 'sims-xml', s1252)).toEqual(['Zoë']);
    expect(
      await forenames(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8Zoe]), 'sims-xml', s1252),
    ).toEqual(['Zoë']);
    // Declared UTF-8 over Windows-1252 bytes: the setting cannot help, so the hint is to export again.
    const message = await forenames(zoe('<?xml version="1.0" encoding="utf-8"?>'), 'sims-xml', s1252).then(
      () => 'read',
      (e: Error) => e.message,
    );
    expect(message).toMatch(/, line 2: not valid utf-8 text .*: export it again as UTF-8$/);
    expect(message).not.toMatch(/set the school's mis\.encoding/);
  });
});
