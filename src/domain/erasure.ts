/**
 * What stands in a kept text for a value of an erased person (a lone-worker incident kept after
 * its pupil is erased: the resolver's note, the worker's running-late reason on its timeline).
 */
export const ERASED = '[erased]';

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A value all digits (a pupil id `2026`, a number) is a number of its own only: not the part of a date,
 * a time or a decimal — `2026-03-15`, `15/03/2026`, `12:05`, `3.12` — that a `-`, `/`, `:` or `.`
 * joins to another digit. (A full stop that ends a sentence is no part of the number: `pupil 2026.`)
 */
const NOT_JOINED = (v: string) => `(?<!\\p{N}[-:/.])${v}(?![-:/.]\\p{N})`;

/**
 * `text` with every whole occurrence of each of `values` (case-insensitively; a value's spaces
 * match any run of spaces) replaced by `ERASED`. Whole: not inside a longer word or number, so a
 * pupil id `1001` leaves `10015` alone — nor, for a value all digits, inside a date, a time or a
 * decimal (`NOT_JOINED`). Values shorter than two characters name no one and are not looked for (an
 * initial would take every such letter); longer values first, so a full name goes whole before its
 * parts.
 */
export function withoutValues(text: string, values: readonly (string | null | undefined)[]): string {
  const wanted = [
    ...new Set(
      values
        .map((v) => v?.trim().replace(/\s+/g, ' ') ?? '')
        .filter((v) => v.length >= 2)
        .map((v) => v.toLowerCase()),
    ),
  ].sort((a, b) => b.length - a.length);
  if (!wanted.length) return text;
  const pattern = wanted
    .map((v) => (/^\p{Nd}+$/u.test(v) ? NOT_JOINED(literal(v)) : literal(v).replace(/ /g, '\\s+')))
    .join('|');
  return text.replace(new RegExp(`(?<![\\p{L}\\p{N}])(?:${pattern})(?![\\p{L}\\p{N}])`, 'giu'), ERASED);
}
