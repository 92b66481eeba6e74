import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export type ConfigPath = readonly PropertyKey[];

/** `['schools', 1, 'mis', 'baseUrl']` → `schools[1].mis.baseUrl` */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

/**
 * The 1-based line of the deepest YAML node on `path`. When the path ends at a key that is absent
 * (a required field left out), the line of its nearest existing parent is given instead.
 * `preferKey` points at the key itself rather than its value (for unknown keys).
 */
export function lineOf(
  doc: Document,
  counter: LineCounter,
  path: ConfigPath,
  preferKey = false,
): number | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = isNode(node) ? node : undefined;
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) break;
      const key = pair.key as Node;
      const value = pair.value;
      if (last && preferKey) {
        found = key;
        break;
      }
      found = isNode(value) ? value : key;
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!isNode(item)) break;
      found = item;
      node = item;
    } else break;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}
