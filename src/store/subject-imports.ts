/**
 * A pupil's share of an import row, for their subject-access export: an import's lists name every
 * pupil the file touched (`changed_pupils`), refused (`rejected` by its `pupil`, `rejected_causes`' first ids) or
 * marked on a closed day (`calendar_problems`) — other children, their ids (a CTF school's are UPNs)
 * and marks. Only this pupil's entries are given; the import's own facts (its file, status, dates,
 * counts) stay whole.
 */
export function pupilsShareOfImport(
  row: Record<string, unknown>,
  pupil: string,
): { about: boolean; trimmed: string[] } {
  const trimmed: string[] = [];
  let about = false;
  /** The column's entries that are this pupil's (`mine`), the others left out. */
  const only = (column: string, mine: (entry: unknown) => boolean) => {
    const all = row[column];
    if (!Array.isArray(all)) return;
    const kept = all.filter(mine);
    if (kept.length > 0) about = true;
    if (kept.length < all.length) trimmed.push(column);
    row[column] = kept;
  };
  only('changed_pupils', (id) => id === pupil);
  only('calendar_problems', (c) => (c as { pupil?: unknown } | null)?.pupil === pupil);
  // A refused row is theirs when it names them by its own `pupil` field (the MIS id, kept by the
  // import's reject). Entries from before that field was kept have none, and are not given: their text
  // can hold any number (a line, another pupil's id, a date) — the import's rejected_causes counts are.
  only('rejected', (r) => (r as { pupil?: unknown } | null)?.pupil === pupil);
  // A cause's counts are the import's; its first ids, when they are pupils', only this pupil's.
  const causes = row.rejected_causes;
  if (Array.isArray(causes))
    row.rejected_causes = causes.map((g) => {
      const cause = g as { idKind?: unknown; first?: unknown } | null;
      if (cause?.idKind !== 'pupils' || !Array.isArray(cause.first)) return g;
      const first = cause.first.filter((id) => id === pupil);
      if (first.length > 0) about = true;
      if (first.length === cause.first.length) return g;
      if (!trimmed.includes('rejected_causes')) trimmed.push('rejected_causes');
      return { ...cause, first };
    });
  return { about, trimmed };
}
