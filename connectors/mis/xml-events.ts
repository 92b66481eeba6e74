import type { Readable } from 'node:stream';
import { malformed } from './errors.ts';
import { MAX_ELEMENTS_PER_RECORD } from './field-limits.ts';
import { SafeXml } from './safe-xml.ts';

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
 */
export async function* streamXmlElements(
  input: Readable,
  unit: string,
  options: { path: string; root: string; keep?: readonly string[]; onBytes?: (n: number) => void },
): AsyncGenerator<{ node: XmlNode } | { header: string; text: string }> {
  const stack: string[] = [];
  const nodes: XmlNode[] = [];
  let elements = 0;
  const ready: ({ node: XmlNode } | { header: string; text: string })[] = [];
  const keep = new Set(options.keep ?? []);
  let headerText = '';
  const fail = (err: Error) => xml.fail(err);

  const open = (name: string) => {
    stack.push(name);
    if (stack.length === 1 && name !== options.root) {
      fail(
        malformed(
          { unit, line: xml.line },
          undefined,
          `unexpected root element <${name}>: expected <${options.root}>`,
        ),
      );
    }
    const path = stack.join('/');
    if (nodes.length > 0 || path === options.path) {
      if (nodes.length === 0) elements = 0;
      if (++elements > MAX_ELEMENTS_PER_RECORD) {
        fail(
          malformed(
            { unit, line: xml.line },
            undefined,
            `a <${options.path.split('/').at(-1)}> with more than ${MAX_ELEMENTS_PER_RECORD} elements`,
          ),
        );
      }
      const node: XmlNode = { name, line: xml.line, text: '', children: [] };
      nodes.at(-1)?.children.push(node);
      nodes.push(node);
    } else if (keep.has(path)) headerText = '';
  };
  const text = (t: string) => {
    const top = nodes.at(-1);
    if (top) top.text = xml.append(top.text, t, top.name) ?? top.text;
    else if (keep.has(stack.join('/'))) headerText = xml.append(headerText, t, stack.at(-1)) ?? headerText;
  };
  const close = () => {
    const path = stack.join('/');
    if (nodes.length > 0) {
      const node = nodes.pop()!;
      if (nodes.length === 0) ready.push({ node });
    } else if (keep.has(path)) ready.push({ header: path, text: headerText.trim() });
    stack.pop();
  };
  const xml = new SafeXml(unit, { open, text, close }, { field: () => nodes.at(-1)?.name });

  for await (const _ of xml.feed(input, options.onBytes)) yield* ready.splice(0);
  yield* ready.splice(0);
}
