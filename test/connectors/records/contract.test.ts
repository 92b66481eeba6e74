import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArborPastoralSink } from '../../../connectors/records/arbor-pastoral/sink.ts';
import { CpomsSink } from '../../../connectors/records/cpoms/sink.ts';
import { DEFAULT_CPOMS_WIRE } from '../../../connectors/records/cpoms/wire.ts';
import { MAX_SINK_ANSWER_BYTES } from '../../../connectors/records/http.ts';
import { PreviewSink } from '../../../connectors/records/preview/sink.ts';
import { REQUESTS_PER_RECORD } from '../../../connectors/records/settings.ts';
import {
  type OutboundRecord,
  RecordDeliveryError,
  type RecordSink,
} from '../../../connectors/records/types.ts';
import { Secret } from '../../../src/core/secret.ts';
import { retryClassOf } from '../../../src/errors.ts';
import { FakeArbor } from '../../helpers/fake-arbor.ts';
import { type FakeCpoms, startFakeCpoms } from '../../helpers/fake-cpoms.ts';

/**
 * The RecordSink contract: every sink passes this suite.
 * - check() answers, never throws; ok with good credentials, not ok with bad ones;
 * - deliver() returns a receipt with a remote id; an idempotent sink returns the same id for the
 *   same key and creates nothing new;
 * - refused credentials are a RecordDeliveryError that says never to retry.
 */
interface Harness {
  name: string;
  label: string;
  good: () => RecordSink;
  bad: () => RecordSink;
  created: () => number;
}

let fake: FakeCpoms;

