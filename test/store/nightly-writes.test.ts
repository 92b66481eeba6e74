import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/domain/triggers/finding.ts';
import { type AuditEntryInput, appendAudit, appendAuditMany } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { insertOutbox, insertOutboxMany, type OutboxInsert } from '../../src/store/outbox.ts';
import { insertEpisode, insertEpisodes } from '../../src/store/triggers.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * The nightly run's batch writes (one JSON document each, read with jsonb_to_recordset) store what
 * the one-row writes store, on PostgreSQL and PGlite.
 */
const backends: { name: string; open: () => Promise<{ db: Db; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'postgres',
    open: async () => {
      const schema = uniqueName('nwrites');
      const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
      return { db, cleanup: () => dropSchema(schema) };
    },
  },
  {
    name: 'pglite',
    open: async () => ({ db: await openStore({ dataDir: 'memory://' }), cleanup: async () => {} }),
  },
];

/** A string with a lone surrogate (e.g. text cut inside an emoji): node-pg and PGlite send U+FFFD for it. */
const LONE = 'cut \ud83d here';

const finding = (over: Partial<Finding> = {}): Finding => ({
  ruleKey: 'pack:rule',
  title: 'Title "quoted" \\ é',
  fired: true,
  action: 'phone-call',
  role: 'attendance-officer',
  source: 'test',
  explanation: 'why',
  evidence: { from: '2025-01-06', to: '2025-01-10', rate: 0.1 + 0.2, sessions: [] },
  ...over,
});

