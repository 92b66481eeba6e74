import { Readable } from 'node:stream';
import { CsvError, type Options, parse } from 'csv-parse';
import { BatchBuffer } from '../batches.ts';
import { decodeText } from '../decode.ts';
import { malformed } from '../errors.ts';
import { MAX_VALUE_READ } from '../field-limits.ts';
import {
  DEFAULT_MARK_COLUMNS,
  DEFAULT_PUPIL_COLUMNS,
  detectKind,
  type MarkColumns,
  normaliseCaption,
  type PupilColumns,
  Row,
  rowToMarks,
  rowToPupil,
} from '../row-mapping.ts';
import type { MisBatch } from '../types.ts';

export interface CsvOptions {
  unit: string;
  /** `utf-8` (default; a BOM is honoured) or `windows-1252` (Excel "CSV" from SIMS/Arbor). */
  encoding?: 'utf-8' | 'windows-1252';
  delimiter?: string;
  pupilColumns?: Partial<PupilColumns>;
  markColumns?: Partial<MarkColumns>;
  onBytes?: (n: number) => void;
}

/**
 * Streams a CSV export (Arbor or SIMS report) as batches of pupils or marks. Which one is decided
 * from the header row through the school's column map; marks may be one per row (a session column)
 * or one row per pupil and day (AM and PM columns).
 */
