import type { ImportUnit, MisBatch } from '../../connectors/mis/types.ts';

/** Drains an MIS source's units: label, cursor after each, and its batches. */
export async function collectUnits(units: AsyncIterable<ImportUnit>) {
  const out: { label: string; cursor: string | undefined; batches: MisBatch[] }[] = [];
  for await (const u of units) {
    const batches: MisBatch[] = [];
    for await (const b of u.batches()) batches.push(b);
    out.push({ label: u.label, cursor: u.cursorAfter?.(), batches });
  }
  return out;
}
