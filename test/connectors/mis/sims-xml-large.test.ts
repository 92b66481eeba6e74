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

/**
 * Found by review: the readers kept every field of a record, read or not, and the only bounds were
 * 64K characters a value and 5000 elements a record — one record of 320M characters. One hostile
 * 65 MB file ran the worker out of memory at every sync (it never got as far as the quarantine).
 * Now only the fields a reader reads are kept, and a record holds at most 1M characters of text.
 */
describe('XML readers on one record of a thousand 65,000-character fields (65 MB) it does not read', () => {
  for (const [format, at] of [
    ['sims-xml', /^wide\.xml, line 3, record 1: a record holding more than 1000000 characters of text/],
    ['ctf', /^wide\.xml, line 3, record 1: a <Pupil> holding more than 1000000 characters of text/],
  ] as const) {
    it(`${format}: refuses the file at the record's line under a 64 MB heap cap, never running out of memory`, () => {
      const out = execFileSync(
        process.execPath,
        ['--max-old-space-size=64', 'test/helpers/stream-large-sims-xml.ts', 'wide', format, '1000'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as { records: number; error?: string };
      expect(r.records).toBe(0);
      expect(r.error).toMatch(at);
    }, 150_000);
  }
});

/**
 * A CommandReporter report's inline XML Schema is read past, nothing of it kept: a schema however
 * long (here 65 MB of documentation) neither fills memory nor counts against a record's text.
 */
describe('SIMS XML reader on a report whose inline XML Schema is 65 MB', () => {
  it('reads past it under a 64 MB heap cap and reads the record after it', () => {
    const script = `
      import { Readable } from 'node:stream';
      import { readSimsXml } from './connectors/mis/sims-xml/reader.ts';
      function* doc() {
        yield Buffer.from('<SuperStarReport>\\n<xs:schema id="SuperStarReport" xmlns="" xmlns:xs="http://www.w3.org/2001/XMLSchema">\\n');
        const text = 'A'.repeat(65_000);
        for (let i = 0; i < 1000; i++)
          yield Buffer.from('<xs:annotation><xs:documentation>' + text + '</xs:documentation></xs:annotation>\\n');
        yield Buffer.from('</xs:schema>\\n<Record><ID>1</ID><Forename>A</Forename><Surname>B</Surname></Record>\\n</SuperStarReport>\\n');
      }
      const ids = [];
      for await (const b of readSimsXml(Readable.from(doc()), { unit: 'schema.xml' }))
        if (b.kind === 'pupils') ids.push(...b.pupils.map((p) => p.misId));
      console.log(JSON.stringify({ ids }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--max-old-space-size=64', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ ids: ['1'] });
  }, 150_000);
});
