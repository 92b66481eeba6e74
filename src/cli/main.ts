import { Command, CommanderError } from 'commander';
import { POSITIONS } from '../domain/roles.ts';
import { checkCommand } from './check-command.ts';
import { exampleDataCommand } from './example-data-command.ts';
import { reportFatal } from './output.ts';
import { runCommand } from './run-command.ts';
import { startCommand } from './start-command.ts';
import type { SubjectOptions } from './subject-command.ts';
import type { UserAddOptions, UserEditOptions } from './user-command.ts';

const DEFAULT_CONFIG = process.env.DOORSTEP_CONFIG ?? 'config/doorstep.yaml';

const program = new Command()
  .name('doorstep')
  .description(
    'Doorstep: MIS attendance → visit triggers → CPOMS, and lone-worker alarms → the school office.',
  )
  .exitOverride()
  .showHelpAfterError();

program
  .command('start')
  .description('run the bridge (web, ingest and worker roles, or the ones given)')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .option('-r, --role <roles>', 'all | web | ingest | worker, comma-separated', 'all')
  .action(async (opts: { config: string; role: string }) => {
    await startCommand(opts);
  });

program
  .command('check')
  .description('validate the config (every error with path and line) and test each connection')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await checkCommand(opts, (line) => console.log(line));
  });

program
  .command('example-data')
  .description(
    "write made-up pupils and this academic year's marks into each SIMS XML or CSV school's drop folder, in its own shape, once",
  )
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await exampleDataCommand(opts, (line) => console.log(line));
  });

program
  .command('import')
  .description('import one MIS export file (SIMS XML, CTF or CSV) in one transaction')
  .argument('<file>', 'the export file')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .option('-s, --school <id>', 'the school it belongs to (required when the config has several)')
  .option(
    '-f, --format <format>',
    "sims-xml | ctf | csv (default: the school's MIS kind, else the extension)",
  )
  .option('-n, --dry-run', 'check and count, change nothing')
  .action(
    async (file: string, opts: { config: string; school?: string; format?: string; dryRun?: boolean }) => {
      process.exitCode = await runCommand('import', [file], opts);
    },
  );

program
  .command('triggers')
  .description("a school's open visit triggers; --explain shows every rule for one pupil")
  .requiredOption('-s, --school <id>', 'the school')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .option('-d, --date <YYYY-MM-DD>', 'evaluate as of this day (default: today in Europe/London)')
  .option('-p, --pupil <id>', 'one pupil (MIS id)')
  .option('-e, --explain', 'every rule for --pupil: fired or not, and why')
  .action(
    async (opts: { config: string; school: string; date?: string; pupil?: string; explain?: boolean }) => {
      process.exitCode = await runCommand('triggers', [], opts);
    },
  );

program
  .command('leave-refused')
  .description('record that term-time leave was refused for a period (illness during it is flagged)')
  .requiredOption('-s, --school <id>', 'the school')
  .requiredOption('-p, --pupil <id>', 'the pupil (MIS id)')
  .requiredOption('--from <YYYY-MM-DD>', 'first day of the refused period')
  .requiredOption('--to <YYYY-MM-DD>', 'last day of the refused period')
  .option('--by <who>', 'who recorded it (for the audit)', 'cli')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(
    async (opts: {
      config: string;
      school: string;
      pupil: string;
      from: string;
      to: string;
      by?: string;
    }) => {
      process.exitCode = await runCommand('leave-refused', [], opts);
    },
  );

program
  .command('outbox')
  .description('outbound records: list | show ID | retry ID | resend-failed | dismiss ID --reason TEXT')
  .argument('<action>', 'list, show, retry, resend-failed or dismiss')
  .argument('[id]', 'record id (show, retry, dismiss)')
  .option('-s, --school <id>', 'one school')
  .option('--status <status>', 'list: pending | preview | delivered | failed | dismissed')
  .option('--limit <n>', 'list: how many of the newest to show (default 100; the count is of all)')
  .option('--reason <text>', 'dismiss: where the failed record was recorded by hand (required)')
  .option('--by <who>', 'dismiss: who dismisses it (for the audit)')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(
    async (
      action: string,
      id: string | undefined,
      opts: {
        config: string;
        school?: string;
        status?: string;
        limit?: string;
        reason?: string;
        by?: string;
      },
    ) => {
      process.exitCode = await runCommand('outbox', [action, id], opts);
    },
  );

program
  .command('alarm')
  .description('lone-worker alarms: list | show ID | ack ID | resolve ID --reason R')
  .argument('<action>', 'list, show, ack or resolve')
  .argument('[id]', 'alarm id')
  .option('-s, --school <id>', 'list: one school')
  .option('--by <who>', 'who acknowledges or resolves (for the timeline and audit)')
  .option(
    '--reason <reason>',
    'resolve: test | false_alarm | incident_without_dispatch | incident_with_dispatch',
  )
  .option('--note <text>', 'resolve: a note for the incident record')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(
    async (
      action: string,
      id: string | undefined,
      opts: { config: string; school?: string; by?: string; reason?: string; note?: string },
    ) => {
      process.exitCode = await runCommand('alarm', [action, id], opts);
    },
  );

