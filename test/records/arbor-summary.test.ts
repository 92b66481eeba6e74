import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ArborPastoralSink, summaryText } from '../../connectors/records/arbor-pastoral/sink.ts';
import type { OutboundRecord } from '../../connectors/records/types.ts';
import { Secret } from '../../src/core/secret.ts';

/** An Arbor that lists no notes and keeps the summary of each note POSTed. */
let url = '';
let summaries: string[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET') return res.end(JSON.stringify({ pastoralNotes: [] }));
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