/** A vendor on a local port for one test (its answers as `answer` writes them). */
async function localVendor(
  answer: (req: { method: string; url: string; body: string }, res: ServerResponse) => void,
) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => answer({ method: req.method!, url: req.url!, body }, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
const GOOD_ARBOR = `Basic ${Buffer.from('app:good').toString('base64')}`;
/** Arbor hosts as the published client talks to them: one school writes pastoral notes, one safeguarding notes. */
const arbor = new FakeArbor('https://alpha.uk.arbor.sc', GOOD_ARBOR);
const arborSafeguarding = new FakeArbor('https://beta.uk.arbor.sc', GOOD_ARBOR);
const record: OutboundRecord = {
  outboxId: '1',
  schoolId: 'alpha',
  kind: 'trigger_note',
  pupils: [{ misId: '1001', upn: 'A123456789012' }],
  title: 'Not seen for 3 school days — pupil 1001',
  body: 'Rule: …',
  occurredAt: new Date('2025-11-18T16:00:00Z'),
  category: 'Attendance',
};

const harnesses: Harness[] = [
  {
    name: 'cpoms',
    label: 'cpoms',
    good: () =>
      new CpomsSink({
        baseUrl: fake.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
        timeoutMs: 2000,
      }),
    bad: () =>
      new CpomsSink({
        baseUrl: fake.url,
        token: new Secret('bad', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
        timeoutMs: 2000,
      }),
    created: () => fake.created,
  },
  {
    name: 'arbor-pastoral',
    label: 'arbor-pastoral (PastoralNote)',
    good: () =>
      new ArborPastoralSink({
        baseUrl: 'https://alpha.uk.arbor.sc',
        username: 'app',
        password: new Secret('good', 'env:T'),
      }),
    bad: () =>
      new ArborPastoralSink({
        baseUrl: 'https://alpha.uk.arbor.sc',
        username: 'app',
        password: new Secret('bad', 'env:T'),
      }),
    created: () => arbor.notes.length,
  },
  {
    name: 'arbor-pastoral',
    label: 'arbor-pastoral (SafeguardingNote)',
    good: () =>
      new ArborPastoralSink({
        baseUrl: 'https://beta.uk.arbor.sc',
        username: 'app',
        password: new Secret('good', 'env:T'),
        noteType: 'safeguarding',
      }),
    bad: () =>
      new ArborPastoralSink({
        baseUrl: 'https://beta.uk.arbor.sc',
        username: 'app',
        password: new Secret('bad', 'env:T'),
        noteType: 'safeguarding',
      }),
    created: () => arborSafeguarding.notes.length,
  },
  {
    name: 'preview',
    label: 'preview',
    good: () => new PreviewSink(),
    bad: () => new PreviewSink(),
    created: () => 0,
  },
];

beforeAll(async () => {
  fake = await startFakeCpoms({ token: 'good', students: { A123456789012: 'cp-77' } });
  for (const a of [arbor, arborSafeguarding]) {
    a.addPupil({ id: 1001, upn: 'A123456789012', first: 'Ada', last: 'Lovelace', dob: '2014-01-02' });
    a.install();
  }
});
afterAll(async () => {
  nock.cleanAll();
  await fake.close();
});

describe.each(harnesses)('RecordSink contract: $label', (h) => {
  it('answers its connection test', async () => {
    expect(await h.good().check()).toMatchObject({ ok: true, name: `records:${h.name}` });
    if (h.name !== 'preview') expect((await h.bad().check()).ok).toBe(false);
  });

  it('delivers with a receipt; an idempotent sink creates one record per key', async () => {
    const sink = h.good();
    const before = h.created();
    const first = await sink.deliver(record, `key-${h.name}-1`);
    expect(first.remoteId).toMatch(/\S/);
    if (sink.idempotent) {
      const again = await sink.deliver(record, `key-${h.name}-1`);
      expect(again.remoteId).toBe(first.remoteId);
      expect(h.created() - before).toBe(h.name === 'preview' ? 0 : 1);
    }
  });

  it('refused credentials are never retried', async () => {
    if (h.name === 'preview') return;
    const err = await h
      .bad()
      .deliver(record, `key-${h.name}-bad`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordDeliveryError);
    expect((err as RecordDeliveryError).advice).toEqual({ retry: 'never' });
    // The one error catalog reads it the same way: a person must change the credentials.
    expect(retryClassOf(err)).toBe('config');
    expect((err as RecordDeliveryError).code).toBe('DOORSTEP_RECORD_AUTH');
  });
});

describe('CPOMS specifics', () => {
  it('matches the student by UPN, then by MIS id, and says when it could not', async () => {
    const sink = harnesses[0]!.good();
    expect((await sink.deliver(record, 'match-1')).matched).toBe(true);
    expect(fake.incidents.get('match-1')!.body).toMatchObject({
      students: ['cp-77'],
      upn: 'A123456789012',
      mis_id: '1001',
      category: 'Attendance',
      occurred_at: '2025-11-18T16:00:00+00:00',
      title: record.title,
    });
    const unknown = { ...record, pupils: [{ misId: '9999', upn: null }] };
    expect((await sink.deliver(unknown, 'match-2')).matched).toBe(false);
    expect(fake.incidents.get('match-2')!.body.students).toEqual([]);
  });

  it('never puts a record on a child the lookup did not single out: a list the filter did not narrow, or a student with another UPN, is no match', async () => {
    // A CPOMS that ignores the filter (or matches loosely): every student, or one that is not asked for.
    const answers = [
      { students: [{ id: 'cp-1' }, { id: 'cp-2' }] },
      { students: [{ id: 'cp-3', upn: 'Z999999999999', mis_id: '4242' }] },
    ];
    for (const answer of answers) {
      const loose = await localVendor((req, res) => {
        res.writeHead(req.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.method === 'GET' ? answer : { id: 'inc-1' }));
      });
      try {
        const sink = new CpomsSink({
          baseUrl: loose.url,
          token: new Secret('good', 'env:T'),
          wire: DEFAULT_CPOMS_WIRE,
          timeoutMs: 2000,
        });
        const receipt = await sink.deliver(record, `loose-${answer.students[0]!.id}`);
        expect(receipt.matched).toBe(false);
      } finally {
        await loose.close();
      }
    }
  });

  it('an answer without end is not read past its bound: the record waits for a person, the process keeps its memory', async () => {
    const endless = await localVendor((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' });
      if (req.method === 'GET') return res.end(JSON.stringify({ students: [] }));
      // A megabyte at a time, for ever (until the client stops reading).
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const more = () => {
        while (res.write(chunk)) {}
        res.once('drain', more);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      more();
    });
    try {
      const sink = new CpomsSink({
        baseUrl: endless.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
        timeoutMs: 5000,
      });
      const err = await sink.deliver(record, 'endless-1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RecordDeliveryError);
      expect((err as RecordDeliveryError).advice).toEqual({ retry: 'never' });
      expect((err as Error).message).toContain(`an answer over ${MAX_SINK_ANSWER_BYTES} bytes, not read`);
    } finally {
      await endless.close();
    }
  });

  it('a 422 is never retried and names the refused fields', async () => {
    const sink = harnesses[0]!.good();
    const err = (await sink
      .deliver({ ...record, category: '' }, 'bad-category')
      .catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err.advice).toEqual({ retry: 'never' });
    expect(err.message).toBe('CPOMS incident: HTTP 422 — CPOMS refused the record (fields: category)');
  });

  it('a 422 that echoes the record keeps none of it: only the fields sent that the errors name', async () => {
    let posts = 0;
    const echo = await localVendor((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 422, { 'content-type': 'application/json' });
      if (req.method === 'GET') return res.end('{"students":[]}');
      const sent = JSON.parse(req.body) as unknown;
      posts++;
      res.end(
        JSON.stringify(
          posts === 1
            ? {
                error: 'Jane Doe: title too personal',
                errors: { title: 'Jane Doe', 'Jane Doe': 'x' },
                incident: sent,
              }
            : { message: 'refused', incident: sent },
        ),
      );
    });
    try {
      const sink = new CpomsSink({
        baseUrl: echo.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
      });
      const named = { ...record, body: 'Spoke to mother Jane Doe at 12 Acacia Road' };
      const first = (await sink.deliver(named, 'echo-1').catch((e: unknown) => e)) as RecordDeliveryError;
      expect(first.message).toBe('CPOMS incident: HTTP 422 — CPOMS refused the record (fields: title)');
      const second = (await sink.deliver(named, 'echo-2').catch((e: unknown) => e)) as RecordDeliveryError;
      expect(second.message).toBe(
        'CPOMS incident: HTTP 422 — CPOMS refused the record (no field it names was sent (the answer is not kept: it may repeat the record))',
      );
      expect(second.status).toBe(422);
    } finally {
      await echo.close();
    }
  });

  it('makes at most REQUESTS_PER_RECORD requests for a record (the config bounds timeoutMs by it)', async () => {
    const before = fake.requests;
    await harnesses[0]!.good().deliver({ ...record, pupils: [{ misId: '5555', upn: 'Z999' }] }, 'count-1');
    expect(fake.requests - before).toBe(REQUESTS_PER_RECORD.cpoms);
  });

  it('a lost response is retried and then counted as delivered through the 409', async () => {
    fake.faults = { lostResponse: 1 };
    const sink = harnesses[0]!.good();
    const lost = (await sink.deliver(record, 'lost-1').catch((e: unknown) => e)) as RecordDeliveryError;
    expect(lost.advice).toEqual({ retry: 'backoff' });
    fake.faults = {};
    const again = await sink.deliver(record, 'lost-1');
    expect(again).toMatchObject({ duplicate: true, remoteId: fake.incidents.get('lost-1')!.id });
  });

  it('a 409 is matched as CPOMS holds the incident: one made while the pupil was no CPOMS student is unmatched, though the retry finds the student', async () => {
    const students: Record<string, string> = {};
    const tray = await startFakeCpoms({ token: 'good', students });
    try {
      const sink = new CpomsSink({
        baseUrl: tray.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
        timeoutMs: 2000,
      });
      // The first POST makes the incident (its answer lost) on no child: the pupil is no CPOMS student yet.
      tray.faults = { lostResponse: 1 };
      await sink.deliver(record, 'tray-1').catch(() => undefined);
      expect(tray.incidents.get('tray-1')!.body.students).toEqual([]);
      tray.faults = {};
      students.A123456789012 = 'cp-77'; // CPOMS has synced its students meanwhile
      const again = await sink.deliver(record, 'tray-1');
      expect(again).toMatchObject({ duplicate: true, matched: false });
      expect(tray.incidents.get('tray-1')!.body.students).toEqual([]); // still in the tray
      // One made on the child, its answer lost: matched, as CPOMS holds it.
      tray.faults = { lostResponse: 1 };
      await sink.deliver(record, 'on-child-1').catch(() => undefined);
      tray.faults = {};
      expect(await sink.deliver(record, 'on-child-1')).toMatchObject({ duplicate: true, matched: true });
    } finally {
      await tray.close();
    }
    // A 409 on another child (as many students, not this record's) is not taken as matched.
    const other = await localVendor((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 409, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          req.method === 'GET' ? { students: [{ id: 'cp-77' }] } : { id: 'inc-8', students: ['cp-99'] },
        ),
      );
    });
    try {
      const sink = new CpomsSink({
        baseUrl: other.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
        timeoutMs: 2000,
      });
      expect(await sink.deliver(record, 'other-1')).toMatchObject({
        remoteId: 'inc-8',
        duplicate: true,
        matched: false,
      });
    } finally {
      await other.close();
    }
    // A 409 that does not say whom the incident is on is not taken as matched.
    const silent = await localVendor((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 409, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.method === 'GET' ? { students: [{ id: 'cp-77' }] } : { id: 'inc-9' }));
    });
    try {
      const sink = new CpomsSink({
        baseUrl: silent.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
        timeoutMs: 2000,
      });
      expect(await sink.deliver(record, 'silent-1')).toMatchObject({
        remoteId: 'inc-9',
        duplicate: true,
        matched: false,
      });
    } finally {
      await silent.close();
    }
  });
});