program
  .command('fob')
  .description("fob drills: test --school S --device D raises a TEST alarm that runs the fob's whole ladder")
  .argument('<action>', 'test')
  .option('-s, --school <id>', 'the school')
  .option('-d, --device <id>', "the fob (a device id in the school's fobs.devices)")
  .option('--by <who>', 'who runs the drill (for the timeline and audit)')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (action: string, opts: { config: string; school?: string; device?: string; by?: string }) => {
    process.exitCode = await runCommand('fob', [action], opts);
  });

program
  .command('subject')
  .description(
    'data protection: export (everything held about a person, JSON + HTML) | correct a field | left (the date a pupil left) | erase a pupil',
  )
  .argument('<action>', 'export, correct, left or erase')
  .requiredOption('-s, --school <id>', 'the school')
  .option('-p, --pupil <id>', 'the pupil (MIS id)')
  .option('--staff <id>', 'the member of staff (account id, username or device-registry staff id)')
  .option('-o, --out <dir>', 'export: folder for the files', '.')
  .option('--field <name>', 'correct: the field (e.g. surname, postcode, phone)')
  .option('--value <text>', 'correct: the corrected value ("" clears it)')
  .option('--on <YYYY-MM-DD>', 'left: the date the pupil left')
  .option('--by <username>', 'the admin exporting or making the change (audited)')
  .option(
    '--yes',
    "erase: confirm; left: confirm a date before the pupil's last mark, or past leaverDataDays",
  )
  .option(
    '--drop-files <keep|delete>',
    "erase: the drop folder's kept MIS files holding the pupil — keep (named; the default) or delete",
  )
  .option(
    '--erasure <reference>',
    'erase --drop-files delete, for a pupil erased already: the reference their erasure printed (erased:…)',
  )
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (action: string, opts: SubjectOptions) => {
    process.exitCode = await runCommand('subject', [action], opts);
  });

const user = program.command('user').description('local accounts for the web front end');
user
  .command('add')
  .description('create an account; the password comes from DOORSTEP_PASSWORD, the terminal or stdin')
  .requiredOption('-u, --username <name>', 'sign-in name (lower case)')
  .requiredOption('-n, --name <display>', 'the name people see')
  .requiredOption(
    '-r, --roles <roles>',
    'office, visiting-staff, safeguarding, data-manager, admin (comma-separated)',
  )
  .option(
    '-p, --positions <list>',
    `${POSITIONS.join(', ')} (who a policy names to authorise visits or assess their risk)`,
  )
  .option('-s, --schools <ids>', 'the schools they work at (default: every school)')
  .option('--staff-id <id>', "the device registry's staff id, when they carry a fob")
  .option('--phone <number>', 'mobile for SMS escalations (07700 900123 or +447700900123)')
  .option('--email <address>', 'e-mail for escalations')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (opts: UserAddOptions) => {
    process.exitCode = await runCommand('user add', [], opts);
  });
user
  .command('edit')
  .description('change an account: only what is given (none clears a staff id, phone or e-mail); audited')
  .argument('<username>')
  .option('-n, --name <display>', 'the name people see')
  .option('-r, --roles <roles>', 'the roles it holds from now (comma-separated)')
  .option('-p, --positions <list>', 'the positions it holds from now (none: no position)')
  .option('-s, --schools <ids>', 'the schools they work at from now (none: every school)')
  .option('--staff-id <id>', "the device registry's staff id (none: no fob)")
  .option('--phone <number>', 'mobile for SMS escalations (07700 900123 or +447700900123; none: no phone)')
  .option('--email <address>', 'e-mail for escalations (none: no e-mail)')
  .option('--while-out', 'change roles, schools or staff id though the person is out on a visit')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (username: string, opts: UserEditOptions) => {
    process.exitCode = await runCommand('user edit', [username], opts);
  });

user
  .command('list')
  .description('every account with its roles, schools and state')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await runCommand('user list', [], opts);
  });
for (const [action, what] of [
  ['disable', 'stop an account signing in (ends its sessions)'],
  ['enable', 'let a disabled account sign in again'],
  ['unlock', 'lift a lockout after failed sign-ins'],
  ['password', 'set a new password (DOORSTEP_PASSWORD, the terminal or stdin; ends its sessions)'],
] as const) {
  user
    .command(action)
    .description(what)
    .argument('<username>')
    .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
    .option(
      '--while-out',
      'disable / password: do it though the person is out on a visit (their phone page signs out; the visit stays watched)',
    )
    .action(async (username: string, opts: { config: string; whileOut?: boolean }) => {
      process.exitCode = await runCommand(`user ${action}`, [username], opts);
    });
}

user
  .command('training')
  .description(
    'record home-visit and safeguarding training dates (YYYY-MM-DD, or none to clear) and home-visit experience',
  )
  .argument('<username>')
  .option('--home-visit <date>', 'home-visit training completed on')
  .option('--safeguarding <date>', 'safeguarding training completed on')
  .option('--experienced <yes|no>', 'experienced in home visits (made them before Doorstep)')
  .option('-c, --config <file>', 'config file (env DOORSTEP_CONFIG)', DEFAULT_CONFIG)
  .action(
    async (
      username: string,
      opts: { config: string; homeVisit?: string; safeguarding?: string; experienced?: string },
    ) => {
      process.exitCode = await runCommand('user training', [username], opts);
    },
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 64;
  } else {
    process.exitCode = reportFatal(err);
  }
}
