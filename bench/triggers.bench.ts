/**
 * npm run bench:triggers — 60,000 pupils × one school year of synthetic marks with realistic absence
 * patterns, every rule of the statutory and five seed packs.
 * - full: every pupil evaluated for the last day of the year (the nightly run's evaluation work);
 * - incremental day: the next day's marks arrive; the pupils whose marks changed (all of them: each
 *   gets a new mark) are updated and re-evaluated;
 * - baseline (same run): one bare pass over every session slot, the floor any evaluator pays.
 * Targets: full ≤ 5 s, one incremental day ≤ 0.5 s.
 */
import { loadPolicyPacks, rulesForSchool } from '../src/config/policy-packs.ts';
import { SchoolCalendar } from '../src/domain/calendar.ts';
import { evaluatePupil } from '../src/domain/triggers/evaluate.ts';
import { ABSENCE, codeNumber, PupilAttendance } from '../src/domain/triggers/pupil-attendance.ts';
import { configWith } from '../test/helpers/config.ts';
import { rng } from '../test/helpers/rng.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { pupilMarks, schoolDays } from './lib/synthetic-attendance.ts';

const PUPILS = Number(process.env.BENCH_PUPILS ?? 60_000);
const days = schoolDays(191);
const calendar = new SchoolCalendar({ terms: [{ start: days[0]!, end: days.at(-1)! }], closures: [] });
const today = days[189]!;
const tomorrow = days[190]!;
const school = configWith().schools[0]!;
const { rules } = rulesForSchool(
  { ...school, policies: ['statutory', 'heath-lane', 'lime-hills', 'kings-gomer', 'thames-view'] },
  loadPolicyPacks('config/policies'),
);

const random = rng(7);
const pupils: PupilAttendance[] = [];
for (let p = 0; p < PUPILS; p++) {
  const view = new PupilAttendance(
    String(100000 + p),
    { welfareConcern: random() < 0.03, cpPlan: random() < 0.01 },
    calendar,
  );
  let slot = 0;
  for (const [, , code] of pupilMarks(p, days.slice(0, 190), random)) view.slots[slot++] = codeNumber(code);
  pupils.push(view);
}
const marks = PUPILS * 190 * 2;
console.log(
  `${PUPILS.toLocaleString('en-GB')} pupils, ${marks.toLocaleString('en-GB')} marks, ${rules.length} rules`,
);

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
}

// Baseline: one bare pass over every slot.
const [absentSessions, baselineSeconds] = time(() => {
  let n = 0;
  for (const p of pupils) for (let i = 0; i < p.slots.length; i++) n += ABSENCE[p.slots[i]!]!;
  return n;
});

const [firedFull, fullSeconds] = time(() => {
  let fired = 0;
  for (const p of pupils) for (const f of evaluatePupil(p, rules, { today })) fired += f.fired ? 1 : 0;
  return fired;
});

// The next day: every pupil gets a mark (mostly present), then the changed pupils are re-evaluated.
const dayIndex = calendar.indexOf(tomorrow)!;
const [firedDay, incrementalSeconds] = time(() => {
  let fired = 0;
  for (const p of pupils) {
    const absent = random() < 0.06;
    p.slots[dayIndex * 2] = codeNumber(absent ? 'N' : '/');
    p.slots[dayIndex * 2 + 1] = codeNumber(absent ? 'N' : '\\');
    for (const f of evaluatePupil(p, rules, { today: tomorrow })) fired += f.fired ? 1 : 0;
  }
  return fired;
});

printTable([
  {
    run: 'baseline: one pass over all slots',
    seconds: round(baselineSeconds, 3),
    'pupils/s': Math.round(PUPILS / baselineSeconds),
    note: `${absentSessions} absent sessions`,
  },
  {
    run: 'full evaluation',
    seconds: round(fullSeconds, 3),
    'pupils/s': Math.round(PUPILS / fullSeconds),
    note: `${firedFull} findings fire`,
  },
  {
    run: 'incremental day',
    seconds: round(incrementalSeconds, 3),
    'pupils/s': Math.round(PUPILS / incrementalSeconds),
    note: `${firedDay} findings fire`,
  },
]);
printResult({
  bench: 'triggers',
  pupils: PUPILS,
  marks,
  rules: rules.length,
  fullSeconds: round(fullSeconds, 3),
  incrementalDaySeconds: round(incrementalSeconds, 3),
  pupilsPerSec: Math.round(PUPILS / fullSeconds),
  baselineScanSeconds: round(baselineSeconds, 3),
  fullVsBaseline: round(fullSeconds / baselineSeconds, 1),
  targets: { fullSeconds: '<= 5', incrementalDaySeconds: '<= 0.5' },
  met: { full: fullSeconds <= 5, incrementalDay: incrementalSeconds <= 0.5 },
});
