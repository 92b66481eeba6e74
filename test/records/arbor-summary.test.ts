import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArborPastoralSink, summaryText } from '../../connectors/records/arbor-pastoral/sink.ts';
import { sinkOf, sinkSettingsNamed } from '../../connectors/records/index.ts';
import { outboundRecord } from '../../connectors/records/outbound.ts';
import type { OutboundRecord } from '../../connectors/records/types.ts';
import { Secret } from '../../src/core/secret.ts';
import { sentWith } from '../../src/records/what-is-sent.ts';
import { outboxRecordShown } from '../../src/store/data-page.ts';
import type { OutboxRow } from '../../src/store/outbox.ts';
import { configProblems, configWith, MINIMAL_SCHOOL } from '../helpers/config.ts';

/** An Arbor that lists no notes and keeps each note POSTed (and its summary). */
let url = '';
let summaries: string[] = [];
let notes: Record<string, unknown>[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET') return res.end(JSON.stringify({ pastoralNotes: [] }));
    notes.push(JSON.parse(body).request.pastoralNote);
    summaries.push(JSON.parse(body).request.pastoralNote.summary);
    res.end(JSON.stringify({ pastoralNote: { id: summaries.length } }));
  });
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  summaries = [];
  notes = [];
});

const key = 'a1b2c3d4e5f60718:address-flag:alpha:12:1001';
const marker = `[doorstep:${key}]`;
const keep = 254 - marker.length;
const send = (title: string) =>
  new ArborPastoralSink({ baseUrl: url, username: 'app', password: new Secret('good', 'env:T') }).deliver(
    {
      outboxId: '1',
      schoolId: 'alpha',
      kind: 'address_flag',
      pupils: [{ misId: '1001', upn: null }],
      title,
      body: 'b',
      occurredAt: new Date('2025-11-18T16:00:00Z'),
      category: 'Home visit',
    } satisfies OutboundRecord,
    key,
  );

it('an Arbor summary cut to fit 255 is cut at a whole character: an emoji where the cut falls is left out, never halved', async () => {
  const prefix = 'Home address flagged DANGEROUS: ';
  // The emoji's first half is the last unit that fits.
  await send(`${prefix}${'x'.repeat(keep - prefix.length - 1)}🏠 Flat 2, AB1 2CD`);
  const summary = summaries[0]!;
  expect(summary.isWellFormed()).toBe(true);
  expect(summary).toBe(`${prefix}${'x'.repeat(keep - prefix.length - 1)} ${marker}`);
  expect(summary.length).toBeLessThanOrEqual(255);
  // One that fits whole is kept whole.
  await send(`${prefix}${'x'.repeat(keep - prefix.length - 2)}🏠 Flat 2`);
  expect(summaries[1]).toBe(`${prefix}${'x'.repeat(keep - prefix.length - 2)}🏠 ${marker}`);
});

it('an Arbor summary is one line: newlines, tabs and terminal escapes in the title are spaces', async () => {
  await send('Concern\r\nraised\tat \u001b[2Jthe door\u0007\u009b');
  expect(summaries[0]).toBe(`Concern  raised at  [2Jthe door   ${marker}`);
});

it('summaryText: whole code points within the limit, a lone surrogate already in the title made U+FFFD', () => {
  expect(summaryText('ab🏠', 3)).toBe('ab');
  expect(summaryText('ab🏠', 4)).toBe('ab🏠');
  expect(summaryText('a\ud800b', 10)).toBe('a\ufffdb');
  expect(summaryText('abc', -5)).toBe('');
});

/**
 * `doorstep outbox show` and the data page show what a record is sent with (a preview: what go-live
 * would send). An Arbor note has no category — PastoralNote is a student, a summary, content and a
 * date (arbor-education/sis-sdk-php, src/Arbor/Model/PastoralNote.php) — so none is shown, and its
 * title is shown as the note's summary: the title cut to fit, the record's key at its end.
 */
