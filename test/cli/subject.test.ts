import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectCommand } from '../../src/cli/subject-command.ts';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import type { Db } from '../../src/store/db.ts';
import { purgeSchool } from '../../src/store/retention.ts';
import { BACKENDS, insert, type TestStore } from '../store/dp-fixtures.ts';

/** `doorstep subject`: export to private files, correct and record leaving by a named admin, erase. */
let store: TestStore;
let db: Db;
let dir: string;
let config: string;

beforeAll(async () => {
  store = await BACKENDS[0]!.open();
  db = store.db;
  dir = mkdtempSync(join(tmpdir(), 'subject-'));
  config = join(dir, 'doorstep.yaml');
  writeFileSync(
    config,
    `trust: { id: t, name: T }
store: { schema: ${store.schema} }
schools:
  - { id: alpha, name: Alpha, mis: { kind: csv, dropFolder: ${dir}/drop }, records: { sink: preview }, policies: [statutory] }
`,
  );
  process.env.DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  await insert(db, 'users', { username: 'ada', display_name: 'Ada', password_hash: 'x', roles: ['admin'] });
  await insert(db, 'users', {
    username: 'otto',
    display_name: 'Otto',
    password_hash: 'x',
    roles: ['office'],
  });
  await insert(db, 'pupils', {
    school_id: 'alpha',
    mis_id: '1001',
    forename: 'Marigold',
    surname: 'Thistlewood',
  });
});
afterAll(async () => store.close());

const NOW = new Date('2026-03-15T12:00:00Z');

async function cli(action: string, opts: Record<string, unknown>) {
  const lines: string[] = [];
  const code = await subjectCommand(
    action,
    { config, school: 'alpha', ...opts },
    (l) => lines.push(l),
    undefined,
    () => NOW,
  );
  return { code, out: lines.join('\n') };
}

