import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type XmlLimits, XmlScanError, XmlScanner } from '../../../connectors/mis/xml-scanner.ts';
import { damaged } from '../../helpers/damage.ts';
import { countFastRecords } from '../../helpers/fast-records.ts';

const LIMITS: XmlLimits = { maxToken: 65_536, maxDepth: 64, maxAttributes: 256 };

type Outcome = { events: string[]; error?: { message: string; line: number; kind: string } };

/** Every event as the reader sees it, with the line and depth asked for at each; then the error, if any. */
function scan(doc: string, chunks: readonly number[], fastPath: boolean, limits = LIMITS): Outcome {
  const events: string[] = [];
  const s: XmlScanner = new XmlScanner(
    {
      open: (name) => events.push(`+${name}@${s.line}#${s.depth}`),
      text: (t) => events.push(`${JSON.stringify(t)}@${s.line}#${s.depth}`),
      close: (name) => events.push(`-${name}@${s.line}#${s.depth}`),
    },
    limits,
    { fastPath },
  );
  try {
    let at = 0;
    for (let i = 0; at < doc.length; i++) {
      const n = chunks[i % chunks.length]!;
      s.write(doc.slice(at, at + n));
      at += n;
    }
    s.close();
  } catch (err) {
    if (!(err instanceof XmlScanError)) throw err;
    return { events, error: { message: err.message, line: err.line, kind: err.kind } };
  }
  return { events };
}

/** Records read by a learned pattern, counted. */
const fast = countFastRecords();

function same(doc: string, chunks: readonly number[], limits = LIMITS): Outcome {
  const general = scan(doc, chunks, false, limits);
  const fast = scan(doc, chunks, true, limits);
  expect({ doc, chunks, ...fast }).toEqual({ doc, chunks, ...general });
  return fast;
}

// Records of leaves, most alike (a template learned from one reads the next), some varied: the
// texts a leaf may hold, the forms it may take, fields missing, repeated or moved, and the rest.
const recordNames = fc.constantFrom('Rec', 'Rec', 'Rec', 'a.b', 'R-1');
const fieldNames = ['PersonID', 'Date', 'c.d', 'x:y', 'é'];
const plain = fc.constantFrom('100001', '2024-09-02', 'AM', '/', 'ü😀', ' ', '');
const odd = fc.constantFrom(
  'a&amp;b',
  '&#65;',
  'a\r\nb',
  'a\rb',
  'x>y',
  'x]]>y',
  ']]',
  'x'.repeat(90),
  '\u0001',
  '\ud800',
  '\udc00x',
  '&bad;',
  'a & b',
  '\n',
  '\t',
  '<',
  'a\nb',
);
const texts = fc.oneof({ weight: 8, arbitrary: plain }, { weight: 2, arbitrary: odd });
const forms = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('text', 'text', 'empty', 'self') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'self-space',
      'attribute',
      'nested',
      'comment',
      'cdata',
      'pi',
      'close-space',
      'mismatch',
      'deep',
    ),
  },
);
const leaf = fc.tuple(fc.constantFrom(...fieldNames), forms, texts).map(([n, form, t]) => {
  switch (form) {
    case 'text':
      return `<${n}>${t}</${n}>`;
    case 'empty':
      return `<${n}></${n}>`;
    case 'self':
      return `<${n}/>`;
    case 'self-space':
      return `<${n} />`;
    case 'attribute':
      return `<${n} k="v">${t}</${n}>`;
    case 'nested':
      return `<${n}><In>${t}</In></${n}>`;
    case 'comment':
      return `<${n}><!-- c -->${t}</${n}>`;
    case 'cdata':
      return `<${n}><![CDATA[${t}]]></${n}>`;
    case 'pi':
      return `<${n}>${t}<?p x?></${n}>`;
    case 'close-space':
      return `<${n}>${t}</${n} >`;
    case 'deep':
      return `<${n}><a><b><c>${t}</c></b></a></${n}>`;
    default:
      return `<${n}>${t}</${fieldNames[(fieldNames.indexOf(n) + 1) % fieldNames.length]}>`;
  }
});
const gaps = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom(' ', '\n    ', '\t', '\n') },
  { weight: 1, arbitrary: fc.constantFrom('\r\n', 'x', '&amp;', '<!--c-->', ' \n\t ') },
);
const canonical = fc
  .tuple(
    fc.constantFrom('Rec', 'Rec', 'Rec', 'Rec', 'a.b'),
    fc.array(fc.oneof({ weight: 30, arbitrary: plain }, { weight: 1, arbitrary: odd }), {
      minLength: 5,
      maxLength: 5,
    }),
    fc.boolean(),
    fc.oneof({ weight: 4, arbitrary: fc.constant('') }, gaps),
  )
  .map(([r, t, self, g]) =>
    [
      `<${r}>`,
      ...fieldNames.map((n, i) => `${g}${self && i === 4 ? `<${n}/>` : `<${n}>${t[i]}</${n}>`}`),
      `${g}</${r}>`,
    ].join(''),
  );