export async function* readCsv(input: Readable, options: CsvOptions): AsyncGenerator<MisBatch> {
  const unit = options.unit;
  const pupilCols: PupilColumns = { ...DEFAULT_PUPIL_COLUMNS, ...options.pupilColumns };
  const markCols: MarkColumns = { ...DEFAULT_MARK_COLUMNS, ...options.markColumns };
  const delimiter = options.delimiter ?? ',';
  /** The text's last character, once read: whether the last row ends with a line break. */
  let lastChar = '';
  /** The text's start (its header row, told apart when it cannot be parsed: `otherDelimiter`). */
  let head = '';
  const text = Readable.from(
    noting(
      decodeText(input, unit, {
        fallback: options.encoding ?? 'utf-8',
        ...(options.onBytes ? { onBytes: options.onBytes } : {}),
      }),
      (chunk) => {
        if (head.length < HEAD_KEPT) head += chunk.slice(0, HEAD_KEPT - head.length);
        lastChar = chunk[chunk.length - 1]!;
      },
    ),
  );
  /** The header row's captions, once read (a file with no header has none). */
  let captions: string[] | undefined;
  /** Each caption normalised (the key a `Row` looks it up by), in column order. */
  let keys: string[] = [];
  let headerLine = 1;
  // The captions the reader looks for: only such a caption is named in a refusal. Any other is named
  // by its column number, since in a file exported without its header row line 1 is a pupil, and its
  // "captions" are their name and address.
  const read = new Set([...Object.values(pupilCols), ...Object.values(markCols)].map(normaliseCaption));
  const fieldName = (column: unknown): string | undefined => {
    if (typeof column !== 'number' || !Number.isInteger(column) || column < 0) return undefined;
    const caption = captions?.[column];
    return caption !== undefined && read.has(normaliseCaption(caption)) ? caption : `column ${column + 1}`;
  };
  let recordNo = 0;
  /** Line breaks in the text of the records parsed so far (skipped empty lines included). */
  let breaksBefore = 0;
  /** The line a record (or the part of one parsed before a refusal) ends on. */
  const lineOf = (raw: string | undefined) => 1 + breaksBefore + lineBreaks(raw ?? '', true);
  /**
   * The header, then each record's line, as csv-parse parses them (not as the loop below takes them:
   * a refusal may come while parsed records still wait). The header is a record like the others, not
   * csv-parse's `columns`, so it has its text and a refusal names a column by its number.
   */
  const onRecord = ({ record, raw }: { record: string[]; raw: string }): ParsedRecord | null => {
    const line = lineOf(raw);
    breaksBefore += lineBreaks(raw, false);
    if (captions) return { values: record, line };
    headerLine = line;
    if (record.some((h) => h.includes(NUL))) {
      // Text saved as UTF-16 without its byte-order mark: every other byte of it a zero.
      if (alternatesWithNul(raw))
        throw malformed(
          { unit, line },
          undefined,
          'the file looks like UTF-16 without a byte-order mark (every other byte a zero); save it as UTF-8',
        );
      throw malformed({ unit, line }, undefined, `a column caption holds ${NUL_EXPECTED}`);
    }
    // A file saved with semicolons or tabs between its columns (Excel in a locale whose list separator
    // is `;`): its header one column, which no column map could match.
    const other = record.length === 1 && delimiter === ',' ? otherDelimiter(record[0]!) : undefined;
    if (other) throw malformed({ unit, line }, undefined, saveAsCsv(other));
    const trimmed = record.map((h) => h.trim());
    keys = trimmed.map(normaliseCaption);
    // Two columns that are one field to Doorstep (`Attendance Mark` and `attendance_mark`, or
    // the same caption twice): the later would silently win — a mark, a pupil's id replaced.
    const seen = new Map<string, number>();
    keys.forEach((key, i) => {
      const first = seen.get(key);
      if (first !== undefined && read.has(key))
        throw malformed(
          { unit, line },
          trimmed[i],
          `column ${i + 1} ("${trimmed[i]}") is the same field as column ${first + 1} ("${trimmed[first]}"): expected each column once`,
        );
      if (first === undefined) seen.set(key, i);
    });
    captions = trimmed;
    return null;
  };
  const parser = text.pipe(
    parse({
      bom: true,
      delimiter,
      skip_empty_lines: true,
      // Each record's text as read: its line is counted from it (csv-parse's own count takes a CRLF
      // inside a quoted value for two lines).
      raw: true,
      // (csv-parse types `on_record` for records read as they are, not as this one returns them.)
      on_record: onRecord as unknown as Options['on_record'],
      // A record (the header included) is never held past this: an absurd value refuses the file.
      max_record_size: MAX_VALUE_READ,
    }),
  );
  text.on('error', (err) => parser.destroy(err));

  let kind: 'pupils' | 'marks' | undefined;
  const out = new BatchBuffer();
  /** Where the last record read is. */
  let last: { unit: string; line: number; record?: number } | undefined;
  try {
    for await (const item of parser as AsyncIterable<ParsedRecord>) {
      recordNo++;
      const where = { unit, line: item.line, record: recordNo };
      last = where;
      if (!kind) {
        const header = new Set(keys);
        kind = detectKind((c) => header.has(normaliseCaption(c)), pupilCols, markCols, {
          unit,
          line: headerLine,
        });
      }
      const values = item.values;
      const nul = values.findIndex((v) => v.includes(NUL));
      if (nul >= 0) throw malformed(where, fieldName(nul), `holds ${NUL_EXPECTED}`);
      const fields = new Map<string, string>();
      keys.forEach((key, i) => {
        fields.set(key, values[i]!);
      });
      const row = new Row(fields, where, 'normalised');
      if (kind === 'pupils') out.pupils.push(rowToPupil(row, pupilCols));
      else out.marks.push(...rowToMarks(row, markCols));
      yield* out.drain();
    }
  } catch (err) {
    if (err instanceof CsvError) {
      // Its header not parsed (`"PersonID";"AttendanceDate"`: text after a closing quote): a file
      // delimited otherwise is told as such, not as CSV that is not valid.
      const other = !captions && delimiter === ',' ? otherDelimiter(firstLine(head)) : undefined;
      if (other)
        throw malformed({ unit, line: lineOf((err as { raw?: string }).raw) }, undefined, saveAsCsv(other));
      throw notCsv(err, unit, captions?.length ?? 0, lineOf, fieldName);
    }
    throw err;
  }
  // Only a file without even a header row is empty.
  if (recordNo === 0 && !captions?.some((c) => c !== ''))
    throw malformed({ unit }, undefined, 'the file is empty: expected a header row and at least one row');
  // An upload or copy that died part way: its last row is cut short (`…,Three,` — a CP plan's `Y`
  // lost reads as an empty flag, which clears it; `C1` read as `C`, a postcode's half). RFC 4180
  // lets a complete file's last row go without a line break, and Google Sheets' download does
  // (Excel and the MIS exports end it with one), but a cut just after a comma has as many fields as
  // a whole row: nothing tells the two apart. So a file without one at its end is refused, nothing
  // of it applied, saying what to do when it is complete. (A cut just after a line break cannot be
  // told, and leaves out whole rows only.)
  if (lastChar !== '\n' && lastChar !== '\r')
    throw malformed(
      last ?? { unit, line: headerLine },
      undefined,
      `the file ends in the middle of ${last ? 'this row' : 'its header row'} (no line break after it): is it cut short? ${COMPLETE_WITHOUT_LINE_BREAK}`,
    );
  if (recordNo === 0) {
    // A marks export with its header and no rows (no registers since the last export: a holiday, an
    // INSET day) is no marks; a pupils export with none is never a school's (a report run wrong),
    // and is refused saying so.
    const header = new Set((captions ?? []).map(normaliseCaption));
    const headerKind = detectKind((c) => header.has(normaliseCaption(c)), pupilCols, markCols, {
      unit,
      line: headerLine,
    });
    if (headerKind === 'pupils')
      throw malformed(
        { unit },
        undefined,
        'the file has its header row and no pupils: expected at least one pupil row',
      );
  }
  yield* out.drain(true);
}

