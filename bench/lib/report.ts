/** Shared benchmark output: a readable table, then one JSON object as the very last line. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

export function printResult(result: Record<string, unknown>): void {
  console.log(JSON.stringify(result));
}

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));