/**
 * A student lookup CPOMS refuses — a parameter it does not take (400/422), a path that is not its list
 * (404), an answer that is not the list — says nothing of the child: taken as "no such student", every
 * record would be filed unmatched in CPOMS's tray and nobody told. It fails the record instead, as a
 * config failure naming the setting (never the pupil's UPN), so deliver-record raises its alert.
 */
describe('CPOMS student lookup refused', () => {
  const refusals: [string, number, string][] = [
    ['a 422 refusing the parameter', 422, '{"errors":{"upn":"unknown filter"}}'],
    ['a 400', 400, '{"error":"bad request"}'],
    ['a 404 (the path is not the list)', 404, '{"error":"not found"}'],
    ['a 200 that is not the list', 200, '<html>Maintenance</html>'],
    ['a 200 with another shape', 200, '{"data":[]}'],
  ];
  it.each(refusals)(
    '%s fails the record as a config failure naming the setting, posting nothing',
    async (_, status, answer) => {
      const seen: string[] = [];
      const vendor = await localVendor((req, res) => {
        seen.push(`${req.method} ${req.url.split('?')[0]}`);
        res.writeHead(req.method === 'GET' ? status : 201, { 'content-type': 'application/json' });
        res.end(req.method === 'GET' ? answer : '{"id":"inc-1"}');
      });
      try {
        const sink = new CpomsSink({
          baseUrl: vendor.url,
          token: new Secret('good', 'env:T'),
          wire: DEFAULT_CPOMS_WIRE,
          timeoutMs: 2000,
        });
        const err = (await sink
          .deliver(record, `refused-${status}`)
          .catch((e: unknown) => e)) as RecordDeliveryError;
        expect(err).toBeInstanceOf(RecordDeliveryError);
        expect(err.advice).toEqual({ retry: 'never' }); // deliver-record: failed, with its alert
        expect(retryClassOf(err)).toBe('config');
        expect(err.code).toBe('DOORSTEP_RECORD_AUTH');
        expect(err.status).toBe(status);
        expect(err.message).toMatch(
          new RegExp(
            `^CPOMS student lookup: HTTP ${status} \\(.*\\) — CPOMS refused the student lookup by \`upn\` \\(records\\.wire\\.lookup\\.upn\\) at /api/students \\(records\\.wire\\.studentsPath\\); nothing was sent`,
          ),
        );
        // Never the pupil's UPN or id, nor the answer's words.
        expect(err.message).not.toMatch(/A123456789012|1001|unknown filter|Maintenance/);
        expect(seen).toEqual(['GET /api/students']); // no incident filed in the tray
      } finally {
        await vendor.close();
      }
    },
  );

  it('a 422 says whether its errors name the parameter, never what they say', async () => {
    const vendor = await localVendor((_req, res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end('{"errors":{"upn":"unknown filter"}}');
    });
    try {
      const sink = new CpomsSink({
        baseUrl: vendor.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
      });
      const err = (await sink.deliver(record, 'named-1').catch((e: unknown) => e)) as Error;
      expect(err.message).toContain('HTTP 422 (fields: upn)');
    } finally {
      await vendor.close();
    }
  });

  it('the MIS id lookup is named by its own setting, as the wire sets it', async () => {
    const vendor = await localVendor((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{}');
    });
    try {
      const sink = new CpomsSink({
        baseUrl: vendor.url,
        token: new Secret('good', 'env:T'),
        wire: { ...DEFAULT_CPOMS_WIRE, lookup: { upn: 'upn', misId: 'admission_no' } },
      });
      const err = (await sink
        .deliver({ ...record, pupils: [{ misId: '1001', upn: null }] }, 'mis-1')
        .catch((e: unknown) => e)) as Error;
      expect(err.message).toContain('the student lookup by `admission_no` (records.wire.lookup.misId)');
    } finally {
      await vendor.close();
    }
  });

  it('no such student is a 200 with the empty list: unmatched, the record in the tray as before', async () => {
    const vendor = await localVendor((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' });
      res.end(req.method === 'GET' ? '{"students":[]}' : '{"id":"inc-1"}');
    });
    try {
      const sink = new CpomsSink({
        baseUrl: vendor.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
      });
      expect(await sink.deliver(record, 'none-1')).toEqual({
        remoteId: 'inc-1',
        duplicate: false,
        matched: false,
      });
    } finally {
      await vendor.close();
    }
  });

  it('`doorstep check` looks a student up as deliveries do (a UPN no child has): a lookup CPOMS refuses is not ok', async () => {
    const good = await harnesses[0]!.good().check();
    expect(good).toMatchObject({ ok: true });
    expect(good.detail).toMatch(
      /accepted the token; \d+ categories; the student lookups by `upn` and by `mis_id` answered$/,
    );
    const seen: string[] = [];
    const vendor = await localVendor((req, res) => {
      seen.push(req.url);
      res.writeHead(req.url.startsWith('/api/categories') ? 200 : 422, {
        'content-type': 'application/json',
      });
      res.end(
        req.url.startsWith('/api/categories')
          ? '{"categories":[{"name":"Attendance"}]}'
          : '{"errors":{"upn":"x"}}',
      );
    });
    try {
      const sink = new CpomsSink({
        baseUrl: vendor.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
      });
      const result = await sink.check();
      expect(result.ok).toBe(false);
      expect(result.detail).toMatch(
        /HTTP 422 \(fields: upn\) — CPOMS refused the student lookup by `upn` \(records\.wire\.lookup\.upn\) .*: every record on a pupil with a UPN would fail; HTTP 422 \(.*\) — CPOMS refused the student lookup by `mis_id` \(records\.wire\.lookup\.misId\) .*would fail$/,
      );
      expect(seen).toEqual(['/api/categories', '/api/students?upn=A000000000000', '/api/students?mis_id=0']);
    } finally {
      await vendor.close();
    }
  });

  it('`doorstep check` looks a student up by MIS id too: a CPOMS that takes `upn` but refuses `mis_id` is not ok, as delivery fails the record', async () => {
    const seen: string[] = [];
    const vendor = await localVendor((req, res) => {
      seen.push(req.url);
      const [status, body] = req.url.startsWith('/api/categories')
        ? [200, '{"categories":[{"name":"Attendance"}]}']
        : req.url.startsWith('/api/students?upn=')
          ? [200, '{"students":[]}']
          : [422, '{"errors":{"mis_id":"unknown parameter"}}'];
      res.writeHead(req.method === 'POST' ? 201 : status, { 'content-type': 'application/json' });
      res.end(req.method === 'POST' ? '{"id":"inc-1"}' : body);
    });
    try {
      const sink = new CpomsSink({
        baseUrl: vendor.url,
        token: new Secret('good', 'env:T'),
        wire: DEFAULT_CPOMS_WIRE,
      });
      // A pupil CPOMS does not find by UPN: delivery fails the record on the MIS id lookup …
      const err = (await sink.deliver(record, 'mis-refused-1').catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(RecordDeliveryError);
      expect(retryClassOf(err)).toBe('config');
      expect(err.message).toContain(
        'HTTP 422 (fields: mis_id) — CPOMS refused the student lookup by `mis_id`',
      );
      // … and the check says so, by the same rule, naming the parameter and its setting.
      seen.length = 0;
      const result = await sink.check();
      expect(result.ok).toBe(false);
      expect(result.detail).toBe(
        `${new URL(vendor.url).host}: HTTP 422 (fields: mis_id) — CPOMS refused the student lookup by \`mis_id\` (records.wire.lookup.misId) at /api/students (records.wire.studentsPath): every record on a pupil CPOMS does not find by UPN (or who has none) would fail`,
      );
      // A value no pupil has (never a real pupil's id), and nothing filed.
      expect(seen).toEqual(['/api/categories', '/api/students?upn=A000000000000', '/api/students?mis_id=0']);
    } finally {
      await vendor.close();
    }
  });

  it('`doorstep check` looks the MIS id up by the parameter the wire sets', async () => {
    const seen: string[] = [];
    const vendor = await localVendor((req, res) => {
      seen.push(req.url);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        req.url.startsWith('/api/categories') ? '{"categories":[{"name":"Attendance"}]}' : '{"students":[]}',
      );
    });
    try {
      const sink = new CpomsSink({
        baseUrl: vendor.url,
        token: new Secret('good', 'env:T'),
        wire: { ...DEFAULT_CPOMS_WIRE, lookup: { upn: 'upn', misId: 'admission_no' } },
      });
      const result = await sink.check();
      expect(result).toMatchObject({ ok: true });
      expect(result.detail).toMatch(/the student lookups by `upn` and by `admission_no` answered$/);
      expect(seen).toEqual([
        '/api/categories',
        '/api/students?upn=A000000000000',
        '/api/students?admission_no=0',
      ]);
    } finally {
      await vendor.close();
    }
  });
});

