import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSimsXml } from '../../../connectors/mis/sims-xml/reader.ts';
import { XmlScanError, XmlScanner } from '../../../connectors/mis/xml-scanner.ts';

const LIMITS = { maxToken: 65_536, maxDepth: 64, maxAttributes: 256 };

/** Events (`+name@line`, text as JSON, `-name`), or the error with its line; `chunk` splits the input. */
function scan(doc: string, chunk = doc.length || 1, limits = LIMITS): string[] | string {
  const events: string[] = [];
  const s = new XmlScanner(
    {
      open: (name) => events.push(`+${name}@${s.line}`),
      text: (t) => events.push(JSON.stringify(t)),
      close: (name) => events.push(`-${name}`),
    },
    limits,
  );
  try {
    for (let at = 0; at < doc.length; at += chunk) s.write(doc.slice(at, at + chunk));
    s.close();
  } catch (err) {
    if (!(err instanceof XmlScanError)) throw err;
    return `${err.kind}@${err.line}: ${err.message}`;
  }
  return events;
}

async function readAll(chunks: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of readSimsXml(Readable.from(chunks.map((c) => Buffer.from(c))), { unit: 'f.xml' }))
    out.push(b);
  return out;
}

describe('XmlScanner: entity names are not looked up on Object.prototype', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('refuses &%s;', (name) => {
    expect(scan(`<a>&${name};</a>`)).toMatch(/^syntax@1: an undeclared entity/);
    expect(scan(`<a x="&${name};"/>`)).toMatch(/^syntax@1: an undeclared entity/);
  });
});

describe('SIMS reader: a root element named like an Object.prototype member', () => {
  it.each(['constructor', 'toString', '__proto__'])('refuses <%s> as the root', async (root) => {
    await expect(readAll([`<${root}><Record><A>1</A></Record></${root}>`])).rejects.toThrow(
      /unexpected root element/,
    );
  });
});

describe('decodeText: an encoding named like an Object.prototype member', () => {
  it.each(['constructor', '__proto__', 'toString'])(
    'refuses encoding="%s" as a Doorstep error',
    async (enc) => {
      await expect(readAll([`<?xml version="1.0" encoding="${enc}"?><SessionAttendances/>`])).rejects.toThrow(
        `unsupported encoding "${enc}"`,
      );
    },
  );
});

describe('XmlScanner: the line of each element, in a file on one line', () => {
  it('does not read the rest of the line again for each element (quadratic in a line)', () => {
    // A file on one line (machine exports often are), the line asked for at every element as the
    // CTF reader does; 64 KB chunks as from a file. What is searched for '\n' is counted.
    const doc = `<C>${`<P>${'<a/>'.repeat(4000)}</P>`.repeat(16)}</C>`;
    let searched = 0;
    const indexOf = String.prototype.indexOf;
    String.prototype.indexOf = function (this: string, s: string, from?: number) {
      if (s === '\n') searched += this.length - (from ?? 0);
      return indexOf.call(this, s, from);
    };
    try {
      const s = new XmlScanner({ open: () => void s.line, text: () => {}, close: () => {} }, LIMITS);
      for (let at = 0; at < doc.length; at += 65_536) s.write(doc.slice(at, at + 65_536));
      s.close();
    } finally {
      String.prototype.indexOf = indexOf;
    }
    expect(searched).toBeLessThan(4 * doc.length);
  });
});

describe('XmlScanner: names beyond U+FFFF split between chunks', () => {
  it.each(['<a𐀀b></a𐀀b>', '<a𐀀/>', '<r a𐀀="1"/>', '<r><?p𐀀 x?></r>'])(
    'reads %j the same however it is split',
    (doc) => {
      const whole = scan(doc);
      expect(whole).toBeInstanceOf(Array);
      for (let n = 1; n < doc.length; n++) expect(scan(doc, n)).toEqual(whole);
    },
  );
});

