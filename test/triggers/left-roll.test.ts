import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listEpisodes } from '../../src/store/triggers.ts';
import { evaluateSchoolTriggers } from '../../src/triggers/evaluate-school.ts';
import { configWith } from '../helpers/config.ts';
import { FAKE_ARBOR_AUTH, FakeArbor, fakeArborSource } from '../helpers/fake-arbor.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A pupil who leaves the roll — a leaving date in a SIMS/CSV export, a student deleted in Arbor —
 * raises a pack's `left-roll` children-missing-education check once per leaving, with the leaving
 * date and the destination when the MIS gives one, its note going to the records outbox like every
 * trigger's. No shipped pack asks for it (King's Gomer's policy has no trigger of its own for
 * children missing education: policies.md), so the mechanism is tested with a pack made here.
 */
const schema = uniqueName('left_roll');
const dir = mkdtempSync(join(tmpdir(), 'doorstep-left-roll-'));
const BASE = 'https://kings.uk.arbor.sc';
const AUTH = FAKE_ARBOR_AUTH;
let db: Db;
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2025-09-03", end: "2025-10-24" }, { start: "2025-11-03", end: "2025-12-19" }]
`,
});
const packDir = mkdtempSync(join(tmpdir(), 'doorstep-left-roll-packs-'));
writeFileSync(
  join(packDir, 'leavers.yaml'),
  `id: leavers
title: A school's own leavers check (test)
source: test
rules:
  - id: left-roll-cme-check
    kind: left-roll
    title: Left the roll — children missing education check
    action: missing-education-check
    role: dsl
    withinDays: 28
    source: test