const varied = fc
  .tuple(
    recordNames,
    fc.array(fc.tuple(gaps, leaf), { maxLength: 7 }),
    gaps,
    fc.constantFrom('', '', '', ' a="1"', ' '),
  )
  .map(([r, leaves, g, open]) => `<${r}${open}>${leaves.map(([s, l]) => s + l).join('')}${g}</${r}>`);
const records = fc.array(
  fc.tuple(
    fc.constantFrom('\n  ', '\n  ', '', '\r\n  ', '\n<!-- between -->\n  ', ' '),
    fc.oneof({ weight: 8, arbitrary: canonical }, { weight: 2, arbitrary: varied }),
  ),
  { minLength: 1, maxLength: 30, size: 'medium' },
);
const documents = fc
  .tuple(
    fc.constantFrom('', '<?xml version="1.0" encoding="utf-8"?>\n'),
    fc.constantFrom('Root', 'Rec', 'a.b'),
    fc.constantFrom('', '<Group>'),
    records,
  )
  .map(([decl, root, group, rs]) => {
    const body = rs.map(([s, r]) => s + r).join('');
    return `${decl}<${root}>${group}${body}\n${group ? '</Group>' : ''}</${root}>\n`;
  });
const damage = fc.array(
  fc.tuple(
    fc.nat(),
    fc.constantFrom('insert', 'delete', 'replace', 'truncate'),
    fc.constantFrom('<', '>', '&', '/', '!', '"', ' ', ']', 'x', '\r', '\n', '\u0001', '\ud800', 'é'),
  ),
  { maxLength: 3 },
);
const chunking = fc.oneof(
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }) },
  {
    weight: 2,
    arbitrary: fc.array(fc.integer({ min: 100, max: 3000 }), { minLength: 1, maxLength: 5 }),
  },
  { weight: 2, arbitrary: fc.constant([1 << 30]) },
);
const limits = fc.constantFrom(
  LIMITS,
  LIMITS,
  { ...LIMITS, maxToken: 64 },
  { ...LIMITS, maxToken: 200 },
  { ...LIMITS, maxDepth: 3 },
  { ...LIMITS, maxDepth: 4 },
);