describe('Arbor note specifics', () => {
  it('writes a PastoralNote as the published client does and records the id Arbor gives at the top level', async () => {
    const receipt = await harnesses[1]!.good().deliver(record, 'arbor-id-1');
    const created = arbor.notes.at(-1)!;
    expect(receipt.remoteId).toBe(String(created.note.id));
    expect(created).toEqual({
      type: 'PastoralNote',
      note: {
        entityType: 'PastoralNote',
        id: created.note.id,
        href: `/rest-v2/pastoral-notes/${created.note.id}`,
        student: { entityType: 'Student', href: '/rest-v2/students/1001' },
        summary: 'Not seen for 3 school days — pupil 1001 [doorstep:arbor-id-1]',
        content: 'Rule: …',
        // 16:00 UTC on 18 November is 16:00 in London (GMT).
        noteDate: { entityType: 'date', date: '2025-11-18 16:00:00' },
      },
    });
  });

  it('a retry after a lost answer finds the note it made (by the key in its summary) and makes none again', async () => {
    const sink = harnesses[1]!.good();
    const before = arbor.notes.length;
    arbor.answersToLose = 1;
    // Made, then its answer lost: a failure to retry.
    const lost = await sink.deliver(record, 'arbor-lost-1').catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(RecordDeliveryError);
    expect((lost as RecordDeliveryError).advice).toMatchObject({ retry: 'backoff' });
    expect(arbor.notes.length - before).toBe(1);
    // The retry reads the student's notes, finds its own, and posts nothing.
    const posts = arbor.requests.filter((r) => r === 'POST /rest-v2/pastoral-notes').length;
    const again = await sink.deliver(record, 'arbor-lost-1');
    expect(again.remoteId).toBe(String(arbor.notes.at(-1)!.note.id));
    expect(arbor.notes.length - before).toBe(1);
    expect(arbor.requests.filter((r) => r === 'POST /rest-v2/pastoral-notes').length).toBe(posts);
    expect(arbor.requests).toContain(
      '/rest-v2/PastoralNotes?filters.student.equals=%2Frest-v2%2Fstudents%2F1001&filters.noteDate.from=2025-11-18+00%3A00%3A00&page=1&page-size=100',
    );
    // Another record (another key) for the same student is made as its own note.
    await sink.deliver(record, 'arbor-lost-2');
    expect(arbor.notes.length - before).toBe(2);
  });

  it("a retry whose read of the student's notes says nothing (an error envelope, a page, a 400) writes no second note", async () => {
    const sink = harnesses[1]!.good();
    const cases = [
      // Arbor's error envelope in a 200 (its RestGateway reads `response.code` over the status): waited on.
      { status: 200, body: { response: { code: 503, reason: 'Service Unavailable' } }, retry: 'backoff' },
      // A maintenance or proxy page: waited on.
      { status: 200, body: '<html><body>Arbor is being updated</body></html>', retry: 'backoff' },
      // The read refused: a person looks (never a note written blind).
      { status: 400, body: { response: { code: 400, reason: 'Bad Request' } }, retry: 'never' },
      // No list, and not Arbor's success envelope: something in front of Arbor, never "no notes".
      { status: 200, body: { message: 'partial outage' }, retry: 'backoff' },
      { status: 200, body: { response: { code: 200 }, message: 'partial outage' }, retry: 'backoff' },
      { status: 200, body: { response: { code: 500, reason: 'Internal Server Error' } }, retry: 'backoff' },
      // The error envelope with a list beside it, or the list given as null: no list, never "no notes".
      { status: 200, body: { response: { code: 500 }, pastoralNotes: null }, retry: 'backoff' },
      { status: 200, body: { response: { code: 503 }, pastoralNotes: [] }, retry: 'backoff' },
      { status: 200, body: { pastoralNotes: null }, retry: 'backoff' },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const key = `arbor-unread-${i}`;
      const before = arbor.notes.length;
      arbor.answersToLose = 1;
      expect(await sink.deliver(record, key).catch((e: unknown) => e)).toBeInstanceOf(RecordDeliveryError);
      expect(arbor.notes.length - before).toBe(1);
      arbor.failures.push({ path: /^\/rest-v2\/PastoralNotes$/, status: c.status, body: c.body });
      const retried = await sink.deliver(record, key).catch((e: unknown) => e);
      expect(retried).toBeInstanceOf(RecordDeliveryError);
      expect((retried as RecordDeliveryError).advice).toMatchObject({ retry: c.retry });
      expect(retryClassOf(retried)).toBe(c.retry === 'never' ? 'permanent' : 'transient');
      expect((retried as Error).message).toContain('nothing was written');
      expect(arbor.notes.length - before).toBe(1);
      // Once the notes can be read, the retry finds its note and makes none again.
      await sink.deliver(record, key);
      expect(arbor.notes.length - before).toBe(1);
    }
  });

  it('a student with no notes that day, whose query Arbor answers without the list (its success envelope, or nothing), gets the note', async () => {
    const sink = harnesses[1]!.good();
    try {
      for (const [i, how] of (['envelope', 'nothing'] as const).entries()) {
        arbor.emptyListsAs = how;
        // A day no earlier test wrote a note on: the student's query for it has no rows.
        const day = { ...record, occurredAt: new Date(`2025-12-0${i + 1}T16:00:00Z`) };
        const before = arbor.notes.length;
        const receipt = await sink.deliver(day, `arbor-no-list-${how}`);
        expect(arbor.notes.length - before).toBe(1);
        expect(receipt.remoteId).toBe(String(arbor.notes.at(-1)!.note.id));
        expect(arbor.requests).toContain(
          `/rest-v2/PastoralNotes?filters.student.equals=%2Frest-v2%2Fstudents%2F1001&filters.noteDate.from=2025-12-0${i + 1}+00%3A00%3A00&page=1&page-size=100`,
        );
      }
    } finally {
      arbor.emptyListsAs = 'list';
    }
  });

  it('a retry finds its note where Arbor lists only references: each row read whole at its href, as the client does', async () => {
    const sink = harnesses[1]!.good();
    const before = arbor.notes.length;
    arbor.listsAsReferences = true;
    try {
      arbor.answersToLose = 1;
      const lost = await sink.deliver(record, 'arbor-ref-1').catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(RecordDeliveryError);
      expect(arbor.notes.length - before).toBe(1);
      const made = arbor.notes.at(-1)!.note;
      const again = await sink.deliver(record, 'arbor-ref-1');
      expect(again.remoteId).toBe(String(made.id));
      expect(arbor.notes.length - before).toBe(1); // not made twice
      expect(arbor.requests).toContain(`/rest-v2/pastoral-notes/${made.id}`);
      // Another record for the student is still its own note.
      await sink.deliver(record, 'arbor-ref-2');
      expect(arbor.notes.length - before).toBe(2);
    } finally {
      arbor.listsAsReferences = false;
    }
  });

  it("a retry whose read of a listed note answers something else in a 200 (Arbor's error envelope, a page) writes no second note", async () => {
    const sink = harnesses[1]!.good();
    for (const [i, body] of [
      { response: { code: 500, reason: 'Internal Server Error' } },
      '<html><body>Arbor is being updated</body></html>',
    ].entries()) {
      const before = arbor.notes.length;
      arbor.listsAsReferences = true;
      try {
        arbor.answersToLose = 1;
        const key = `arbor-ref-unread-${i}`;
        expect(await sink.deliver(record, key).catch((e: unknown) => e)).toBeInstanceOf(RecordDeliveryError);
        expect(arbor.notes.length - before).toBe(1);
        const made = arbor.notes.at(-1)!.note;
        arbor.failures.push({ path: new RegExp(`^/rest-v2/pastoral-notes/${made.id}$`), status: 200, body });
        const retried = await sink.deliver(record, key).catch((e: unknown) => e);
        expect(retried).toBeInstanceOf(RecordDeliveryError);
        expect((retried as RecordDeliveryError).advice).toMatchObject({ retry: 'backoff' });
        expect((retried as Error).message).toContain('nothing was written');
        expect(arbor.notes.length - before).toBe(1); // not made twice
        // Once the note can be read, the retry finds it.
        expect((await sink.deliver(record, key)).remoteId).toBe(String(made.id));
        expect(arbor.notes.length - before).toBe(1);
      } finally {
        arbor.listsAsReferences = false;
      }
    }
  });

  it('a note a person wrote in Arbor with no summary is read, passed over, and the record still delivered', async () => {
    const sink = harnesses[1]!.good();
    const href = '/rest-v2/pastoral-notes/9999';
    const human = {
      entityType: 'PastoralNote',
      id: 9999,
      href,
      summary: null,
      student: { entityType: 'Student', href: '/rest-v2/students/1001' },
      content: 'spoke to mum',
      noteDate: { entityType: 'date', date: '2025-11-18 09:00:00' },
    };
    arbor.objects.set(href, ['pastoralNote', human]);
    arbor.lists.set('PastoralNotes', [...(arbor.lists.get('PastoralNotes') ?? []), human]);
    const before = arbor.notes.length;
    try {
      const made = await sink.deliver(record, 'arbor-beside-a-note-with-no-summary');
      expect(made.duplicate).toBe(false);
      expect(arbor.notes.length - before).toBe(1);
      expect(arbor.requests).toContain(href);
    } finally {
      arbor.lists.set(
        'PastoralNotes',
        (arbor.lists.get('PastoralNotes') ?? []).filter((n) => n.id !== 9999),
      );
      arbor.objects.delete(href);
    }
  });

  it("a listed note Arbor will not open for this app (403) is passed over, never the record's delivery refused", async () => {
    const sink = harnesses[1]!.good();
    const before = arbor.notes.length;
    await sink.deliver(record, 'arbor-403-1');
    arbor.listsAsReferences = true;
    arbor.refusesNoteReads = true;
    try {
      // Another record for the student: the listed note cannot be opened, so this one is made.
      const made = await sink.deliver(record, 'arbor-403-2');
      expect(made.duplicate).toBe(false);
      expect(arbor.notes.length - before).toBe(2);
    } finally {
      arbor.listsAsReferences = false;
      arbor.refusesNoteReads = false;
    }
  });

  it('keeps the key whole at the end of a summary cut to 255 characters', async () => {
    await harnesses[1]!.good().deliver({ ...record, title: 'T'.repeat(400) }, 'arbor-long-title');
    const summary = String(arbor.notes.at(-1)!.note.summary);
    expect(summary.length).toBeLessThanOrEqual(255);
    expect(summary.endsWith(' [doorstep:arbor-long-title]')).toBe(true);
  });

  it('writes a SafeguardingNote (student, dateLogged, summary, content) when the school chooses it', async () => {
    const summer = { ...record, occurredAt: new Date('2025-06-30T23:30:00Z') };
    const receipt = await harnesses[2]!.good().deliver(summer, 'sg-1');
    const created = arborSafeguarding.notes.at(-1)!;
    expect(receipt.remoteId).toBe(String(created.note.id));
    expect(created.type).toBe('SafeguardingNote');
    expect(created.note).toMatchObject({
      entityType: 'SafeguardingNote',
      student: { entityType: 'Student', href: '/rest-v2/students/1001' },
      summary: expect.stringContaining('[doorstep:sg-1]'),
      content: 'Rule: …',
      // The school's day: 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
      dateLogged: { entityType: 'date', date: '2025-07-01 00:30:00' },
    });
    expect(created.note).not.toHaveProperty('noteDate');
    expect(arborSafeguarding.requests).toContain('POST /rest-v2/safeguarding-notes');
    expect(arbor.requests).not.toContain('POST /rest-v2/safeguarding-notes');
  });

  it('a note Arbor refuses (a student it does not have) is never retried, and names the field', async () => {
    const err = (await harnesses[2]!
      .good()
      .deliver({ ...record, pupils: [{ misId: '4040', upn: null }] }, 'sg-unknown')
      .catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err).toBeInstanceOf(RecordDeliveryError);
    expect(err.advice).toEqual({ retry: 'never' });
    expect(err.message).toBe('Arbor safeguarding note: HTTP 422 — Arbor refused the note (fields: student)');
  });

  it("the fake holds a writer to the published models: another model's date field, a bare date or a wrong envelope is refused", async () => {
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`https://beta.uk.arbor.sc/rest-v2/${path}`, {
        method: 'POST',
        headers: { authorization: GOOD_ARBOR, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: r.status,
        body: (await r.json()) as { response?: { errors?: { message: string }[] } },
      };
    };
    const student = { entityType: 'Student', href: '/rest-v2/students/1001' };
    const date = { entityType: 'date', date: '2025-11-18 16:00:00' };
    const cases: [string, unknown, RegExp][] = [
      [
        'safeguarding-notes',
        { request: { safeguardingNote: { student, summary: 's', content: 'c', noteDate: date } } },
        /has no property noteDate/,
      ],
      [
        'safeguarding-notes',
        { request: { safeguardingNote: { student, summary: 's', content: 'c', dateLogged: '2025-11-18' } } },
        /dateLogged: expected/,
      ],
      [
        'safeguarding-notes',
        { request: { pastoralNote: { student, summary: 's', content: 'c', dateLogged: date } } },
        /expected \{"request":\{"safeguardingNote"/,
      ],
      [
        'pastoral-notes',
        { pastoralNote: { student, summary: 's', content: 'c', noteDate: date } },
        /request/,
      ],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(path, body);
      expect(r.status).toBe(422);
      expect(r.body.response?.errors?.[0]?.message).toMatch(message);
    }
    const ok = await post('safeguarding-notes', {
      request: {
        safeguardingNote: {
          entityType: 'SafeguardingNote',
          student,
          summary: 's',
          content: 'c',
          dateLogged: date,
        },
      },
    });
    expect(ok.status).toBe(201);
  });

  it('a record with no pupil is refused, never "delivered" with nothing sent', async () => {
    const before = arbor.notes.length;
    const requests = arbor.requests.length;
    const err = (await harnesses[1]!
      .good()
      .deliver({ ...record, kind: 'lone_worker_incident', pupils: [] }, 'no-pupil')
      .catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err).toBeInstanceOf(RecordDeliveryError);
    expect(err.advice).toEqual({ retry: 'never' });
    expect(err.message).toBe(
      'Arbor pastoral note: record #1 (lone_worker_incident) concerns no pupil, and an Arbor note must be attached to a student — nothing was sent. It is kept here for a person to record by hand (doorstep outbox show 1); to have such records sent, add a cpoms sink that takes lone_worker_incident (records.sink, or alsoRecordTo)',
    );
    expect(arbor.notes.length).toBe(before);
    expect(arbor.requests.length).toBe(requests);
  });

  it('a 422 that quotes the note keeps only the fields it names', async () => {
    const echo = await localVendor((req, res) => {
      // The student's notes, read first for one this record made already: none.
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"pastoralNotes":[]}');
        return;
      }
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          response: { code: 422, errors: [{ message: 'content: "Spoke to Jane Doe" is too long' }] },
          request: JSON.parse(req.body) as unknown,
        }),
      );
    });
    try {
      const sink = new ArborPastoralSink({
        baseUrl: echo.url,
        username: 'app',
        password: new Secret('good', 'env:T'),
      });
      const err = (await sink
        .deliver({ ...record, body: 'Spoke to Jane Doe' }, 'echo-arbor')
        .catch((e: unknown) => e)) as RecordDeliveryError;
      expect(err.message).toBe('Arbor pastoral note: HTTP 422 — Arbor refused the note (fields: content)');
      expect(err.advice).toEqual({ retry: 'never' });
    } finally {
      await echo.close();
    }
  });

  it('stops at once when the delivery job is aborted (its timeout or a shutdown), to be retried', async () => {
    const slow = await localVendor((_req, res) => {
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"pastoralNote":{"id":7}}');
      }, 3000);
    });
    try {
      const sink = new ArborPastoralSink({
        baseUrl: slow.url,
        username: 'app',
        password: new Secret('good', 'env:T'),
        timeoutMs: 10_000,
      });
      const job = new AbortController();
      setTimeout(() => job.abort(), 50);
      const started = Date.now();
      const err = (await sink
        .deliver(record, 'slow-1', job.signal)
        .catch((e: unknown) => e)) as RecordDeliveryError;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(err.message).toBe(
        'Arbor pastoral note: stopped — the delivery job was aborted (its timeout or a shutdown)',
      );
      expect(err.advice).toEqual({ retry: 'backoff' });
    } finally {
      await slow.close();
    }
  });

  it('does not resend when Arbor answers success without the created note', async () => {
    nock('https://gamma.uk.arbor.sc')
      .get('/rest-v2/PastoralNotes')
      .query(true)
      .reply(200, { pastoralNotes: [] })
      .post('/rest-v2/pastoral-notes')
      .reply(200, { response: { pastoralNote: { id: 1 } } });
    const sink = new ArborPastoralSink({
      baseUrl: 'https://gamma.uk.arbor.sc',
      username: 'app',
      password: new Secret('good', 'env:T'),
    });
    const err = await sink.deliver(record, 'no-id').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordDeliveryError);
    expect((err as RecordDeliveryError).advice).toEqual({ retry: 'never' });
    expect((err as Error).message).toMatch(/without the created pastoralNote id/);
  });
});
