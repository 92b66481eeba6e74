/**
 * How a leaver's Destination text is read — the one place for its words, for every MIS source that
 * gives a destination (a CSV or SIMS XML export's Destination column; the CTF, Arbor and Wonde give
 * none). Three readings:
 *
 * - `unknown`: it says in so many words that nobody knows where the pupil went (`UNKNOWN_WORDS`):
 *   a child missing education by the roll.
 * - `none`: it says nothing of where they went — a placeholder (`PLACEHOLDER_WORDS`: "N/A", "None",
 *   "TBC"…) or punctuation alone ("-", "?", "…"): read as an empty cell, no destination given.
 *   Read as a named destination, it would take the pupil out of the school's own rules and most of
 *   the law's as one found (src/domain/triggers/evaluator.ts) though nothing says they were.
 * - `named`: anything else — a destination, whatever it says.
 *
 * Words are matched ignoring case, spacing and punctuation (anything but a letter or digit of any
 * script). Nothing but `UNKNOWN_WORDS` is read as unknown: a placeholder says nothing of whether
 * anyone knows. Migration 077_leaving_destination_placeholders.sql holds a copy of these lists for
 * destinations stored before them: a word added here is added there only by a new migration.
 */
export type DestinationReading = 'named' | 'unknown' | 'none';

/** "Unknown", "Not known", "CME", the CTF's lost-pupil code `MMM`/`MMMM` (`MMMMMMM`), "N/K"… */
export const UNKNOWN_WORDS: ReadonlySet<string> = new Set([
  'unknown',
  'not known',
  'n k',
  'nk',
  'not known yet',
  'not yet known',
  'unknown at present',
  'currently unknown',
  'destination unknown',
  'unknown destination',
  'destination not known',
  'cme',
  'c m e',
  'child missing education',
  'child missing from education',
  'children missing education',
  'children missing from education',
  'mmm mmmm',
  'mmmmmmm',
]);

/** Placeholders that say nothing of where the pupil went. */
export const PLACEHOLDER_WORDS: ReadonlySet<string> = new Set([
  'n a',
  'na',
  'none',
  'nil',
  'not applicable',
  'tbc',
  't b c',
  'tba',
  't b a',
  'to be confirmed',
  'to be advised',
  'to follow',
]);

/**
 * Lower case, every run of characters other than a letter or digit (in any script) one space,
 * trimmed: the form the words are in. Letters of other scripts stay, so "Ελλάδα TBC" or
 * "Україна — unknown" is never taken for the placeholder or the word beside it.
 */
function wordsOf(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * How a Destination's text is read (see the top of this file). Punctuation alone is no letter or
 * digit in any script: a destination named in another script ("北京第一中学") is named.
 */
export function readDestination(text: string): DestinationReading {
  if (!/[\p{L}\p{N}]/u.test(text)) return 'none';
  const words = wordsOf(text);
  if (UNKNOWN_WORDS.has(words)) return 'unknown';
  if (PLACEHOLDER_WORDS.has(words)) return 'none';
  return 'named';
}
