import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { renderProgress } from '../../src/cli/progress.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { runCli, writeTempConfig } from '../helpers/spawn.ts';

const schema = uniqueName('cli_import');
const prefix = uniqueName('cli-import').replace(/_/g, '-');
const { file: config, dir } = writeTempConfig(`
trust: { id: t, name: T }
redis: { prefix: ${prefix} }
store: { schema: ${schema} }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: sims-xml, dropFolder: ./data/drop/cli-alpha }
    records: { sink: preview }
    policies: [statutory, heath-lane]
    attendance: { codeMap: { X01: B }, academicYears: [2024] }
`);
const env = { DATABASE_URL: TEST_DATABASE_URL };
afterAll(async () => {
  await dropSchema(schema);
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('doorstep import', () => {
  it('imports pupils, then marks, printing a summary and handing changed pupils to evaluation', async () => {
    const pupils = runCli(['import', 'test/fixtures/mis/sims/pupils-report.xml', '--config', config], env);
    expect((await pupils.exited).code).toBe(0);
    expect(pupils.stdout()).toContain('pupils: 3 inserted, 0 updated, 0 unchanged');
    const marks = runCli(
      ['import', 'test/fixtures/mis/sims/session-attendance.xml', '--config', config],
      env,
    );
    expect((await marks.exited).code).toBe(0);
    expect(marks.stdout()).toMatch(/alpha: session-attendance\.xml applied \(import \d+\)/);
    expect(marks.stdout()).toContain('marks:  10 inserted, 0 updated, 0 unchanged');
    expect(marks.stdout()).toContain('trigger evaluation: queued for 3 pupil(s) whose marks changed');
    // Not a TTY: no progress bar on stderr.
    expect(marks.stderr()).not.toContain('%');
  });

  it('changes nothing on --dry-run and reports rejected rows by cause', async () => {
    const p = join(dir, 'mixed.xml');
    writeFileSync(
      p,
      '<SessionAttendances><SessionAttendance><PersonID>4242</PersonID><AttendanceDate>2025-01-16</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>N</AttendanceMark></SessionAttendance>\n<SessionAttendance><PersonID>1001</PersonID><AttendanceDate>2025-01-17</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>N</AttendanceMark></SessionAttendance></SessionAttendances>',
    );
    const r = runCli(['import', p, '--config', config, '--dry-run'], env);
    expect((await r.exited).code).toBe(0);
    expect(r.stdout()).toContain('checked (dry run: nothing was changed)');
    expect(r.stdout()).toContain(
      "unknown pupil: not in the school's pupil list (import pupils first): 1 row, 1 pupil: 4242 (first at mixed.xml, line 1, record 1)",
    );
  });

  it('groups thousands of rejected rows into one line per cause, and says by its exit code that nothing was applied', async () => {
    const rows: string[] = [];
    // 6,000 marks for 40 pupils nobody has imported, and 30 more dated in the future.
    for (let i = 0; i < 6000; i++) {
      const day = 13 + (i % 5);
      rows.push(
        `<SessionAttendance><PersonID>${9000 + (i % 40)}</PersonID><AttendanceDate>2025-01-${day}</AttendanceDate><SessionName>${i % 2 ? 'PM' : 'AM'}</SessionName><AttendanceMark>O</AttendanceMark></SessionAttendance>`,
      );
    }
    for (let i = 0; i < 30; i++)
      rows.push(
        `<SessionAttendance><PersonID>1001</PersonID><AttendanceDate>2099-01-${String(1 + (i % 28)).padStart(2, '0')}</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>O</AttendanceMark></SessionAttendance>`,
      );
    const p = join(dir, 'all-rejected.xml');
    writeFileSync(p, `<SessionAttendances>\n${rows.join('\n')}\n</SessionAttendances>`);
    const r = runCli(['import', p, '--config', config], env);
    expect((await r.exited).code).toBe(6);
    const out = r.stdout();
    expect(out).toContain('rejected rows: 6030');
    expect(out).toMatch(
      /unknown pupil: not in the school's pupil list \(import pupils first\): 6000 rows, 40 pupils: 9000, 9001, 9002, 9003, 9004, … \(first at all-rejected\.xml, line 2, record 1\)/,
    );
    expect(out).toMatch(/date in the future: 30 rows, 28 dates: 2099-01-01, 2099-01-02, 2099-01-03/);
    expect(out).toContain('nothing was applied: every row was rejected (exit code 6)');
    expect(out.split('\n').length).toBeLessThan(20);
  });

  it("exits 6 (nothing applied) for a transfer CTF whose pupils none of the school's are: none added, their marks held", async () => {
    const p = join(dir, 'transfer.xml');
    writeFileSync(
      p,
      `<CTfile><Header><CTFversion>25.0</CTFversion></Header><CTFpupilData>
<Pupil><UPN>B123456789012</UPN><Forename>New</Forename><Surname>One</Surname><Attendance><YearData>
<AttendSessions><AttendanceStartDate>2025-01-13</AttendanceStartDate><AttendanceMarks>NNNN</AttendanceMarks></AttendSessions>
</YearData></Attendance></Pupil></CTFpupilData></CTfile>`,
    );
    const r = runCli(['import', p, '--config', config], env);
    expect((await r.exited).code).toBe(6);
    // The pupil not added is not counted as "unchanged" (which read as one pupil taken).
    expect(r.stdout()).toContain('pupils: 0 inserted, 0 updated, 0 unchanged');
    expect(r.stdout()).toContain('nothing was applied');
  });

  it('exits non-zero naming file, line and field when the file is refused', async () => {
    const p = join(dir, 'bad-code.xml');
    writeFileSync(
      p,
      '<SessionAttendances>\n<SessionAttendance><PersonID>1001</PersonID><AttendanceDate>2025-01-16</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>ZZ</AttendanceMark></SessionAttendance>\n</SessionAttendances>',
    );
    const r = runCli(['import', p, '--config', config], env);
    expect((await r.exited).code).toBe(5);
    expect(r.stderr()).toContain(
      'doorstep: bad-code.xml, line 2, record 1, field mark: unknown attendance code "ZZ"',
    );
  });

  it('refuses a pupils report with no pupils, even on --dry-run (exit 5), naming the file and line', async () => {
    const p = join(dir, 'no-pupils.xml');
    writeFileSync(p, '<?xml version="1.0"?>\n<SuperStarReport>\n</SuperStarReport>\n');
    const r = runCli(['import', p, '--config', config, '--dry-run'], env);
    expect((await r.exited).code).toBe(5);
    expect(r.stderr()).toContain(
      'doorstep: no-pupils.xml, line 2: the report has its <SuperStarReport> and no pupils: expected at least one pupil <Record>',
    );
  });

  it('takes a CTF by its root element <CTfile> without --format, and names --format ctf when told it is SIMS XML', async () => {
    const dry = runCli(['import', 'test/fixtures/mis/ctf/ctf25.xml', '--config', config, '--dry-run'], env);
    expect((await dry.exited).code).toBe(0);
    expect(dry.stdout()).toContain('alpha: ctf25.xml checked (dry run: nothing was changed)');
    const wrong = runCli(
      ['import', 'test/fixtures/mis/ctf/ctf25.xml', '--config', config, '--dry-run', '--format', 'sims-xml'],
      env,
    );
    expect((await wrong.exited).code).toBe(5);
    expect(wrong.stderr()).toContain(
      'unexpected root element <CTfile>: expected <SuperStarReport> (pupils report) or <SessionAttendances> (marks); this is a CTF file: import it with --format ctf',
    );
  });

  it('refuses a folder or a pipe given as the file by name (exit 64), never opening it', async () => {
    const pipe = join(dir, 'export.pipe');
    execFileSync('mkfifo', [pipe]);
    for (const path of [`${dir}/`, pipe]) {
      const r = runCli(['import', path, '--config', config], env);
      // A pipe opened would wait for ever for a writer: the test would end at its time limit.
      expect((await r.exited).code, r.stderr()).toBe(64);
      expect(r.stderr()).toContain(
        `${path} is not a file (a folder, pipe or device): give the export file itself`,
      );
      expect(r.stderr()).not.toMatch(/unexpected error|EISDIR/);
    }
  });

  it('refuses an unknown format', async () => {
    const r = runCli(['import', 'x.txt', '--config', config, '--format', 'xls'], env);
    expect((await r.exited).code).toBe(64);
    expect(r.stderr()).toContain('--format: expected sims-xml, ctf or csv, got "xls"');
  });
});

describe('doorstep triggers', () => {
  it('explains every rule for one pupil on a date', async () => {
    const r = runCli(
      [
        'triggers',
        '--config',
        config,
        '--school',
        'alpha',
        '--pupil',
        '1001',
        '--date',
        '2025-01-14',
        '--explain',
      ],
      env,
    );
    expect((await r.exited).code).toBe(0);
    const out = r.stdout();
    expect(out).toMatch(/^alpha pupil 1001 on 2025-01-14: 1 of 10 rules fire/m);
    expect(out).toContain('FIRES heath-lane:vulnerable-absent: Absence of a vulnerable pupil');
    expect(out).toContain('→ home-visit by welfare-staff-and-vice-principal-for-attendance');
    expect(out).toContain('no    heath-lane:absent-3-days');
    expect(out).toContain('absent 1 school day in a row; the rule needs 3');
  });

  it('records a refused leave period, after which illness in it is flagged', async () => {
    const args = [
      'leave-refused',
      '--config',
      config,
      '--school',
      'alpha',
      '--pupil',
      '1002',
      '--from',
      '2025-01-13',
      '--to',
      '2025-01-17',
    ];
    const first = runCli(args, env);
    expect((await first.exited).code).toBe(0);
    expect(first.stdout()).toMatch(
      /alpha: leave refusal #\d+ recorded for pupil 1002, 2025-01-13 to 2025-01-17/,
    );
    expect(first.stdout()).toContain('trigger evaluation queued for alpha (pupil 1002 with the rest)');
    const again = runCli(args, env);
    expect((await again.exited).code).toBe(0);
    expect(again.stdout()).toContain('alpha: already recorded');
    const explain = runCli(
      [
        'triggers',
        '--config',
        config,
        '--school',
        'alpha',
        '--pupil',
        '1002',
        '--date',
        '2025-01-14',
        '--explain',
      ],
      env,
    );
    expect((await explain.exited).code).toBe(0);
    expect(explain.stdout()).toContain('FIRES heath-lane:ill-during-refused-leave');
    const bad = runCli([...args.slice(0, -2), '--to', '2025-01-01'], env);
    expect((await bad.exited).code).toBe(64);
    expect(bad.stderr()).toContain('--to (2025-01-01) is before --from (2025-01-13)');
  });

  it('lists open triggers, and refuses --explain without --pupil', async () => {
    const list = runCli(['triggers', '--config', config, '--school', 'alpha'], env);
    expect((await list.exited).code).toBe(0);
    expect(list.stdout()).toMatch(/^alpha: \d+ open trigger\(s\)/m);
    const bad = runCli(['triggers', '--config', config, '--school', 'alpha', '--explain'], env);
    expect((await bad.exited).code).toBe(64);
    expect(bad.stderr()).toContain('--explain needs --pupil ID');
  });
});

describe('progress bar', () => {
  it('shows bytes and records', () => {
    expect(renderProgress({ bytes: 5 * 1_048_576, total: 10 * 1_048_576, records: 12345, width: 10 })).toBe(
      '[#####-----]  50%  5.0/10.0 MB  12,345 records',
    );
  });
});