describe('XmlScanner: character references with leading zeros (CharRef allows any number of digits)', () => {
  it.each([
    ['&#x0000041;', 'A'],
    ['&#00000065;', 'A'],
    ['&#x00000001F600;', '😀'],
  ])('reads %j', (ref, ch) => {
    expect(scan(`<a>${ref}</a>`)).toEqual(['+a@1', JSON.stringify(ch), '-a']);
  });
  it('still refuses a reference past U+10FFFF', () => {
    expect(scan('<a>&#x0110000;</a>')).toMatch(/^syntax@1: /);
  });
});

describe('SafeXml: chunks of spaces before the first content are read, not skipped', () => {
  it('counts their lines', async () => {
    await expect(readAll(['\n\n', '<SessionAttendances>&bad;</SessionAttendances>'])).rejects.toThrow(
      /^f\.xml, line 3: .*undeclared entity \(&…; of 3 characters;/,
    );
  });
  it('refuses an XML declaration after them (it is not at the start of the file)', async () => {
    await expect(readAll(['\n\n', '<?xml version="1.0"?><SessionAttendances/>'])).rejects.toThrow(
      /^f\.xml, line 3: .*anywhere but at the very start/,
    );
  });
});

describe('XmlScanner: spaces outside the root element are not a token held whole', () => {
  const spaces = '\n'.repeat(140_000);
  it.each([
    ['before the root', `${spaces}<a/>`],
    ['after the root', `<a/>${spaces}`],
  ])('reads more than 64K of them %s, in 64K chunks as at once', (_, doc) => {
    expect(scan(doc, 65_536)).toEqual(scan(doc));
    expect(scan(doc)).toBeInstanceOf(Array);
  });
});

describe('XmlScanner: the limit on a token holds however the chunks fall', () => {
  const v = 'x'.repeat(100_000);
  it.each([
    ['a text', `<a>${v}</a>`],
    ['a comment', `<a><!--${v}--></a>`],
    ['an attribute value', `<a b="${v}"/>`],
  ])('refuses %s of 100K characters in 64K chunks as in 50K ones', (_, doc) => {
    expect(scan(doc, 50_000)).toMatch(/^too-long@1/);
    expect(scan(doc, 65_536)).toMatch(/^too-long@1/);
    expect(scan(doc)).toMatch(/^too-long@1/);
  });
});

describe('XmlScanner: an error inside a token of several lines is at its own line', () => {
  it.each([
    ['<a>\n\nAT&T</a>', 3],
    ['<a>\r\n\r\n&amp;&#0;</a>', 3],
    ['<a>\n\nx]]>y</a>', 3],
    ['<a\n x="1"\n x="2"/>', 3],
    ['<a\n x="&amp;\n&bad;"/>', 3],
    ['<a\n\n x=1/>', 3],
  ])('%j at line %i', (doc, line) => {
    expect(scan(doc)).toMatch(new RegExp(`^syntax@${line}:`));
    expect(scan(doc, 1)).toMatch(new RegExp(`^syntax@${line}:`));
  });
  it('still gives an element the line of its <', () => {
    expect(scan('<r>\n<a\n x="1"\n/></r>')).toEqual(['+r@1', '"\\n"', '+a@2', '-a', '-r']);
  });
});

describe('XmlScanner: a CR alone ends a line (XML 1.0 §2.11), a CRLF is one line end', () => {
  it('counts a CR alone as a line end, as saxes did', () => {
    expect(scan('<a>\r<b/>\r<c/></a>')).toEqual(['+a@1', '"\\n"', '+b@2', '-b', '"\\n"', '+c@3', '-c', '-a']);
  });

  it('gives the same lines however the chunks fall, a CRLF split between two included', () => {
    const doc = '<?xml version="1.0"?>\r\n<a>\r\r\n<b/>\n\r<c>x\r\ny</c>\r</a>\r\n\r<!-- end -->\r';
    const whole = scan(doc);
    expect(whole).toEqual([
      '+a@2',
      '"\\n\\n"',
      '+b@4',
      '-b',
      '"\\n\\n"',
      '+c@6',
      '"x\\ny"',
      '-c',
      '"\\n"',
      '-a',
    ]);
    for (let n = 1; n < doc.length; n++) expect(scan(doc, n)).toEqual(whole);
    const err = '<a>\r\n\r\r\n<b>&bad;</b></a>';
    for (let n = 1; n < err.length; n++) expect(scan(err, n)).toMatch(/^syntax@4: an undeclared entity/);
  });
});

describe('SIMS XML: a field twice in one record is refused (the later would silently win)', () => {
  const doc = (fields: string) =>
    `<?xml version="1.0"?>\n<SessionAttendances>\n<SessionAttendance>${fields}</SessionAttendance>\n</SessionAttendances>\n`;
  const ok = '<PersonID>1</PersonID><AttendanceDate>2025-01-13</AttendanceDate><SessionName>AM</SessionName>';
  it('a mark given twice, or two pupil ids, names the record and field', async () => {
    await expect(
      readAll([doc(`${ok}<AttendanceMark>N</AttendanceMark><AttendanceMark>/</AttendanceMark>`)]),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message:
        'f.xml, line 3, record 1, field AttendanceMark: the field appears twice in this record: expected it once',
    });
    await expect(
      readAll([
        doc(
          `<PersonID>1</PersonID><PersonID>2</PersonID><AttendanceDate>2025-01-13</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>N</AttendanceMark>`,
        ),
      ]),
    ).rejects.toThrow(/field PersonID: the field appears twice/);
  });
  it('an element Doorstep does not read may repeat', async () => {
    const out = (await readAll([
      doc(`${ok}<AttendanceMark>N</AttendanceMark><Note>a</Note><Note>b</Note>`),
    ])) as {
      marks: unknown[];
    }[];
    expect(out.flatMap((b) => b.marks)).toHaveLength(1);
  });
});