describe('doorstep subject', () => {
  it('exports JSON and HTML readable by the owner only, printing tables and counts, never values', async () => {
    // Only by a named admin of the school, and audited (counts only).
    await expect(cli('export', { pupil: '1001', out: dir })).rejects.toThrow(/--by/);
    await expect(cli('export', { pupil: '1001', out: dir, by: 'otto' })).rejects.toThrow(
      /not an enabled admin/,
    );
    const r = await cli('export', { pupil: '1001', out: dir, by: 'ada' });
    expect(r.code).toBe(0);
    const audit = await db.query<{ actor: string; after: { rows: Record<string, number> } }>(
      `SELECT actor, after FROM audit_log WHERE action = 'subject.exported' AND entity_id = '1001'`,
    );
    expect(audit.rows).toEqual([
      {
        actor: expect.stringMatching(/^user:/),
        after: { rows: expect.objectContaining({ pupils: 1 }), dropFiles: 0 },
      },
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain('Thistlewood');
    expect(r.out).not.toContain('Thistlewood');
    const base = join(dir, 'doorstep-alpha-pupil-1001');
    expect(statSync(`${base}.json`).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${base}.json`, 'utf8')).sections[0].rows[0].surname).toBe('Thistlewood');
    expect(readFileSync(`${base}.html`, 'utf8')).toContain('Thistlewood');
    await expect(cli('export', { pupil: '1001', out: dir, by: 'ada' })).rejects.toThrow(/EEXIST/);
  });

  it('corrects a field and records leaving only for an admin, audited', async () => {
    await expect(
      cli('correct', { pupil: '1001', field: 'surname', value: 'Thistlewode', by: 'otto' }),
    ).rejects.toThrow(/not an enabled admin/);
    expect(
      (await cli('correct', { pupil: '1001', field: 'surname', value: 'Thistlewode', by: 'ada' })).code,
    ).toBe(0);
    expect((await cli('left', { pupil: '1001', on: '2026-02-01', by: 'ada' })).code).toBe(0);
    const { rows } = await db.query<{ surname: string; left_on: string }>(
      `SELECT surname, to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils WHERE mis_id = '1001'`,
    );
    expect(rows[0]).toEqual({ surname: 'Thistlewode', left_on: '2026-02-01' });
    const audit = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'subject.corrected' AND actor LIKE 'user:%'`,
    );
    expect(audit.rows[0]!.n).toBe(2);
  });

  it('refuses a leaving date before the last day the pupil attended, or one that erases them tonight, unless confirmed', async () => {
    await insert(db, 'pupils', { school_id: 'alpha', mis_id: '2002', forename: 'Rowan', surname: 'Pike' });
    // In school this term, with a trigger open.
    await insert(db, 'attendance_marks', {
      school_id: 'alpha',
      pupil_mis_id: '2002',
      date: '2026-03-02',
      session: 'AM',
      code: '/',
      category: 'present',
      import_id: 1,
    });
    await insert(db, 'trigger_episodes', {
      school_id: 'alpha',
      pupil_mis_id: '2002',
      rule_key: 'statutory:severe-absence',
      title: 'Severe absence',
      action: 'home-visit',
      role: 'attendance-officer',
      status: 'open',
      opened_on: '2026-03-02',
      explanation: 'absent',
      evidence: { dates: ['2026-03-02'] },
    });
    const leftOn = async () =>
      (
        await db.query<{ left_on: string | null }>(
          `SELECT to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils WHERE mis_id = '2002'`,
        )
      ).rows[0]?.left_on;
    // A year mistyped (2016 for 2026): before their last mark, and past leaverDataDays.
    await expect(cli('left', { pupil: '2002', on: '2016-03-02', by: 'ada' })).rejects.toThrow(
      "pupil 2002 left on 2016-03-02? they attended on 2026-03-02, after that date; that is more than leaverDataDays (366 days) ago, so tonight's purge erases the pupil and everything about them, which cannot be undone. Check the date (a year mistyped?), or add --yes to confirm",
    );
    // The same through `subject correct`.
    await expect(
      cli('correct', { pupil: '2002', field: 'leftOn', value: '2016-03-02', by: 'ada' }),
    ).rejects.toThrow(/tonight's purge erases the pupil/);
    await expect(
      cli('correct', { pupil: '2002', field: 'leftOn', value: '2o26-03-02', by: 'ada' }),
    ).rejects.toThrow('--value: the date the pupil left, YYYY-MM-DD');
    // Before the last mark alone: kept from the purge, but still asked.
    await expect(cli('left', { pupil: '2002', on: '2026-02-27', by: 'ada' })).rejects.toThrow(
      /^pupil 2002 left on 2026-02-27\? they attended on 2026-03-02, after that date\. Check the date/,
    );
    expect(await leftOn()).toBeNull();
    // Tonight's purge finds no leaver to erase.
    await purgeSchool(db, {
      schoolId: 'alpha',
      now: NOW,
      periods: { ...RETENTION_DEFAULTS },
      trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
      batchSize: 100,
      maxRowsPerRun: 10_000,
    });
    expect((await db.query(`SELECT 1 FROM pupils WHERE mis_id = '2002'`)).rows).toHaveLength(1);
    // On or after the last mark, within leaverDataDays: taken; an earlier date, when confirmed.
    expect((await cli('left', { pupil: '2002', on: '2026-03-02', by: 'ada' })).code).toBe(0);
    expect(await leftOn()).toBe('2026-03-02');
    const confirmed = await cli('left', { pupil: '2002', on: '2026-02-27', by: 'ada', yes: true });
    expect(confirmed.code).toBe(0);
    expect(await leftOn()).toBe('2026-02-27');
    // Confirmed, the doubts are still said: never taken silently.
    expect(confirmed.out).toContain(
      'warning: pupil 2002 left on 2026-02-27? they attended on 2026-03-02, after that date (confirmed with --yes)',
    );
    const erasing = await cli('left', { pupil: '2002', on: '2016-03-02', by: 'ada', yes: true });
    expect(erasing.out).toMatch(
      /^warning: pupil 2002 left on 2016-03-02\?.*tonight's purge erases the pupil/m,
    );
    expect((await cli('left', { pupil: '2002', on: '2026-03-02', by: 'ada' })).out).not.toContain('warning');
  });

  it("refuses an admin of one school correcting or exporting another school's member of staff", async () => {
    await insert(db, 'users', {
      username: 'alpha-admin',
      display_name: 'Alpha Admin',
      password_hash: 'x',
      roles: ['admin'],
      schools: ['alpha'],
    });
    await insert(db, 'users', {
      username: 'bob',
      display_name: 'Bob Beta',
      password_hash: 'x',
      roles: ['visiting-staff'],
      schools: ['beta'],
      phone: '+447700900222',
    });
    await expect(
      cli('correct', { staff: 'bob', field: 'phone', value: '+447700900999', by: 'alpha-admin' }),
    ).rejects.toThrow(/no staff "bob" held for alpha: that account does not work at alpha/);
    await expect(cli('export', { staff: 'bob', out: dir, by: 'alpha-admin' })).rejects.toThrow(
      /does not work at alpha/,
    );
    const { rows } = await db.query<{ phone: string }>(`SELECT phone FROM users WHERE username = 'bob'`);
    expect(rows[0]!.phone).toBe('+447700900222');
    expect(readdirSync(dir).filter((f) => f.includes('staff-bob'))).toEqual([]);
  });

  it("names the drop folder's kept MIS files that hold a pupil, and deletes them only when asked", async () => {
    // A CTF-style pupil (UPN) and a SIMS-style one: whole exports kept in processed/ and quarantine/.
    await insert(db, 'pupils', { school_id: 'alpha', mis_id: '3003', upn: 'A123456789012', surname: 'Pell' });
    await insert(db, 'pupils', { school_id: 'alpha', mis_id: '4004', upn: 'B123456789012', surname: 'Rook' });
    const drop = join(dir, 'drop');
    const day = join(drop, 'processed', '2026-03-10');
    mkdirSync(day, { recursive: true });
    mkdirSync(join(drop, 'quarantine'), { recursive: true });
    writeFileSync(join(day, 'pupils.csv'), 'id,upn,surname\n3003,A123456789012,Pell\n2002,,Pike\n');
    // Not the pupil: an id that only contains theirs, a date.
    writeFileSync(join(day, 'others.csv'), 'id,upn,surname,date\n30031,,Moss,2026-03-003\n');
    writeFileSync(join(drop, 'quarantine', 'late.csv'), 'upn,mark\nA123456789012,N\n');
    writeFileSync(join(drop, 'quarantine', 'late.csv.error.txt'), '2026-03-10T09:00:00Z\nrefused\n');
    writeFileSync(join(drop, 'quarantine', 'rook.csv'), 'upn,mark\nB123456789012,N\n');
    writeFileSync(join(drop, 'quarantine', 'rook.csv.error.txt'), '2026-03-10T09:00:00Z\nrefused\n');
    const base = join(dir, 'doorstep-alpha-pupil-3003');
    // Subject access names them (they hold other pupils: not copied whole).
    const x = await cli('export', { pupil: '3003', out: dir, by: 'ada' });
    const found = ['processed/2026-03-10/pupils.csv', 'quarantine/late.csv'];
    expect(JSON.parse(readFileSync(`${base}.json`, 'utf8')).dropFiles).toEqual(found);
    for (const f of found) expect(x.out).toContain(`    ${f}`);
    expect(x.out).not.toContain('others.csv');
    // Erased, the files are named and kept (by default), with what stays until when.
    await expect(cli('erase', { pupil: '3003', by: 'ada', yes: true, dropFiles: 'shred' })).rejects.toThrow(
      /--drop-files: keep or delete/,
    );
    const kept = await cli('erase', { pupil: '3003', by: 'ada', yes: true });
    expect(kept.out).toContain('2 MIS file(s) kept in the drop folder still hold the pupil');
    expect(kept.out).toContain('dropFileDays (30 days)');
    for (const f of found) expect(kept.out).toContain(`    ${f}`);
    expect(kept.out).toContain('the next MIS sync brings pupil 3003 back while the MIS still holds them');
    for (const f of found) expect(existsSync(join(drop, f))).toBe(true);
    // The erasure's reference is printed, with the command that deletes them later.
    const reference = /reference (erased:[0-9a-f-]+)/.exec(kept.out)![1]!;
    expect(kept.out).toContain(`--pupil 3003 --drop-files delete --erasure ${reference} --yes`);
    // Once erased, deleted when asked and confirmed — by the MIS id only (the UPN went with the
    // erasure) — and only for an erasure the audit trail holds at the school: the audit names no
    // erased pupil by their id, so the reference their erasure printed is asked for.
    await expect(cli('erase', { pupil: '3003', by: 'ada', yes: true, dropFiles: 'delete' })).rejects.toThrow(
      /not held at alpha, and the audit names no erased pupil by their id: .*--erasure .* nothing deleted/,
    );
    await expect(
      cli('erase', { pupil: '3003', by: 'ada', yes: true, dropFiles: 'delete', erasure: 'erased:nope' }),
    ).rejects.toThrow(/the audit trail has no erasure erased:nope at alpha .*nothing deleted/);
    await expect(cli('erase', { pupil: '3003', by: 'ada', erasure: reference })).rejects.toThrow(
      /--erasure: with erase --drop-files delete/,
    );
    expect(existsSync(join(day, 'pupils.csv'))).toBe(true);
    // Listed without the reference: they "may hold" pupil 3003 (the id typed is not known to be theirs).
    const listed = await cli('erase', { pupil: '3003', by: 'ada', dropFiles: 'keep' });
    expect(listed.out).toContain('1 MIS file(s) kept in the drop folder may hold pupil 3003');
    expect(listed.out).toContain('    processed/2026-03-10/pupils.csv');
    await expect(
      cli('erase', { pupil: '3003', by: 'ada', dropFiles: 'delete', erasure: reference }),
    ).rejects.toThrow(/--yes/);
    const later = await cli('erase', {
      pupil: '3003',
      by: 'ada',
      yes: true,
      dropFiles: 'delete',
      erasure: reference,
    });
    expect(later.out).toContain('searched by their MIS id only');
    expect(later.out).toContain(
      'deleted 1 MIS file(s) kept in the drop folder that held pupil 3003 (audited)',
    );
    // Audited under the erasure's own reference.
    const deleted = await db.query<{ after: unknown }>(
      `SELECT after FROM audit_log WHERE action = 'subject.drop-files-deleted' AND entity_id = $1`,
      [reference],
    );
    expect(deleted.rows).toEqual([{ after: { files: 1 } }]);
    expect(existsSync(join(day, 'pupils.csv'))).toBe(false);
    expect(existsSync(join(day, 'others.csv'))).toBe(true);
    // Deleted with the erasure itself: a quarantined file goes with its note; audited by the erasure's
    // reference, counts only.
    const now = await cli('erase', { pupil: '4004', by: 'ada', yes: true, dropFiles: 'delete' });
    expect(now.out).toContain('deleted 1 MIS file(s) kept in the drop folder that held the pupil (audited)');
    expect(readdirSync(join(drop, 'quarantine')).sort()).toEqual(['late.csv', 'late.csv.error.txt']);
    const { rows } = await db.query<{ action: string; entity_id: string; after: unknown }>(
      `SELECT action, entity_id, after FROM audit_log WHERE action IN ('subject.erased', 'subject.drop-files-deleted')
       ORDER BY id DESC LIMIT 2`,
    );
    expect(rows.map((r) => r.action)).toEqual(['subject.drop-files-deleted', 'subject.erased']);
    expect(rows[0]!.entity_id).toBe(rows[1]!.entity_id);
    expect(rows[0]!.after).toEqual({ files: 1 });
    const all = await db.query(`SELECT 1 FROM audit_log WHERE action = 'subject.drop-files-deleted'`);
    expect(all.rows).toHaveLength(2);
    expect(JSON.stringify((await db.query('SELECT * FROM audit_log')).rows)).not.toContain('B123456789012');
  });

  it("deletes only the kept files whose format holds the pupil's id where it keeps one; a file it cannot read so is named as one that may hold them", async () => {
    await insert(db, 'pupils', { school_id: 'alpha', mis_id: '12', surname: 'Short' });
    const drop = join(dir, 'drop');
    const day = join(drop, 'processed', '2026-03-11');
    mkdirSync(day, { recursive: true });
    mkdirSync(join(drop, 'quarantine'), { recursive: true });
    // Another pupil's row: 12 is their house number, their year group and minutes late — not pupil 12.
    writeFileSync(
      join(day, 'house.csv'),
      'ID,Legal Forename,Legal Surname,Year,Address Line 1,Postcode\r\n1001,Amelia,Okafor,12,12 High Street,LS6 2AB\r\n',
    );
    writeFileSync(
      join(day, 'late.csv'),
      'PersonID,AttendanceDate,SessionName,AttendanceMark,MinsLate\r\n1001,2026-03-11,AM,L,12\r\n',
    );
    // Pupil 12's marks: their id where the marks file keeps it.
    writeFileSync(
      join(day, 'marks.csv'),
      'PersonID,AttendanceDate,SessionName,AttendanceMark\r\n12,2026-03-11,AM,/\r\n',
    );
    // Refused (semicolons: no column the school's map names): the id stands in it, where cannot be told.
    writeFileSync(join(drop, 'quarantine', 'semi.csv'), 'ID;Legal Surname\r\n12;Short\r\n');
    writeFileSync(
      join(drop, 'quarantine', 'semi.csv.error.txt'),
      '2026-03-11T09:00:00Z\nlooks semicolon-delimited\n',
    );
    const x = await cli('export', { pupil: '12', out: dir, by: 'ada' });
    const json = JSON.parse(readFileSync(join(dir, 'doorstep-alpha-pupil-12.json'), 'utf8'));
    expect(json.dropFiles).toEqual(['processed/2026-03-11/marks.csv']);
    expect(json.dropFilesMayHold).toEqual(['quarantine/semi.csv']);
    expect(x.out).toContain('that may hold them');
    const erased = await cli('erase', { pupil: '12', by: 'ada', yes: true, dropFiles: 'delete' });
    expect(erased.out).toContain(
      'deleted 1 MIS file(s) kept in the drop folder that held the pupil (audited)',
    );
    expect(erased.out).toContain('1 MIS file(s) kept in the drop folder may hold the pupil');
    expect(erased.out).toContain('    quarantine/semi.csv');
    expect(readdirSync(day).sort()).toEqual(['house.csv', 'late.csv']);
    expect(readdirSync(join(drop, 'quarantine')).sort()).toEqual(
      expect.arrayContaining(['semi.csv', 'semi.csv.error.txt']),
    );
    // A pupil never erased (nor held), typed: nothing deleted, whatever the files hold.
    await expect(
      cli('erase', { pupil: '1001', by: 'ada', yes: true, dropFiles: 'delete', erasure: 'x' }),
    ).rejects.toThrow(/--erasure: pupil 1001 is held/);
    await expect(cli('erase', { pupil: '7', by: 'ada', yes: true, dropFiles: 'delete' })).rejects.toThrow(
      /nothing deleted/,
    );
    expect(readdirSync(day).sort()).toEqual(['house.csv', 'late.csv']);
  });

  it('erases a pupil only when confirmed', async () => {
    await expect(cli('erase', { pupil: '1001', by: 'ada' })).rejects.toThrow(/--yes/);
    expect((await cli('erase', { pupil: '1001', by: 'ada', yes: true })).code).toBe(0);
    await expect(cli('export', { pupil: '1001', out: dir, by: 'ada' })).rejects.toThrow(/no pupil "1001"/);
  });
});