describe.each(backends)('nightly batch writes on $name', ({ open }) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await open());
  });
  afterAll(async () => {
    await db.close();
    await cleanup();
  });

  const auditRows = async (actor: string) =>
    (
      await db.query(
        `SELECT e.action, e.school_id, e.entity_type, e.entity_id, d.audit_id IS NOT NULL AS details,
                d.school_id AS details_school, d.at = e.at AS same_at, d.before::text AS before, d.after::text AS after
         FROM audit_entries e LEFT JOIN audit_details d ON d.audit_id = e.id WHERE e.actor = $1 ORDER BY e.id`,
        [actor],
      )
    ).rows;

  const sameAudit = async (entries: Omit<AuditEntryInput, 'actor'>[], name: string) => {
    await db.transaction((tx) =>
      appendAuditMany(
        tx,
        entries.map((e) => ({ ...e, actor: `many:${name}` })),
      ),
    );
    for (const e of entries) await db.transaction((tx) => appendAudit(tx, { ...e, actor: `one:${name}` }));
    const many = await auditRows(`many:${name}`);
    expect(many).toEqual(await auditRows(`one:${name}`));
    return many;
  };

  it('appendAuditMany writes what the audit_log trigger writes, entry for entry and in order', async () => {
    const rows = await sameAudit(
      [
        { action: 'absent' },
        { action: 'before-null', before: null },
        { action: 'after-null', after: null, schoolId: null },
        {
          action: 'nested',
          before: { n: { m: [1, null, { x: 'q"\\é\u2028😀' }] } },
          after: 's',
          schoolId: 's1',
        },
        { action: 'zero', after: 0, schoolId: 's1', entityType: 't', entityId: `id"\\'` },
        { action: 'unrepresentable', after: [undefined, Number.NaN, -0], before: { u: undefined } },
        { action: 'long', after: 'x"\\é😀'.repeat(100_000) },
        { action: 'date', after: new Date(0), before: '' },
        { action: 'undefined', before: undefined, after: undefined },
        { action: 'numbers', after: [1e21, 1e-7, 0.1 + 0.2] },
      ],
      'inputs',
    );
    expect(rows.map((r) => r.action)).toEqual([
      'absent',
      'before-null',
      'after-null',
      'nested',
      'zero',
      'unrepresentable',
      'long',
      'date',
      'undefined',
      'numbers',
    ]);
  });

  it('appendAuditMany writes no details for a before or an after JSON cannot hold, as the trigger does', async () => {
    const rows = await sameAudit(
      [
        { action: 'function', after: () => 1 },
        { action: 'symbol', before: Symbol('s') },
      ],
      'unrepresentable-top',
    );
    expect(rows.map((r) => r.details)).toEqual([false, false]);
  });

  it('appendAuditMany stores a lone surrogate in an entry column as appendAudit does', async () => {
    const rows = await sameAudit(
      [{ action: 'lone', schoolId: 's1', entityType: 'pupil', entityId: LONE }],
      'lone',
    );
    expect(rows[0]!.entity_id).toBe('cut \ufffd here');
  });

  const outbox = (over: Partial<OutboxInsert>): OutboxInsert => ({
    schoolId: 's1',
    kind: 'trigger_note',
    pupilIds: ['p"1', 'é'],
    title: 'A title',
    body: 'A body',
    occurredAt: new Date('2025-03-30T00:59:59.123Z'),
    sink: 'preview',
    idempotencyKey: 'k',
    sourceType: 'trigger_episode',
    sourceId: '1',
    ...over,
  });
  const outboxRows = async (keys: string[]) =>
    (
      await db.query(
        `SELECT idempotency_key, school_id, kind, pupil_ids, title, body, occurred_at, sink, status, source_type, source_id
         FROM outbox WHERE idempotency_key = ANY($1::text[]) ORDER BY id`,
        [keys],
      )
    ).rows.map(({ idempotency_key: _k, ...r }) => r);

  it('insertOutboxMany stores what insertOutbox stores, and a key already present adds nothing', async () => {
    const list = [
      outbox({ idempotencyKey: 'm1', body: 'line\nquote " backslash \\ tab \t 😀' }),
      outbox({ idempotencyKey: 'm2', sink: 'cpoms', occurredAt: new Date('2025-10-26T01:30:00.001Z') }),
      outbox({ idempotencyKey: 'm1', title: 'duplicate in the batch' }),
    ];
    await db.transaction((tx) => insertOutboxMany(tx, list));
    await db.transaction((tx) => insertOutboxMany(tx, [outbox({ idempotencyKey: 'm2', title: 'again' })]));
    for (const r of list)
      await db.transaction((tx) =>
        insertOutbox(tx, { ...r, idempotencyKey: r.idempotencyKey.replace('m', 'o') }),
      );
    const many = await outboxRows(['m1', 'm2']);
    expect(many).toHaveLength(2);
    expect(many).toEqual(await outboxRows(['o1', 'o2']));
    expect((many[1]!.occurred_at as Date).toISOString()).toBe('2025-10-26T01:30:00.001Z');
  });

  it('insertOutboxMany stores a lone surrogate in a text column as insertOutbox does', async () => {
    await db.transaction((tx) =>
      insertOutbox(tx, outbox({ idempotencyKey: 'lone-one', title: LONE, body: LONE })),
    );
    await db.transaction((tx) =>
      insertOutboxMany(tx, [outbox({ idempotencyKey: 'lone-many', title: LONE, body: LONE })]),
    );
    expect(await outboxRows(['lone-many'])).toEqual(await outboxRows(['lone-one']));
  });

  it('insertOutboxMany refuses a NUL with an error, as insertOutbox does', async () => {
    await expect(
      db.transaction((tx) => insertOutboxMany(tx, [outbox({ idempotencyKey: 'nul', body: 'a\u0000b' })])),
    ).rejects.toThrow(/Unicode|0x00/);
  });

  const episodeRows = async (school: string) =>
    (
      await db.query(
        `SELECT pupil_mis_id, rule_key, title, action, role, status, to_char(opened_on, 'YYYY-MM-DD') AS opened_on,
                explanation, evidence
         FROM trigger_episodes WHERE school_id = $1 ORDER BY id`,
        [school],
      )
    ).rows;

  it('insertEpisodes stores what insertEpisode stores and returns each id by pupil and rule', async () => {
    const list = [
      { pupilMisId: 'p1', finding: finding() },
      { pupilMisId: 'p1', finding: finding({ ruleKey: 'pack:other', evidence: { days: [] } }) },
      { pupilMisId: 'p|2', finding: finding({ explanation: 'line\n"q" \\ 😀' }) },
    ];
    const ids = await db.transaction((tx) =>
      insertEpisodes(
        tx,
        list.map((e) => ({ ...e, schoolId: 'many', today: '2025-03-30' })),
      ),
    );
    for (const e of list)
      await db.transaction((tx) => insertEpisode(tx, { ...e, schoolId: 'one', today: '2025-03-30' }));
    expect(await episodeRows('many')).toEqual(await episodeRows('one'));
    const { rows } = await db.query<{ id: string; pupil_mis_id: string; rule_key: string }>(
      `SELECT id, pupil_mis_id, rule_key FROM trigger_episodes WHERE school_id = 'many'`,
    );
    expect(new Map(rows.map((r) => [`${r.pupil_mis_id}|${r.rule_key}`, String(r.id)]))).toEqual(ids);
  });

  it('insertEpisodes stores a lone surrogate in a text column as insertEpisode does', async () => {
    const f = finding({ title: LONE, explanation: LONE });
    await db.transaction((tx) =>
      insertEpisode(tx, { schoolId: 'lone-one', pupilMisId: 'p', finding: f, today: '2025-03-30' }),
    );
    await db.transaction((tx) =>
      insertEpisodes(tx, [{ schoolId: 'lone-many', pupilMisId: 'p', finding: f, today: '2025-03-30' }]),
    );
    expect(await episodeRows('lone-many')).toEqual(await episodeRows('lone-one'));
  });
});
