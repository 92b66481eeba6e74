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
  const parser = text.pipe(
    parse({
      columns: (header: string[]) => header.map((h) => h.trim()),
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
      const row = new Row(Object.entries(item.record), where);
      if (kind === 'pupils') out.pupils.push(rowToPupil(row, pupilCols));
      else out.marks.push(...rowToMarks(row, markCols));
      yield* out.drain();
    }
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      if (err.code === 'CSV_MAX_RECORD_SIZE') {
        const column = (err as CsvError & { column?: string | number | null }).column;
        throw malformed(
          { unit, ...(line ? { line } : {}) },
          typeof column === 'string' ? column : undefined,
          `a row longer than ${MAX_VALUE_READ} characters, far over any field's limit: the file is refused without reading the rest`,
        );
      }
      throw malformed(
        { unit, ...(line ? { line } : {}) },
        undefined,
        `not valid CSV: ${err.message.replace(/^Invalid Record Length: /, 'row length differs from the header: ')}`,
      );
    }
    throw err;
  }
  if (recordNo === 0)
    throw malformed({ unit }, undefined, 'the file is empty: expected a header row and at least one row');
  yield* out.drain(true);
}
