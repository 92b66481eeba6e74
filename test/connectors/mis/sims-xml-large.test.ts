import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('SIMS XML reader on a 1 GB file', () => {
  it('streams it with the JS heap capped at 64 MB (the file is never held in memory)', () => {
    const GB = 1024 ** 3;
    const out = execFileSync(
      process.execPath,
      ['--max-old-space-size=64', 'test/helpers/stream-large-sims-xml.ts', String(GB)],
      {
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
      marks: number;
      bytes: number;
      peakHeapMb: number;
    };
    expect(r.bytes).toBeGreaterThanOrEqual(GB);
    // ~195 bytes per row: every row of the gigabyte came through as a mark.
    expect(r.marks).toBeGreaterThan(5_400_000);
    // Old space is capped at 64 MB (the process would have died otherwise); young space adds a little.
    expect(r.peakHeapMb).toBeLessThan(128);
  }, 300_000);
});
