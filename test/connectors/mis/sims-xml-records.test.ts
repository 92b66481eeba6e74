import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSimsXml } from '../../../connectors/mis/sims-xml/reader.ts';
import { damaged } from '../../helpers/damage.ts';
import { countFastRecords } from '../../helpers/fast-records.ts';

/** Records read by a learned pattern, counted. */
const fast = countFastRecords();

/** What the reader gives for a document split into chunks: its batches, or its error. */
async function read(doc: string, chunks: readonly number[], fastPath: boolean): Promise<unknown> {
  const bytes = Buffer.from(doc);
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = chunks[i % chunks.length]!;
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  const batches: unknown[] = [];
  try {
    for await (const b of readSimsXml(Readable.from(parts), { unit: 'f.xml', fastPath })) batches.push(b);
  } catch (err) {
    return { batches, error: (err as Error).message };
  }
  return { batches };
}

async function same(doc: string, chunks: readonly number[]): Promise<unknown> {
  const general = await read(doc, chunks, false);
  expect({ doc, chunks, r: await read(doc, chunks, true) }).toEqual({ doc, chunks, r: general });
  return general;
}

// Session attendances, most records well formed and alike, with values a row may refuse, fields
// missing, repeated, moved or nested, attributes, comments, entities, CRs and spaces between them.
const value = (good: string[], bad: string[]) =>
  fc.oneof(
    { weight: 60, arbitrary: fc.constantFrom(...good) },
    { weight: 1, arbitrary: fc.constantFrom(...bad) },
  );
const field = (name: string, v: fc.Arbitrary<string>) =>
  fc
    .tuple(
      v,
      fc.oneof(
        { weight: 60, arbitrary: fc.constant('plain') },
        {
          weight: 1,
          arbitrary: fc.constantFrom('self', 'attribute', 'nested', 'comment', 'cr', 'missing', 'twice'),
        },
      ),
    )
    .map(([t, form]) => {
      switch (form) {
        case 'plain':
          return t === '' && name.length % 2 ? `<${name}/>` : `<${name}>${t}</${name}>`;
        case 'self':
          return `<${name}/>`;
        case 'attribute':
          return `<${name} a="1">${t}</${name}>`;
        case 'nested':
          return `<${name}><X>${t}</X></${name}>`;
        case 'comment':
          return `<${name}>${t}<!-- c --></${name}>`;
        case 'cr':
          return `<${name}>${t}\r\n</${name}>`;
        case 'missing':
          return '';
        default:
          return `<${name}>${t}</${name}><${name}>${t}</${name}>`;
      }
    });
const gap = fc.oneof({ weight: 8, arbitrary: fc.constant('') }, fc.constantFrom('\n    ', ' ', '\t', '\r\n'));
const attendance = fc
  .tuple(
    field('PersonID', value(['100001', '100002', '7'], ['', 'x', '1&amp;2', '&#49;'])),
    field('AttendanceDate', value(['2024-09-02', '2024-09-03'], ['', '02/09/2024', 'soon', '2024-13-40'])),
    field('SessionName', value(['AM', 'PM'], ['', 'XX', 'am'])),
    field('AttendanceMark', value(['/', '\\', 'N', 'L'], ['', 'ZZ', '&lt;', '#'])),
    field('Comments', value([''], ['late', '&amp;', 'x>y'])),
    field('MinsLate', value([''], ['5', 'x', '-1'])),
    gap,
    fc.boolean(),
  )
  .map(([a, b, c, d, e, f, g, swap]) => {
    const fs = [a, b, c, d, e, f];
    if (swap) [fs[0], fs[2]] = [fs[2]!, fs[0]!];
    return `<SessionAttendance>${fs.map((x) => g + x).join('')}${g}</SessionAttendance>`;
  });
const documents = fc
  .tuple(
    fc.constantFrom('', '<?xml version="1.0" encoding="utf-8"?>\n'),
    fc.array(fc.tuple(fc.constantFrom('\n  ', '\r\n  ', '', '\n<!-- c -->\n'), attendance), {
      minLength: 1,
      maxLength: 30,
      size: 'medium',
    }),
  )
  .map(
    ([decl, rs]) =>
      `${decl}<SessionAttendances>${rs.map(([s, r]) => s + r).join('')}\n</SessionAttendances>\n`,
  );
const damage = fc.oneof(
  fc.constant([]),
  fc.array(
    fc.tuple(
      fc.nat(),
      fc.constantFrom('insert', 'delete', 'replace', 'truncate'),
      fc.constantFrom('<', '>', '&', '/', ' ', 'x', '\r', '\n', '\u0001', 'é'),
    ),
    { maxLength: 2 },
  ),
);
const chunking = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 4 }),
  fc.array(fc.integer({ min: 200, max: 5000 }), { minLength: 1, maxLength: 4 }),
  fc.constant([1 << 30]),
);

describe("SIMS reader: records read by the scanner's learned patterns", () => {
  it('gives the same marks, or the same error, as the general path alone', async () => {
    let read = 0;
    fast.count = 0;
    await fc.assert(
      fc.asyncProperty(documents, damage, chunking, async (doc, ops, chunks) => {
        const r = (await same(damaged(doc, ops), chunks)) as { batches: { marks?: unknown[] }[] };
        for (const b of r.batches) read += b.marks?.length ?? 0;
      }),
      { numRuns: 600 },
    );
    expect(read).toBeGreaterThan(1000);
    expect(fast.count).toBeGreaterThan(1000);
  });

  // The inline schema's elements, none of them a record of leaves, put learning off for the
  // records after them: that report's two are read by the general path, and must read the same.
  it.each([
    ['pupils-report.xml', true],
    ['pupils-report-inline-schema.xml', false],
  ])('reads the pupils report (%s) the same, split anywhere', async (file, learned) => {
    const doc = readFileSync(`test/fixtures/mis/sims/${file}`, 'utf8');
    fast.count = 0;
    const whole = (await same(doc, [doc.length])) as { batches: { pupils?: unknown[] }[] };
    expect(whole.batches.flatMap((b) => b.pupils ?? []).length).toBeGreaterThan(1);
    if (learned) expect(fast.count).toBeGreaterThan(0);
    for (let n = 50; n < 2000; n += 97) await same(doc, [n]);
  });
});