describe('XmlScanner: records read by a learned template', () => {
  it('gives the same events, lines and depths as the general path (random records, intact)', () => {
    fast.count = 0;
    fc.assert(
      fc.property(documents, chunking, limits, (doc, chunks, l) => {
        same(doc, chunks, l);
      }),
      { numRuns: 1500 },
    );
    // Most records are alike: the fast path must have read many of them.
    expect(fast.count).toBeGreaterThan(2000);
  });

  it('gives the same events and the same error as the general path (random records, damaged)', () => {
    fc.assert(
      fc.property(documents, damage, chunking, limits, (doc, ops, chunks, l) => {
        same(damaged(doc, ops), chunks, l);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a session-attendance export by template, split anywhere', () => {
    const rec = (id: number, mark: string) =>
      `  <SessionAttendance><PersonID>${id}</PersonID><AttendanceDate>2024-09-02</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>${mark}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>\n`;
    const doc = `<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n${[...Array(40)].map((_, i) => rec(100_000 + i, i % 3 ? '/' : '\\')).join('')}</SessionAttendances>\n`;
    fast.count = 0;
    const whole = same(doc, [doc.length]);
    expect(whole.error).toBeUndefined();
    expect(fast.count).toBe(39);
    for (let n = 1; n < 400; n += 7) same(doc, [n]);
    for (let at = 0; at < doc.length; at += 13) same(doc, [at || 1, doc.length]);
  });

  it('takes a name as itself, not as a pattern (a . in a name is no wildcard)', () => {
    const doc = '<R><a.b><c.d>1</c.d></a.b><a.b><cXd>1</cXd></a.b><aXb><c.d>1</c.d></aXb></R>';
    fast.count = 0;
    const r = same(doc, [doc.length]);
    expect(r.events).toContain('+cXd@1#2');
    expect(r.events).toContain('+aXb@1#1');
    expect(fast.count).toBe(0);
  });

  it('keeps a bounded number of record shapes, alternating shapes each read by its own', () => {
    const shape = (k: number) => `<Rec><F${k}>1</F${k}></Rec>`;
    const doc = `<R>${[...Array(400)].map((_, i) => shape(i % 40)).join('')}</R>`;
    fast.count = 0;
    same(doc, [doc.length]);
    const s = new XmlScanner({ open() {}, text() {}, close() {} }, LIMITS);
    s.write(doc);
    s.close();
    expect((s as unknown as { templates: Map<string, unknown> }).templates.size).toBeLessThanOrEqual(16);
    const few = `<R>${[...Array(400)].map((_, i) => shape(i % 3)).join('')}</R>`;
    fast.count = 0;
    same(few, [few.length]);
    expect(fast.count).toBe(397);
  });

  it('bounds the patterns tried and compiled, however many shapes or near misses a document has', () => {
    const proto = XmlScanner.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const match = proto.match!;
    let tries = 0;
    proto.match = function (this: unknown, ...a: unknown[]) {
      tries++;
      return match.apply(this, a);
    };
    const scanner = (doc: string) => {
      const s = new XmlScanner({ open() {}, text() {}, close() {} }, LIMITS);
      s.write(doc);
      s.close();
      return s as unknown as { templates: Map<string, unknown>; learned: number };
    };
    try {
      // 40 shapes in turn, each differing only in its last leaf: never more than 4 tried at a record.
      const shape = (k: number) => `<Rec>${'<A>1</A>'.repeat(50)}<F${k}/></Rec>`;
      const rotating = `<R>${[...Array(4000)].map((_, i) => shape(i % 40)).join('')}</R>`;
      const s = scanner(rotating);
      expect(s.templates.size).toBeLessThanOrEqual(16);
      expect(s.learned).toBe(64);
      expect(tries).toBeLessThanOrEqual(4 * 4000);
      // Records each like the last but for a comment at the end (never learned): tried less and less.
      tries = 0;
      const near = `<R><Rec><A>1</A></Rec>${'<Rec><A>1</A><!--x--></Rec>'.repeat(20_000)}</R>`;
      scanner(near);
      expect(tries).toBeLessThan(200);
    } finally {
      proto.match = match;
    }
  });

  // Near misses a megabyte long after a template is learned: each must be read in linear time
  // (no catastrophic backtracking), and as the general path reads it.
  const big = 1 << 20;
  const bigLimits = { ...LIMITS, maxToken: 4 * big };
  const learned = '<R>\n<Rec><A>1</A> <B>2</B><C/></Rec>\n';
  it.each([
    ['a text that ends in &', `<Rec><A>${'x'.repeat(big)}&</A><B>2</B><C/></Rec></R>`],
    ['a text that ends the record early', `<Rec><A>1</A> <B>${'x'.repeat(big)}</Rec></R>`],
    ['spaces before the wrong tag', `<Rec><A>1</A>${' \n\t'.repeat(big / 3)}<D>2</D><C/></Rec></R>`],
    ['many leaves, the last wrong', `<Rec>${'<A>1</A> '.repeat(big / 9)}<B>2</B><C/></Rec></R>`],
    ['records each wrong at the end', `${'<Rec><A>1</A> <B>2</B><C/><!--x--></Rec>'.repeat(big / 40)}</R>`],
    ['a text of > signs', `<Rec><A>${'>'.repeat(big)}</A> <B>2</B><C/></Rec></R>`],
    ['a record over the token limit', `<Rec><A>${'x'.repeat(big)}</A> <B>2</B><C/></Rec></R>`],
  ])('reads %s as the general path does', (_, rest) => {
    const doc = learned + rest;
    same(doc, [doc.length], bigLimits);
    same(doc, [65_536]);
  });
});
