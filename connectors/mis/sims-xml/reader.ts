import type { Readable } from 'node:stream';
import { BatchBuffer } from '../batches.ts';
import { malformed } from '../errors.ts';
import { MAX_ELEMENTS_PER_RECORD, MAX_RECORD_TEXT } from '../field-limits.ts';
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
import { nameOf } from '../xml-scanner.ts';

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
  /** The school's `mis.encoding`: how a file with no byte-order mark or declaration is decoded. */
  encoding?: string;
  /** `false`: every record read by the scanner's general path, none by a learned pattern (for tests). */
  fastPath?: boolean;
}

/** The XML Schema namespace: a .NET DataSet's inline schema (`<xs:schema>`) is in it. */
const XML_SCHEMA = 'http://www.w3.org/2001/XMLSchema';

/**
 * Whether `tag`, under the root, is an inline XML Schema: named `schema` in the XML Schema namespace
 * by a declaration on itself (`<xs:schema xmlns:xs="…">`, as .NET writes it) or on the root. An
 * unprefixed `<schema>` with no such declaration, or a prefix bound elsewhere, is not.
 */
function isInlineSchema(
  tag: string,
  own: ReadonlyMap<string, string>,
  root: ReadonlyMap<string, string>,
): boolean {
  const colon = tag.indexOf(':');
  if (tag.slice(colon + 1) !== 'schema') return false;
  const prefix = colon < 0 ? '' : tag.slice(0, colon);
  return (own.get(prefix) ?? root.get(prefix)) === XML_SCHEMA;
}

/** The two SIMS documents Doorstep reads, by root element. */
const ROOTS = {
  SuperStarReport: { name: 'SuperStarReport', record: 'Record', kind: 'pupils' },
  SessionAttendances: { name: 'SessionAttendances', record: 'SessionAttendance', kind: 'marks' },
} as const;

/**
 * Streams a SIMS XML export — a Report Designer / CommandReporter report (`SuperStarReport/Record`,
 * pupils and contacts) or a session-attendance document (`SessionAttendances/SessionAttendance`,
 * marks) — as batches. Memory stays flat: text is decoded and parsed chunk by chunk, at most one
 * batch of records is held, and of a record only the fields Doorstep reads are kept (a record holds
 * at most `MAX_RECORD_TEXT` characters of text in all, read or not).
 *
 * Every element under the root is a record, but for an inline XML Schema (CommandReporter writes a
 * .NET DataSet, `<xs:schema …>` its first child under the root), which is read past, nothing of it
 * kept; and every field of a record Doorstep reads is text: a misspelt record beside good ones (its
 * mark silently dropped) or an element inside a field (its text run into the field's:
 * `<PersonID>1<Note>2</Note></PersonID>` read as pupil 12) is refused at its line. A name from the document is quoted in an error only when it is one Doorstep reads;
 * any other is described by its length (`nameOf`): a garbled file puts a pupil's name where an
 * element's belongs.
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
  /** Characters of text in the record so far (read or not). */
  let recordText = 0;
  let caption = '';
  /** Inside a field (an element in a record). */
  let inField = false;
  /** The field's name when it is one Doorstep reads (it is quoted in errors), else undefined. */
  let field: string | undefined;
  /** The field's text so far; undefined when it is not read, or once refused. */
  let text: string | undefined = '';
  const out = new BatchBuffer();
  let sawRoot = false;
  /** The line the root element opens on. */
  let rootLine = 0;

  /** Namespace declarations of the element about to open, and of the root. */
  let declared = new Map<string, string>();
  let rootDeclared: ReadonlyMap<string, string> = new Map();
  /** Inside an inline XML Schema under the root: read past, its text not kept. */
  let inSchema = false;

  const fail = (err: Error) => xml.fail(err);

  const open = (tag: string) => {
    depth++;
    const own = declared;
    if (own.size > 0) declared = new Map();
    if (inSchema) return;
    if (depth === 1) {
      if (own.size > 0) rootDeclared = own;
      sawRoot = true;
      rootLine = xml.line;
      // Own keys only: a root named `constructor` or `__proto__` is not a document Doorstep reads.
      root = Object.hasOwn(ROOTS, tag) ? ROOTS[tag as keyof typeof ROOTS] : undefined;
      if (!root) {
        // The name is the document's: quoted only when it is a root Doorstep knows (a CTF's).
        const found = tag === 'CTfile' ? '<CTfile>' : `(a name ${nameOf(tag)})`;
        fail(
          malformed(
            { unit, line: xml.line },
            undefined,
            `unexpected root element ${found}: expected <SuperStarReport> (pupils report) or <SessionAttendances> (marks)${tag === 'CTfile' ? "; this is a CTF file: import it with --format ctf (or drop it where the school's mis.kind is ctf)" : ''}`,
          ),
        );
      }
    } else if (depth === 2 && root && tag !== root.record && isInlineSchema(tag, own, rootDeclared)) {
      // A .NET DataSet's schema, written before its records: read past, nothing of it kept (its
      // text is never collected: no record is open), however long.
      inSchema = true;
    } else if (depth === 2 && root && tag !== root.record) {
      // Not a record of this document (a misspelt record element): read past, its records were
      // dropped without a word — one mark gone among thousands — so the file is refused here.
      fail(
        malformed(
          { unit, line: xml.line },
          undefined,
          `an element (a name ${nameOf(tag)}) under <${root.name}> that is not a <${root.record}>: expected only <${root.record}> records (nothing was imported)`,
        ),
      );
    } else if (depth === 2 && root) {
      recordNo++;
      recordLine = xml.line;
      fields = recordFields;
      fields.clear();
      fieldCount = 0;
      recordText = 0;
    } else if (depth === 3 && fields) {
      const c = captionOf(tag, fieldCount);
      caption = c.caption;
      inField = true;
      // Only the fields Doorstep reads are kept: a record of thousands of others held them all.
      const read = readCaptions.has(caption);
      field = read ? c.name : undefined;
      text = read ? '' : undefined;
      if (++fieldCount > MAX_ELEMENTS_PER_RECORD) {
        fail(
          malformed(
            { unit, line: recordLine, record: recordNo },
            undefined,
            `a record with more than ${MAX_ELEMENTS_PER_RECORD} fields`,
          ),
        );
      }
    } else if (depth === 4 && inField && field !== undefined) {
      // Its text and the field's would run together (`<PersonID>1<Note>2</Note></PersonID>` read as
      // pupil 12): which is the value cannot be told.
      fail(
        malformed(
          { unit, line: xml.line, record: recordNo },
          field,
          'the field holds an element: expected only text',
        ),
      );
    }
  };
  const close = () => {
    if (inSchema) {
      if (depth === 2) inSchema = false;
    } else if (depth === 3 && fields && inField) {
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
      inField = false;
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
      namespace: (prefix, uri) => declared.set(prefix, uri),
      open,
      text: (t) => {
        if (!fields) return;
        recordText += t.length;
        if (recordText > MAX_RECORD_TEXT) {
          fail(
            malformed(
              { unit, line: recordLine, record: recordNo },
              undefined,
              `a record holding more than ${MAX_RECORD_TEXT} characters of text, far more than any export's: the file is refused without reading the rest`,
            ),
          );
          text = undefined;
        } else if (depth === 3 && text !== undefined) text = xml.append(text, t, field);
      },
      close,
    },
    { field: () => field, fastPath: options.fastPath ?? true },
  );

  for await (const _ of xml.feed(input, { onBytes: options.onBytes, encoding: options.encoding }))
    yield* out.drain();
  if (!sawRoot) throw malformed({ unit }, undefined, 'expected an XML document with a root element');
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
