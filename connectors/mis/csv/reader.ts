import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
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
  const text = Readable.from(
    decodeText(input, unit, {
      fallback: options.encoding ?? 'utf-8',
      ...(options.onBytes ? { onBytes: options.onBytes } : {}),
    }),
  );
  let columns = 0;
  /** The header row's captions, once read (a file with no header has none). */
  let captions: string[] | undefined;
  const parser = text.pipe(
    parse({
      columns: (header: string[]) => {
        if (header.some((h) => h.includes(NUL))) {
          throw malformed({ unit, line: 1 }, undefined, `a column caption holds ${NUL_EXPECTED}`);
        }
        columns = header.length;
        const trimmed = header.map((h) => h.trim());
        captions = trimmed;
        // Two columns that are one field to Doorstep (`Attendance Mark` and `attendance_mark`, or
        // the same caption twice): the later would silently win — a mark, a pupil's id replaced.
        const read = new Set([...Object.values(pupilCols), ...Object.values(markCols)].map(normaliseCaption));
        const seen = new Map<string, number>();
        trimmed.forEach((h, i) => {
          const key = normaliseCaption(h);
          const first = seen.get(key);
          if (first !== undefined && read.has(key))
            throw malformed(
              { unit, line: 1 },
              h,
              `column ${i + 1} ("${h}") is the same field as column ${first + 1} ("${trimmed[first]}"): expected each column once`,
            );
          if (first === undefined) seen.set(key, i);
        });
        return trimmed;
      },
      bom: true,
      delimiter: options.delimiter ?? ',',
      skip_empty_lines: true,
      info: true,
      // A record (the header included) is never held past this: an absurd value refuses the file.
      max_record_size: MAX_VALUE_READ,
    }),
  );
  text.on('error', (err) => parser.destroy(err));

  let kind: 'pupils' | 'marks' | undefined;
  const out = new BatchBuffer();
  let recordNo = 0;
  try {
    for await (const item of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      recordNo++;
      const where = { unit, line: item.info.lines, record: recordNo };
      if (!kind) {
        const captions = new Set(Object.keys(item.record).map(normaliseCaption));
        kind = detectKind((c) => captions.has(normaliseCaption(c)), pupilCols, markCols, { unit, line: 1 });
      }
      const entries = Object.entries(item.record);
      const nul = entries.find(([, v]) => v.includes(NUL));
      if (nul) throw malformed(where, nul[0], `holds ${NUL_EXPECTED}`);
      const row = new Row(entries, where);
      if (kind === 'pupils') out.pupils.push(rowToPupil(row, pupilCols));
      else out.marks.push(...rowToMarks(row, markCols));
      yield* out.drain();
    }
  } catch (err) {
    if (err instanceof CsvError) throw notCsv(err, unit, columns);
    throw err;
  }
  if (recordNo === 0) {
    // Only a file without even a header row is empty. A marks export with its header and no rows
    // (no registers since the last export: a holiday, an INSET day) is no marks; a pupils export
    // with none is never a school's (a report run wrong), and is refused saying so.
    if (!captions?.some((c) => c !== ''))
      throw malformed({ unit }, undefined, 'the file is empty: expected a header row and at least one row');
    const header = new Set(captions.map(normaliseCaption));
    const headerKind = detectKind((c) => header.has(normaliseCaption(c)), pupilCols, markCols, {
      unit,
      line: 1,
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

const NUL = '\u0000';
const NUL_EXPECTED =
  'a NUL character (U+0000), which no field can hold: expected text without control characters';

/**
 * The refusal for csv-parse's error, built from its code, line and column only: its own message can
 * quote the field's text (`value is "Flat 2 …"`), personal data that must not reach the import
 * record, the quarantine note or the log.
 */
function notCsv(err: CsvError, unit: string, columns: number) {
  const info = err as CsvError & { lines?: number; column?: string | number | null; record?: unknown[] };
  const where = { unit, ...(info.lines ? { line: info.lines } : {}) };
  const field = typeof info.column === 'string' ? info.column : undefined;
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
