/**
 * PostgreSQL array literals for bulk parameters (`unnest($1::text[])`), each built with one join.
 * node-pg's own encoder quotes and escapes every element of an array it is given; for an import's
 * hundreds of thousands of ids, dates and codes that was a sixth of the import's time and most of its
 * garbage. Here an element is quoted only when it must be (anything but letters, digits and
 * `_-.:/+@`, an empty string, or the word NULL), escaping `"` and `\` as the array input syntax asks.
 */
const PLAIN = /^[A-Za-z0-9_\-.:/+@]+$/;

/** Short values that need quoting (the afternoon present mark, a backslash) repeat: quoted once. */
const quotedShort = new Map<string, string>();

function element(v: string): string {
  if (PLAIN.test(v) && !(v.length === 4 && v.toUpperCase() === 'NULL')) return v;
  let q = v.length <= 8 ? quotedShort.get(v) : undefined;
  if (q === undefined) {
    q = `"${v.replace(/[\\"]/g, '\\$&')}"`;
    if (v.length <= 8 && quotedShort.size < 1000) quotedShort.set(v, q);
  }
  return q;
}

/** `{a,"b c",NULL}` for `$n::text[]` (or `::date[]`: dates as YYYY-MM-DD are plain). */
export function textArray(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    parts[i] = v === null || v === undefined ? 'NULL' : element(v);
  }
  return `{${parts.join(',')}}`;
}

/** `{1,2,NULL}` for `$n::int[]`; anything but a safe integer is a bug and throws. */
export function intArray(values: readonly (number | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (Number.isSafeInteger(v)) parts[i] = String(v);
    else throw new TypeError(`intArray: element ${i} is not an integer`);
  }
  return `{${parts.join(',')}}`;
}
