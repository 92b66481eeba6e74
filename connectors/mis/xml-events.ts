import type { Readable } from 'node:stream';
import { malformed } from './errors.ts';
import { MAX_ELEMENTS_PER_RECORD, MAX_RECORD_TEXT } from './field-limits.ts';
import { SafeXml } from './safe-xml.ts';
import { nameOf } from './xml-scanner.ts';

/** A small element tree: text, children by name (repeated names collect in arrays). */
export interface XmlNode {
  name: string;
  line: number;
  text: string;
  children: XmlNode[];
}

export function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((c) => c.name === name);
}

export function childText(node: XmlNode, name: string): string | null {
  const c = child(node, name);
  const t = c?.text.trim();
  return t ? t : null;
}

export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}

/**
 * Streams an XML document and hands over each element at `path` (e.g. `CTfile/CTFpupilData/Pupil`)
 * as a small tree, plus the text of elements on `keep` paths outside those subtrees (headers).
 * Same safety rules as every Doorstep XML reader: DOCTYPE refused, entities never resolved, a
 * truncated or malformed document is an error with its line.
 *
 * Of each element at `path` only what the caller reads is kept: the elements on `fields` (paths
 * under it, `UPN`, `Attendance/YearData/LEA`) with their text, and the elements on the way to them;
 * every other element is counted and read past. One element holds at most `MAX_ELEMENTS_PER_RECORD`
 * elements and `MAX_RECORD_TEXT` characters of text in all, read or not — before, every element's
 * text was kept, and one record of thousands of long values ran the worker out of memory. A field
 * or header holding an element is refused at its line: its text and the element's would run
 * together (`<UPN>A1234<X/>56789012</UPN>` read as one UPN). A name from the document is quoted in
 * an error only when it is one Doorstep knows; any other is described by its length (`nameOf`).
 */
export async function* streamXmlElements(
  input: Readable,
  unit: string,
  options: {
    path: string;
    root: string;
    fields: readonly string[];
    keep?: readonly string[];
    /** Roots Doorstep knows that are not `root`, each with the hint a refusal gives. */
    otherRoots?: Readonly<Record<string, string>>;
    /** The school's `mis.encoding`: how a file with no byte-order mark or declaration is decoded. */
    encoding?: string;
    onBytes?: (n: number) => void;
  },
): AsyncGenerator<{ node: XmlNode } | { header: string; text: string }> {
  const stack: string[] = [];
  const recordDepth = options.path.split('/').length;
  const recordName = options.path.split('/').at(-1);
  const fields = new Set(options.fields);
  /** The paths on the way to a field: kept as elements, their text not. */
  const ways = new Set(
    options.fields.flatMap((f) =>
      f
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  );
  /** The open elements of the record being read: its node, or null for one read past. */
  const frames: { node: XmlNode | null; field: boolean }[] = [];
  let elements = 0;
  let recordText = 0;
  /** Records read so far (the one open is this one). */
  let records = 0;
  const ready: ({ node: XmlNode } | { header: string; text: string })[] = [];
  const keep = new Set(options.keep ?? []);
  let headerText = '';
  /** The header (a `keep` path) open, if any. */
  let header: string | undefined;
  const fail = (err: Error) => xml.fail(err);
  const holdsElement = (field: string) =>
    fail(
      malformed(
        { unit, line: xml.line, ...(frames.length > 0 ? { record: records } : {}) },
        field,
        'the field holds an element: expected only text',
      ),
    );

  const open = (name: string) => {
    stack.push(name);
    if (stack.length === 1 && name !== options.root) {
      const hint =
        options.otherRoots && Object.hasOwn(options.otherRoots, name) ? options.otherRoots[name] : undefined;
      fail(
        malformed(
          { unit, line: xml.line },
          undefined,
          hint === undefined
            ? `unexpected root element (a name ${nameOf(name)}): expected <${options.root}>`
            : `unexpected root element <${name}>: expected <${options.root}>; ${hint}`,
        ),
      );
    }
    const parent = frames.at(-1);
    if (parent) {
      if (++elements > MAX_ELEMENTS_PER_RECORD) {
        fail(
          malformed(
            { unit, line: xml.line },
            undefined,
            `a <${recordName}> with more than ${MAX_ELEMENTS_PER_RECORD} elements`,
          ),
        );
      }
      if (parent.field) holdsElement(parent.node!.name);
      const at = parent.node ? stack.slice(recordDepth).join('/') : '';
      const field = fields.has(at);
      if (parent.node && (field || ways.has(at))) {
        const node: XmlNode = { name, line: xml.line, text: '', children: [] };
        parent.node.children.push(node);
        frames.push({ node, field });
      } else frames.push({ node: null, field: false });
      return;
    }
    if (header !== undefined) holdsElement(header);
    const path = stack.join('/');
    if (path === options.path) {
      elements = 1;
      recordText = 0;
      records++;
      frames.push({ node: { name, line: xml.line, text: '', children: [] }, field: false });
    } else if (keep.has(path)) {
      header = path;
      headerText = '';
    }
  };
  const text = (t: string) => {
    const top = frames.at(-1);
    if (top) {
      recordText += t.length;
      if (recordText > MAX_RECORD_TEXT) {
        fail(
          malformed(
            { unit, line: frames[0]!.node!.line, record: records },
            undefined,
            `a <${recordName}> holding more than ${MAX_RECORD_TEXT} characters of text, far more than any export's: the file is refused without reading the rest`,
          ),
        );
      } else if (top.field) top.node!.text = xml.append(top.node!.text, t, top.node!.name) ?? top.node!.text;
    } else if (header !== undefined) headerText = xml.append(headerText, t, header) ?? headerText;
  };
  const close = () => {
    if (frames.length > 0) {
      const { node } = frames.pop()!;
      if (frames.length === 0) ready.push({ node: node! });
    } else if (header !== undefined) {
      ready.push({ header, text: headerText.trim() });
      header = undefined;
    }
    stack.pop();
  };
  const xml = new SafeXml(
    unit,
    { open, text, close },
    {
      field: () => {
        const top = frames.at(-1);
        return top ? (top.field ? top.node!.name : undefined) : header;
      },
    },
  );

  for await (const _ of xml.feed(input, { onBytes: options.onBytes, encoding: options.encoding }))
    yield* ready.splice(0);
  yield* ready.splice(0);
}