/** The text as read, each chunk (never an empty one) shown to `see` first. */
async function* noting(text: AsyncIterable<string>, see: (chunk: string) => void): AsyncGenerator<string> {
  for await (const chunk of text) {
    if (chunk.length > 0) see(chunk);
    yield chunk;
  }
}

/** How much of the text's start is kept, for its header row. */
const HEAD_KEPT = 4096;

/** The text's first line that is not empty (a BOM left out): its header row. */
function firstLine(text: string): string {
  return text.replace(/^\uFEFF?[\r\n]*/, '').split(/[\r\n]/, 1)[0] ?? '';
}

/**
 * The delimiter a header row read as one column is in fact split by — semicolons (Excel's CSV where
 * the list separator is `;`) or tabs (a "text" export) — when it has no comma and one of them.
 */
function otherDelimiter(header: string): 'semicolon' | 'tab' | undefined {
  if (header.includes(',')) return undefined;
  const semicolons = header.split(';').length - 1;
  const tabs = header.split('\t').length - 1;
  if (semicolons === 0 && tabs === 0) return undefined;
  return semicolons >= tabs ? 'semicolon' : 'tab';
}

/** What a complete file without a line break at its end (refused as perhaps cut short) needs. */
const COMPLETE_WITHOUT_LINE_BREAK =
  'If the file is complete (Google Sheets saves its last row without a line break), add a line break at its end, or save it from Excel or the MIS';

const saveAsCsv = (other: 'semicolon' | 'tab') =>
  `the file looks ${other}-delimited (its header row is one column holding ${other === 'tab' ? 'tabs' : 'semicolons'}): save it as comma-separated CSV`;

/** A record's values as parsed, with the line it ends on. */
interface ParsedRecord {
  values: string[];
  line: number;
}

const NUL = '\u0000';

/**
 * Line breaks in a record's raw text, a CRLF, LF or CR each one. The raw text holds the breaks of the
 * empty lines skipped before the record and the first character of the delimiter that ends it (a
 * CRLF's LF is not in it): `withoutLast` leaves that one out, for the line the record ends on.
 */
function lineBreaks(raw: string, withoutLast: boolean): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 13) {
      n++;
      if (raw.charCodeAt(i + 1) === 10) i++;
    } else if (c === 10) n++;
  }
  if (withoutLast && n > 0) {
    const last = raw.charCodeAt(raw.length - 1);
    if (last === 10 || last === 13) n--;
  }
  return n;
}
/**
 * Whether the header's text alternates a character and a NUL from its start (a UTF-16 file read a
 * byte a character: `I\0D\0,\0…`, or `\0I\0D…` big-endian), over its first 64 characters.
 */
function alternatesWithNul(raw: string): boolean {
  const head = raw.replace(/^[\r\n]+/, '').slice(0, 64);
  if (head.length < 4) return false;
  return [0, 1].some((odd) => [...head].every((c, i) => (c === NUL) === (i % 2 === odd)));
}

const NUL_EXPECTED =
  'a NUL character (U+0000), which no field can hold: expected text without control characters';

/**
 * The refusal for csv-parse's error, built from its code, line and column only: its own message can
 * quote the field's text (`value is "Flat 2 …"`), personal data that must not reach the import
 * record, the quarantine note or the log.
 */
function notCsv(
  err: CsvError,
  unit: string,
  columns: number,
  lineOf: (raw: string | undefined) => number,
  fieldName: (column: unknown) => string | undefined,
) {
  const info = err as CsvError & { raw?: string; column?: string | number | null; record?: unknown[] };
  const where = { unit, line: lineOf(info.raw) };
  const field = fieldName(info.column);
  switch (err.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return malformed(
        where,
        field,
        `a row longer than ${MAX_VALUE_READ} characters, far over any field's limit: the file is refused without reading the rest`,
      );
    case 'INVALID_OPENING_QUOTE':
      return malformed(
        where,
        field,
        'not valid CSV: a double quote inside a value that does not start with one; expected a value wholly in double quotes, with each quote inside it doubled ("")',
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return malformed(
        where,
        field,
        'not valid CSV: text after a closing double quote; expected the delimiter or the end of the line after it (a quote inside a quoted value is doubled: "")',
      );
    case 'CSV_QUOTE_NOT_CLOSED':
      return malformed(
        where,
        undefined,
        'not valid CSV: a quoted value is never closed; expected a closing double quote before the end of the file (is the file cut short?)',
      );
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS': {
      const got = Array.isArray(info.record) ? `, got ${info.record.length}` : '';
      return malformed(
        where,
        undefined,
        `not valid CSV: row length differs from the header: expected ${columns} fields${got}`,
      );
    }
    default:
      return malformed(where, field, `not valid CSV (${err.code})`);
  }
}
