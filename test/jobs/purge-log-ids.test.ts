import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { purge } from '../../jobs/purge.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { BACKENDS, insert, type TestStore } from '../store/dp-fixtures.ts';

/**
 * README "Minimisation": logs carry ids only, never a pupil's (a CTF pupil's id is the UPN). The purge
 * job says how many leavers' erasure waits for a record, never which.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
const UPN = 'K801200001234';
let store: TestStore;
const lines: string[] = [];
beforeAll(async () => {
  store = await BACKENDS[1]!.open();
  await insert(store.db, 'pupils', {
    school_id: 'alpha',
    mis_id: UPN,
    upn: UPN,
    forename: 'Zephyrine',
    surname: 'Quillfeather',
    address: {},
    flags: {},
    left_on: '2024-07-20',
  });
  await insert(store.db, 'outbox', {
    school_id: 'alpha',
    kind: 'trigger_note',
    pupil_ids: [UPN],
    title: 't',
    body: 'b',
    occurred_at: NOW,
    sink: 'cpoms',
    idempotency_key: 'k1',
    status: 'failed',
    source_type: 'trigger_episode',
    source_id: '1',
  });
});
afterAll(async () => store.close());

it("the purge job's log names no pupil by their MIS id (a CTF school's is the UPN)", async () => {
  const r = parseConfigText(
    `trust: { id: t, name: T }
schools:
  - { id: alpha, name: Alpha, urn: "100001", mis: { kind: ctf, dropFolder: /nonexistent-${Date.now()} }, records: { sink: preview }, policies: [statutory] }
`,
    { env: {} },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const log = createLogger({ level: 'debug' }, { write: (l: string) => lines.push(l) } as never);
  const deps = {
    db: store.db,
    log,
    now: () => NOW,
    instance: 'test',
    config: r.config,
  } as unknown as JobDeps;
  const run = { id: 'j1', name: 'purge', attempt: 1, maxAttempts: 3, signal: new AbortController().signal };
  await purge({ schoolId: 'alpha', reason: 'manual' }, run, deps).catch(() => {});
  expect(lines.join('')).toContain('"pupilsWaiting":1');
  expect(lines.join('')).not.toContain(UPN);
}, 60_000);
