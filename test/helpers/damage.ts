/**
 * A document damaged by edits at positions taken modulo its length: a character inserted, deleted or
 * replaced, or the rest cut off — what the fuzzing tests of the XML readers break documents with.
 */
export function damaged(doc: string, ops: readonly (readonly [number, string, string])[]): string {
  return ops.reduce((d, [at, op, ch]) => {
    const i = d.length === 0 ? 0 : at % d.length;
    if (op === 'truncate') return d.slice(0, i);
    return op === 'insert'
      ? d.slice(0, i) + ch + d.slice(i)
      : d.slice(0, i) + (op === 'replace' ? ch : '') + d.slice(i + 1);
  }, doc);
}