describe('SIMS reader: a document of no records of its kind', () => {
  it('refuses a misspelt record element (it imported no marks, as if there were none)', async () => {
    const rec =
      '<SessionAttendence><PersonID>1</PersonID><AttendanceMark>N</AttendanceMark></SessionAttendence>';
    await expect(
      readAll(['<SessionAttendances>\n', rec, '\n', rec, '</SessionAttendances>']),
    ).rejects.toThrow(
      /line 2.*no <SessionAttendance> records: the document holds 2 <SessionAttendence> elements instead/,
    );
  });

  it('still reads an empty document as no marks, and ignores other elements beside records', async () => {
    expect(await readAll(['<SessionAttendances/>'])).toEqual([]);
    const pupils = await readAll([
      '<SuperStarReport><Header>x</Header><Record><ID>1</ID><Forename>A</Forename><Surname>B</Surname></Record></SuperStarReport>',
    ]);
    expect(JSON.stringify(pupils)).toContain('"misId":"1"');
  });

  it('refuses a pupils report with no pupils (a report run wrong), as a CSV pupils export with no rows is', async () => {
    for (const doc of [
      '<?xml version="1.0"?>\n<SuperStarReport>\n</SuperStarReport>',
      '<?xml version="1.0"?>\n<SuperStarReport/>',
    ])
      await expect(readAll([doc])).rejects.toThrow(
        /^f\.xml, line 2: the report has its <SuperStarReport> and no pupils: expected at least one pupil <Record>/,
      );
    // Other elements and no records: the misspelt record element is named, as before.
    await expect(
      readAll(['<SuperStarReport>\n<Recrod><ID>1</ID></Recrod></SuperStarReport>']),
    ).rejects.toThrow(/line 2.*no <Record> records: the document holds 1 <Recrod> element instead/);
    // A session-attendance document with no records is still no marks.
    expect(await readAll(['<?xml version="1.0"?>\n<SessionAttendances>\n</SessionAttendances>'])).toEqual([]);
  });
});
