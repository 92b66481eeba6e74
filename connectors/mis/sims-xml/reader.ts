import type { Readable } from 'node:stream';
import { BatchBuffer } from '../batches.ts';
import { malformed } from '../errors.ts';
import { MAX_ELEMENTS_PER_RECORD } from '../field-limits.ts';
import {
  DEFAULT_MARK_COLUMNS,
  DEFAULT_PUPIL_COLUMNS,
  type MarkColumns,
  normaliseCaption,
  type PupilColumns,
  RecordFields,
  Row,
  rowToMarks,
  rowToPupil,
} from '../row-mapping.ts';
import { SafeXml } from '../safe-xml.ts';
import type { MisBatch } from '../types.ts';

/** `Legal_x0020_Surname` → `Legal Surname` (XML-encoded characters in element names). */
export function decodeXmlName(name: string): string {
  if (!name.includes('_x')) return name;
  return name.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

export interface SimsXmlOptions {
  unit: string;
  pupilColumns?: Partial<PupilColumns>;
  markColumns?: Partial<MarkColumns>;
  onBytes?: (n: number) => void;
  /** `false`: every record read by the scanner's general path, none by a learned pattern (for tests). */
  fastPath?: boolean;
}

/** The two SIMS documents Doorstep reads, by root element. */
const ROOTS = {
  SuperStarReport: { record: 'Record', kind: 'pupils' },
  SessionAttendances: { record: 'SessionAttendance', kind: 'marks' },
} as const;

/**
 * Streams a SIMS XML export — a Report Designer / CommandReporter report (`SuperStarReport/Record`,
 * pupils and contacts) or a session-attendance document (`SessionAttendances/SessionAttendance`,
 * marks) — as batches. Memory stays flat: text is decoded and parsed chunk by chunk and at most one
 * batch of records is held.
 *
 * Safety: a DOCTYPE is refused outright, so no external entity is ever resolved and no
 * entity-expansion bomb can be declared; an undeclared entity reference is a parse error.
 */
export async function* readSimsXml(input: Readable, options: SimsXmlOptions): AsyncGenerator<MisBatch> {
  const unit = options.unit;
  const pupilCols: PupilColumns = { ...DEFAULT_PUPIL_COLUMNS, ...options.pupilColumns };
  const markCols: MarkColumns = { ...DEFAULT_MARK_COLUMNS, ...options.markColumns };
  /** The fields Doorstep reads (either kind of report): one of these twice in a record is refused. */
  const readCaptions = new Set(
    [...Object.values(pupilCols), ...Object.values(markCols)].map(normaliseCaption),
  );
  let root: (typeof ROOTS)[keyof typeof ROOTS] | undefined;
  let depth = 0;
  let recordNo = 0;
  let recordLine = 0;
  // The same places for every record: a record is mapped to its marks or pupil as soon as it closes.
  const recordFields = new RecordFields();
  let fields: RecordFields | undefined;
  // Element name → its caption as a row looks it up. Every record repeats the same names in the
  // same order, so the name at the same position in the previous record is tried first.
  const captions = new Map<string, { name: string; caption: string }>();
  const byPosition: { tagName: string; name: string; caption: string }[] = [];
  const captionOf = (tagName: string, position: number) => {
    const same = byPosition[position];
    if (same?.tagName === tagName) return same;
    let c = captions.get(tagName);
    if (c === undefined) {
      const name = decodeXmlName(tagName);
      c = { name, caption: normaliseCaption(name) };
      if (captions.size < 10_000) captions.set(tagName, c);
    }
    if (position < 64) byPosition[position] = { tagName, ...c };
    return c;
  };
  let fieldCount = 0;
  let caption = '';
  let field: string | undefined;
  let text: string | undefined = '';
  const out = new BatchBuffer();
  let sawRoot = false;
  /** The line the root element opens on. */
  let rootLine = 0;
  /** The first element under the root that is not its record, where, and how many there were. */
  let other: { tag: string; line: number; count: number } | undefined;

  const fail = (err: Error) => xml.fail(err);

  const open = (tag: string) => {
    depth++;
    if (depth === 1) {
      sawRoot = true;
      rootLine = xml.line;
      // Own keys only: a root named `constructor` or `__proto__` is not a document Doorstep reads.
      root = Object.hasOwn(ROOTS, tag) ? ROOTS[tag as keyof typeof ROOTS] : undefined;
      if (!root) {
        fail(
          malformed(
            { unit, line: xml.line },
            undefined,
            `unexpected root element <${tag}>: expected <SuperStarReport> (pupils report) or <SessionAttendances> (marks)${tag === 'CTfile' ? "; this is a CTF file: import it with --format ctf (or drop it where the school's mis.kind is ctf)" : ''}`,
          ),
        );
      }
    } else if (depth === 2 && root && tag !== root.record) {
      // Not a record of this document: counted, so a document of nothing but these (a misspelt
      // record element) is refused instead of importing no marks as if there were none.
      if (!other) other = { tag, line: xml.line, count: 0 };
      other.count++;
    } else if (depth === 2 && root) {
      recordNo++;
      recordLine = xml.line;
      fields = recordFields;
      fields.clear();
      fieldCount = 0;
    } else if (depth === 3 && fields) {
      ({ name: field, caption } = captionOf(tag, fieldCount));
      text = '';
      if (++fieldCount > MAX_ELEMENTS_PER_RECORD) {
        fail(
          malformed(
            { unit, line: recordLine, record: recordNo },
            undefined,
            `a record with more than ${MAX_ELEMENTS_PER_RECORD} fields`,
          ),
        );
      }
    }
  };
  const close = () => {
    if (depth === 3 && fields && field !== undefined) {
      // A field twice in one record (`<AttendanceMark>` twice, two `<PersonID>`s): which one the
      // school meant cannot be told, and the later would silently win — the record is refused.
      if (text !== undefined && fields.has(caption) && readCaptions.has(caption))
        fail(
          malformed(
            { unit, line: recordLine, record: recordNo },
            field,
            'the field appears twice in this record: expected it once',
          ),
        );
      if (text !== undefined) fields.set(caption, text);
      field = undefined;
    } else if (depth === 2 && fields && root) {
      const row = new Row(fields, { unit, line: recordLine, record: recordNo }, 'normalised');
      fields = undefined;
      try {
        if (root.kind === 'pupils') out.pupils.push(rowToPupil(row, pupilCols));
        else out.marks.push(...rowToMarks(row, markCols));
      } catch (err) {
        fail(err as Error);
      }
    }
    depth--;
  };
  const xml = new SafeXml(
    unit,
    {
      open,
      text: (t) => {
        if (field !== undefined && text !== undefined) text = xml.append(text, t, field);
      },
      close,
    },
    { field: () => field, fastPath: options.fastPath ?? true },
  );

  for await (const _ of xml.feed(input, options.onBytes)) yield* out.drain();
  if (!sawRoot) throw malformed({ unit }, undefined, 'expected an XML document with a root element');
  if (root && recordNo === 0 && other)
    throw malformed(
      { unit, line: other.line },
      undefined,
      `no <${root.record}> records: the document holds ${other.count} <${other.tag}> element${other.count === 1 ? '' : 's'} instead (expected <${root.record}>; nothing was imported)`,
    );
  // A session-attendance document with no records is no marks (no registers since the last export,
  // as a CSV marks file with its header and no rows); a pupils report with none is never a school's
  // (a report run wrong), and is refused saying so, as a CSV pupils export with no rows is.
  if (root?.kind === 'pupils' && recordNo === 0)
    throw malformed(
      { unit, line: rootLine },
      undefined,
      `the report has its <SuperStarReport> and no pupils: expected at least one pupil <${root.record}> (nothing was imported)`,
    );
  yield* out.drain(true);
}
