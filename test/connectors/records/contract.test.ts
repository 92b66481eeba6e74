import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArborPastoralSink } from '../../../connectors/records/arbor-pastoral/sink.ts';
import { CpomsSink } from '../../../connectors/records/cpoms/sink.ts';
import { DEFAULT_CPOMS_WIRE } from '../../../connectors/records/cpoms/wire.ts';
import { PreviewSink } from '../../../connectors/records/preview/sink.ts';
import {
  type OutboundRecord,
  RecordDeliveryError,
  type RecordSink,
} from '../../../connectors/records/types.ts';
import { Secret } from '../../../src/core/secret.ts';
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
  good: () => RecordSink;
  bad: () => RecordSink;
  created: () => number;
}

let fake: FakeCpoms;
let arborNotes = 0;
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
    created: () => arborNotes,
  },
  { name: 'preview', good: () => new PreviewSink(), bad: () => new PreviewSink(), created: () => 0 },
];

beforeAll(async () => {
  fake = await startFakeCpoms({ token: 'good', students: { A123456789012: 'cp-77' } });
  const good = `Basic ${Buffer.from('app:good').toString('base64')}`;
  const bad = `Basic ${Buffer.from('app:bad').toString('base64')}`;
  const arbor = nock('https://alpha.uk.arbor.sc').persist();
  arbor
    .get('/rest-v2/pastoral-notes')
    .query(true)
    .matchHeader('authorization', good)
    .reply(200, { pastoralNotes: [] });
  arbor.get('/rest-v2/pastoral-notes').query(true).matchHeader('authorization', bad).reply(401, {});
  arbor.post('/rest-v2/pastoral-notes').matchHeader('authorization', bad).reply(401, {});
  arbor
    .post('/rest-v2/pastoral-notes')
    .matchHeader('authorization', good)
    .reply(201, () => {
      arborNotes++;
      // RestGateway::create reads the created object at the top level of the answer.
      return {
        pastoralNote: {
          entityType: 'PastoralNote',
          id: arborNotes,
          href: `/rest-v2/pastoral-notes/${arborNotes}`,
        },
      };
    });
});
afterAll(async () => {
  nock.cleanAll();
  await fake.close();
});

describe.each(harnesses)('RecordSink contract: $name', (h) => {
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

  it('a 422 is never retried and carries the field errors', async () => {
    const sink = harnesses[0]!.good();
    const err = (await sink
      .deliver({ ...record, category: '' }, 'bad-category')
      .catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err.advice).toEqual({ retry: 'never' });
    expect(err.message).toContain('"category":"required"');
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
});

describe('Arbor note specifics', () => {
  it('records the id Arbor gives at the top level, and writes a SafeguardingNote when the school chooses it', async () => {
    const before = arborNotes;
    const receipt = await harnesses[1]!.good().deliver(record, 'arbor-id-1');
    expect(receipt.remoteId).toBe(String(before + 1));
    let sent: unknown;
    nock('https://beta.uk.arbor.sc')
      .post('/rest-v2/safeguarding-notes', (b) => {
        sent = b;
        return true;
      })
      .reply(201, { safeguardingNote: { entityType: 'SafeguardingNote', id: 'SN-9' } });
    const sink = new ArborPastoralSink({
      baseUrl: 'https://beta.uk.arbor.sc',
      username: 'app',
      password: new Secret('good', 'env:T'),
      noteType: 'safeguarding',
    });
    expect((await sink.deliver(record, 'sg-1')).remoteId).toBe('SN-9');
    expect(sent).toMatchObject({
      request: {
        safeguardingNote: {
          student: { entityType: 'Student' },
          summary: expect.stringContaining('[doorstep:sg-1]'),
          dateLogged: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        },
      },
    });
  });

  it('does not resend when Arbor answers success without the created note', async () => {
    nock('https://gamma.uk.arbor.sc')
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