describe('what is shown for an Arbor note is what Arbor receives', () => {
  const school = (records: string) =>
    configWith({
      mis: '{ kind: arbor, baseUrl: https://x.uk.arbor.sc, username: u, password: "${P}" }',
      records,
      env: { P: 'x' },
    });
  const stored = (title: string) => ({
    id: '1',
    schoolId: 'alpha',
    kind: 'agreement_broken' as const,
    sink: 'arbor-pastoral',
    pupils: [{ misId: '7', upn: null }],
    title,
    body: 'The agreement made on the visit of 12 November was not kept.',
    occurredAt: new Date('2025-11-18T16:00:00Z'),
    outwardKey: key,
  });

  it('no category, and the summary as the sink builds it: the same words delivery posts', async () => {
    const config = school(`{ sink: arbor-pastoral, baseUrl: "${url}", username: u, password: "\${P}" }`);
    for (const title of ['Agreement not kept', `Agreement not kept: ${'x'.repeat(300)}`]) {
      notes = [];
      const row = stored(title);
      const shown = sentWith(config, row);
      const settings = sinkSettingsNamed(config.schools[0]!, 'arbor-pastoral')!;
      await sinkOf(settings).deliver(outboundRecord(row, settings), row.outwardKey);
      const posted = notes[0]!;
      expect(shown).toEqual({
        category: null,
        noCategory: 'Arbor notes carry no category',
        title: posted.summary,
        occurredAt: row.occurredAt,
      });
      // Nothing Arbor receives is a category: the note is its four properties and nothing more.
      expect(Object.keys(posted).sort()).toEqual(['content', 'entityType', 'noteDate', 'student', 'summary']);
      expect(outboundRecord(row, settings).category).toBeNull();
    }
    // The long title, cut to fit 255 with the key kept whole, is what is shown.
    expect(String(notes[0]!.summary)).toBe(`Agreement not kept: ${'x'.repeat(keep - 20)} ${marker}`);
  });

  it("the data page's record says why it has no category and shows the summary as sent", () => {
    const config = school(
      '{ sink: arbor-pastoral, baseUrl: "https://x.uk.arbor.sc", username: u, password: "${P}" }',
    );
    const row = {
      ...stored('Agreement not kept'),
      status: 'delivered',
      unmatched: false,
    } as unknown as OutboxRow;
    expect(outboxRecordShown(row, sentWith(config, row))).toMatchObject({
      category: null,
      no_category: 'Arbor notes carry no category',
      title: 'Agreement not kept',
      title_sent: `Agreement not kept ${marker}`,
    });
  });

  it('CPOMS is sent its category and the title as it is', () => {
    const config = school('{ sink: cpoms, baseUrl: "https://x.cpoms.net", token: "${P}" }');
    const row = { ...stored('Agreement not kept'), sink: 'cpoms' };
    expect(sentWith(config, row)).toEqual({
      category: 'Attendance',
      title: 'Agreement not kept',
      occurredAt: row.occurredAt,
    });
  });

  it('an arbor-pastoral sink given categories is refused, naming the setting: a category there would be filed nowhere', () => {
    const arbor =
      '{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: https://a.uk.arbor.sc, username: u, password: "${T}", categories: { agreement_broken: Attendance } }';
    const why =
      "an Arbor note carries no category (Arbor's PastoralNote and SafeguardingNote are a student, a summary, content and a date): remove categories from this arbor-pastoral sink — a category set here would be filed nowhere, got a mapping";
    expect(
      configProblems(MINIMAL_SCHOOL.replace('records: { sink: preview }', `records: ${arbor}`), { T: 'x' }),
    ).toEqual([`schools[0].records.categories (line 7): ${why}`]);
    // Beside CPOMS (alsoRecordTo) too.
    expect(
      configProblems(
        `${MINIMAL_SCHOOL}    alsoRecordTo: [${arbor.replace(/ }$/, ', kinds: [agreement_broken] }')}]\n`,
        {
          T: 'x',
        },
      ),
    ).toEqual([`schools[0].alsoRecordTo[0].categories (line 9): ${why}`]);
  });
});

/** The data page's "Show record" (web/assets/data-records.js), given the API's answer for a record. */
async function shownOnPage(answer: Record<string, unknown>): Promise<string> {
  const { showRecord } = (await import(
    new URL('../../web/assets/data-records.js', import.meta.url).href
  )) as {
    showRecord: (id: string, pre: { textContent: string }) => Promise<void>;
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async () => Response.json(answer)) as typeof fetch;
  try {
    const pre = { textContent: '' };
    await showRecord('1', pre);
    return pre.textContent;
  } finally {
    globalThis.fetch = realFetch;
  }
}

it("the data page's Show record says an Arbor note carries no category, and shows its summary as sent", async () => {
  const config = configWith({
    mis: '{ kind: arbor, baseUrl: https://x.uk.arbor.sc, username: u, password: "${P}" }',
    records: '{ sink: arbor-pastoral, baseUrl: "https://x.uk.arbor.sc", username: u, password: "${P}" }',
    env: { P: 'x' },
  });
  const row = {
    id: '1',
    schoolId: 'alpha',
    kind: 'agreement_broken',
    sink: 'arbor-pastoral',
    status: 'delivered',
    pupils: [{ misId: '7', upn: null }],
    title: 'Agreement not kept',
    body: 'text',
    occurredAt: new Date('2025-11-18T16:00:00Z'),
    outwardKey: key,
  } as unknown as OutboxRow;
  const text = await shownOnPage(JSON.parse(JSON.stringify(outboxRecordShown(row, sentWith(config, row)))));
  expect(text.split('\n')[0]).toMatch(/^Category: Arbor notes carry no category · Date: /);
  expect(text).toContain(`\n\nAgreement not kept ${marker}\n\ntext`);
});
