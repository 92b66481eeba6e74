/** JSON with object keys sorted (PostgreSQL's jsonb does not keep key order). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

/**
 * `stableJson(a) === stableJson(b)`, without building either string: the nightly run compares every
 * open episode's stored evidence with the new finding's, and sorting and serialising both was most of
 * a steady night's own work. Plain objects and arrays are walked; anything else (a number, a string,
 * a `Date` or another object with its own JSON form) is compared by its JSON text, so the answer is
 * the same as comparing the two strings.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Two different strings, booleans or finite numbers never write the same JSON.
  const type = typeof a;
  if (type === typeof b && (type === 'string' || type === 'boolean' || bothFinite(a, b))) return false;
  const kind = plainKind(a);
  if (kind === null || kind !== plainKind(b)) return stableJson(a) === stableJson(b);
  if (kind === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    // In an array, a value JSON cannot hold (undefined, a function) is written as null.
    for (let i = 0; i < x.length; i++) if (!sameJson(inArray(x[i]), inArray(y[i]))) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // In an object, a key whose value JSON cannot hold is left out.
  let n = 0;
  for (const k of Object.keys(x)) {
    const v = x[k];
    if (omitted(v)) continue;
    n++;
    if (!Object.hasOwn(y, k) || omitted(y[k]) || !sameJson(v, y[k])) return false;
  }
  for (const k of Object.keys(y)) if (!omitted(y[k])) n--;
  return n === 0;
}

/** 'array' or 'object' for a plain array or object (no JSON form of its own), else null. */
function plainKind(v: unknown): 'array' | 'object' | null {
  if (v === null || typeof v !== 'object' || typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return null;
  if (Array.isArray(v)) return 'array';
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null ? 'object' : null;
}

function bothFinite(a: unknown, b: unknown): boolean {
  return typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b);
}

function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function inArray(v: unknown): unknown {
  return omitted(v) ? null : v;
}