`,
);
const packs = new Map([...loadPolicyPacks('config/policies'), ...loadPolicyPacks(packDir)]);
const kings = { ...config.schools[0]!, policies: ['statutory', 'kings-gomer', 'leavers'] };
const kingsAsShipped = { ...config.schools[0]!, policies: ['statutory', 'kings-gomer'] };
const heath = { ...config.schools[0]!, policies: ['statutory', 'heath-lane'] };
const rulesOf = (s: typeof kings) => rulesForSchool(s, packs).rules;

const evaluate = (s: typeof kings, today: string, pupilIds: string[] | 'all') =>
  evaluateSchoolTriggers(db, s, rulesOf(s), {
    today,
    pupilIds,
    actor: 'test',
    now: new Date(`${today}T18:00:00Z`),
  });

function importCsv(name: string, content: string, today: string) {
  const path = join(dir, name);
  writeFileSync(path, content);
  return applyImportUnit(
    db,
    fileUnit(path, 'csv', kings),
    importContextFor(kings, new Date(`${today}T12:00:00Z`), { actor: 'test', source: 'csv' }),
  );
}

const cmeEpisodes = async (status?: 'open' | 'closed') =>
  (await listEpisodes(db, 'alpha', status ? { status } : {})).filter(
    (e) => e.ruleKey === 'leavers:left-roll-cme-check',
  );

beforeAll(async () => {
  nock.disableNetConnect();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await db.close();
  await dropSchema(schema);
});
beforeEach(async () => {
  for (const t of ['outbox', 'trigger_episodes', 'attendance_marks', 'pupil_contacts', 'pupils', 'imports'])
    await db.query(`DELETE FROM ${t}`);
});

describe('leavers → a children-missing-education check where the pack asks', () => {
  it('a leaving date in a file export marks the pupil off roll with the destination, and raises the check once', async () => {
    const header = 'ID,UPN,Legal Forename,Legal Surname,DOB,Date of Leaving,Destination\n';
    await importCsv(
      'pupils-1.csv',
      `${header}1001,A123456789012,Ada,Lovelace,2014-01-02,,\n1002,B123456789012,Ben,Hart,2014-03-04,,\n`,
      '2025-11-10',
    );
    const summary = await importCsv(
      'pupils-2.csv',
      `${header}1001,A123456789012,Ada,Lovelace,2014-01-02,14/11/2025,Riverside Academy\n1002,B123456789012,Ben,Hart,2014-03-04,,\n`,
      '2025-11-17',
    );
    // The leaver is handed to trigger evaluation though no mark changed.
    expect(summary.changedPupils).toEqual(['1001']);
    const { rows } = await db.query(
      `SELECT mis_id, to_char(left_on, 'YYYY-MM-DD') AS left_on, left_to FROM pupils ORDER BY mis_id`,
    );
    expect(rows).toEqual([
      { mis_id: '1001', left_on: '2025-11-14', left_to: 'Riverside Academy' },
      { mis_id: '1002', left_on: null, left_to: null },
    ]);

    expect(await evaluate(kings, '2025-11-17', summary.changedPupils)).toMatchObject({ raised: 1 });
    const [episode] = await cmeEpisodes('open');
    expect(episode).toMatchObject({
      pupilMisId: '1001',
      action: 'missing-education-check',
      role: 'dsl',
      evidence: { from: '2025-11-14', leftOn: '2025-11-14', destination: 'Riverside Academy' },
    });
    const { rows: notes } = await db.query<{ kind: string; body: string; source_id: string }>(
      `SELECT kind, body, source_id FROM outbox WHERE source_type = 'trigger_episode'`,
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ kind: 'trigger_note', source_id: episode!.id });
    expect(notes[0]!.body).toContain('Left the roll on 2025-11-14. Destination: Riverside Academy.');
    expect(notes[0]!.body).toContain('children-missing-education check');

    // Once per leaving: the same export again and every nightly run change nothing…
    const again = await importCsv(
      'pupils-3.csv',
      `${header}1001,A123456789012,Ada,Lovelace,2014-01-02,14/11/2025,Riverside Academy\n`,
      '2025-11-18',
    );
    expect(again.changedPupils).toEqual([]);
    expect(await evaluate(kings, '2025-11-18', 'all')).toEqual({
      pupils: 2,
      raised: 0,
      updated: 0,
      closed: 0,
      escalated: 0,
    });
    // …the check closes 28 days after the leaving, and is never raised again for it.
    expect(await evaluate(kings, '2025-12-13', 'all')).toMatchObject({ raised: 0, closed: 1 });
    expect(await evaluate(kings, '2025-12-15', 'all')).toMatchObject({ raised: 0, closed: 0 });
    expect(await cmeEpisodes()).toEqual([expect.objectContaining({ id: episode!.id, status: 'closed' })]);
  });

  it('a leaving date removed in a later export puts the pupil back on roll (never hidden or erased as a leaver); leaving again is a new leaving', async () => {
    const header = 'ID,UPN,Legal Forename,Legal Surname,DOB,Date of Leaving,Destination\n';
    const row = (left: string, to = '') =>
      `${header}1001,A123456789012,Ada,Lovelace,2014-01-02,${left},${to}\n`;
    await importCsv('back-1.csv', row('14/11/2025'), '2025-11-17');
    // Entered by mistake; retention has already hidden the "leaver" from the board and search.
    await db.query(`UPDATE pupils SET hidden_at = now() WHERE mis_id = '1001'`);
    const back = await importCsv('back-2.csv', row(''), '2025-11-24');
    expect(back.changedPupils).toEqual(['1001']);
    expect(back.pupils).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
    const pupil = async () =>
      (
        await db.query(
          `SELECT to_char(left_on, 'YYYY-MM-DD') AS left_on, left_to, hidden_at FROM pupils WHERE mis_id = '1001'`,
        )
      ).rows[0];
    expect(await pupil()).toEqual({ left_on: null, left_to: null, hidden_at: null });
    const { rows: audit } = await db.query(
      `SELECT actor, before, after FROM audit_log WHERE action = 'pupil.returned-to-roll' AND entity_id = '1001'`,
    );
    expect(audit).toEqual([
      {
        actor: 'test',
        before: { leftOn: '2025-11-14', leftTo: null },
        after: { leftOn: null, source: 'csv' },
      },
    ]);
    // An export without the column says nothing of the roll: the pupil stays as they are.
    await importCsv('back-3.csv', 'ID,Legal Forename\n1001,Ada\n', '2025-11-25');
    expect((await pupil())!.left_on).toBeNull();
    // Leaving later is a new leaving date, not the old one kept.
    const again = await importCsv('back-4.csv', row('10/12/2025', 'Moved abroad'), '2025-12-11');
    expect(again.changedPupils).toEqual(['1001']);
    expect((await pupil())!.left_on).toBe('2025-12-10');
  });

  it('a Destination that says nothing ("N/A", "-") is no destination given, "N/K" one nobody knows: both still judged on every rule', async () => {
    const header = 'ID,UPN,Legal Forename,Legal Surname,DOB,Date of Leaving,Destination\n';
    await importCsv(
      'pupils-na.csv',
      `${header}1001,A123456789012,Ada,Lovelace,2014-01-02,19/11/2025,N/A\n` +
        `1002,B123456789012,Ben,Hart,2014-03-04,19/11/2025,-\n` +
        `1003,C123456789012,Cara,Dunn,2014-07-08,19/11/2025,N/K\n` +
        `1004,D123456789012,Dev,Shah,2014-05-06,19/11/2025,Riverside Academy\n`,
      '2025-11-19',
    );
    const { rows } = await db.query(`SELECT mis_id, left_to, left_to_unknown FROM pupils ORDER BY mis_id`);
    expect(rows).toEqual([
      { mis_id: '1001', left_to: null, left_to_unknown: false },
      { mis_id: '1002', left_to: null, left_to_unknown: false },
      { mis_id: '1003', left_to: null, left_to_unknown: true },
      { mis_id: '1004', left_to: 'Riverside Academy', left_to_unknown: false },
    ]);
    // Away (G) every session of the 20 school days before leaving (half term passed over).
    const days: string[] = [];
    for (
      let d = new Date('2025-10-15T12:00:00Z');
      d <= new Date('2025-11-18T12:00:00Z');
      d.setUTCDate(d.getUTCDate() + 1)
    ) {
      const iso = d.toISOString().slice(0, 10);
      if (d.getUTCDay() % 6 !== 0 && (iso < '2025-10-25' || iso > '2025-11-02')) days.push(iso);
    }
    expect(days).toHaveLength(20);
    const uk = (iso: string) => iso.split('-').reverse().join('/');
    await importCsv(
      'marks-na.csv',
      `PersonID,AttendanceDate,AM,PM\n${['1001', '1002', '1003', '1004']
        .flatMap((id) => days.map((d) => `${id},${uk(d)},G,G\n`))
        .join('')}`,
      '2025-11-19',
    );
    await evaluate(kings, '2025-11-25', 'all');
    const reviewed = (await listEpisodes(db, 'alpha'))
      .filter((e) => e.ruleKey === 'statutory:removal-from-roll-review-20')
      .map((e) => e.pupilMisId)
      .sort();
    // Only the pupil whose export named where they went is out of the removal review.
    expect(reviewed).toEqual(['1001', '1002', '1003']);
  });

  it('placeholders stored as destinations before are cleared by migration 077, named ones in any script kept', async () => {
    const stored = [
      'N/A',
      '-',
      'TBC',
      '…',
      'n/k',
      'Riverside Academy',
      '北京第一中学',
      'None Such Academy',
      'Ελλάδα TBC',
      'Київ (N/A)',
      'Україна — not known yet',
      '“TBC”\u00a0',
    ];
    await importCsv(
      'pupils-077.csv',
      `ID,Legal Forename,Legal Surname,Date of Leaving,Destination\n${stored
        .map((_, i) => `${3001 + i},P,Q${i},14/11/2025,Somewhere\n`)
        .join('')}`,
      '2025-11-17',
    );
    for (const [i, to] of stored.entries())
      await db.query(`UPDATE pupils SET left_to = $2 WHERE mis_id = $1`, [String(3001 + i), to]);
    await db.query(
      readFileSync(
        new URL('../../src/store/migrations/077_leaving_destination_placeholders.sql', import.meta.url),
        'utf8',
      ),
    );
    const { rows } = await db.query(
      `SELECT left_to, left_to_unknown FROM pupils WHERE mis_id LIKE '30%' ORDER BY mis_id`,
    );
    expect(rows).toEqual([
      { left_to: null, left_to_unknown: false },
      { left_to: null, left_to_unknown: false },
      { left_to: null, left_to_unknown: false },
      { left_to: null, left_to_unknown: false },
      { left_to: null, left_to_unknown: true },
      { left_to: 'Riverside Academy', left_to_unknown: false },
      { left_to: '北京第一中学', left_to_unknown: false },
      { left_to: 'None Such Academy', left_to_unknown: false },
      { left_to: 'Ελλάδα TBC', left_to_unknown: false },
      { left_to: 'Київ (N/A)', left_to_unknown: false },
      { left_to: 'Україна — not known yet', left_to_unknown: false },
      { left_to: null, left_to_unknown: false },
    ]);
  });

  it("a school whose packs do not ask raises nothing for a leaver — King's Gomer's as shipped among them", async () => {
    await importCsv(
      'pupils-h.csv',
      'ID,Legal Forename,Legal Surname,Date of Leaving\n2001,Cara,Dunn,2025-11-14\n',
      '2025-11-17',
    );
    expect(await evaluate(heath, '2025-11-17', 'all')).toMatchObject({ raised: 0 });
    expect(await evaluate(kingsAsShipped, '2025-11-17', 'all')).toMatchObject({ raised: 0 });
    expect(await listEpisodes(db, 'alpha')).toEqual([]);
  });

  it('a student deleted in Arbor is a leaver too: the check is raised with no destination', async () => {
    const now = new Date('2025-11-17T15:00:00Z');
    const f = new FakeArbor(BASE, AUTH);
    f.addPupil({ id: 9, upn: 'C123456789012', first: 'Cara', last: 'Dunn', dob: '2014-07-08' });
    f.removePupil(9);
    f.install();
    const changed: string[] = [];
    const report = await syncSchool(
      db,
      kings,
      fakeArborSource(BASE, () => now),
      { now: () => now, actor: 'system:sync', onApplied: async (s) => void changed.push(...s.changedPupils) },
    );
    expect(report.refused).toEqual([]);
    expect(changed).toEqual(['9']);
    expect(await evaluate(kings, '2025-11-17', changed)).toMatchObject({ raised: 1 });
    const [episode] = await cmeEpisodes('open');
    expect(episode).toMatchObject({ pupilMisId: '9', evidence: { leftOn: '2025-11-17' } });
    expect(episode!.evidence).not.toHaveProperty('destination');
    expect(episode!.explanation).toContain('no destination in the MIS');
  });
});
