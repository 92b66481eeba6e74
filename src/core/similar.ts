/**
 * Whether two names are likely one misspelt as the other: a small edit distance (relative to their
 * length), or one a prefix of the other. Used to say "did you mean …?" for a key or a name in the
 * config. Case is ignored.
 */
export function similar(a: string, b: string): boolean {
  return (
    distance(a.toLowerCase(), b.toLowerCase()) <=
      Math.max(2, Math.floor(Math.max(a.length, b.length) / 2.5)) ||
    a.toLowerCase().startsWith(b.toLowerCase()) ||
    b.toLowerCase().startsWith(a.toLowerCase())
  );
}

/** The candidate `word` is most likely a misspelling of, if any is `similar` to it: the nearest one. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (!similar(word, c)) continue;
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance. */
function distance(x: string, y: string): number {
  const prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (x[i - 1] === y[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[y.length]!;
}
