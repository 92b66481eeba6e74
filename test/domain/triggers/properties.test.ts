import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { ABSENCE, codeNumber, PupilAttendance } from '../../../src/domain/triggers/pupil-attendance.ts';
import { configWith } from '../../helpers/config.ts';
import { calendar } from './helpers.ts';

const packs = loadPolicyPacks('config/policies');
const school = configWith().schools[0]!;
const allRules = rulesForSchool(
  { ...school, policies: ['statutory', 'heath-lane', 'lime-hills', 'kings-gomer', 'thames-view'] },
  packs,
).rules;

const CODES = ['/', '\\', 'L', 'I', 'M', 'N', 'O', 'G', 'U', 'B', 'C', 'Y4', '#'];
const TODAY = '2025-12-19';
const span = calendar.between('2024-09-04', TODAY).length * 2;

/** A pupil's sessions: mostly present, with runs of absence codes. */
const slotsArb = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: span - 1 }),
      fc.integer({ min: 1, max: 12 }),
      fc.constantFrom(...CODES),
    ),
    { maxLength: 40 },
  )
  .chain((runs) =>
    fc.record({
      runs: fc.constant(runs),
      flags: fc.record({ welfareConcern: fc.boolean(), cpPlan: fc.boolean() }),
    }),
  )
  .map(({ runs, flags }) => {
    const slots = new Uint8Array(span);
    for (let i = 0; i < span; i++) slots[i] = codeNumber(i % 2 === 0 ? '/' : '\\');
    for (const [start, len, code] of runs)
      for (let i = start; i < Math.min(span, start + len * 2); i++) slots[i] = codeNumber(code);
    return new PupilAttendance('p', flags, calendar, slots);
  });

const firedKeys = (p: PupilAttendance) =>
  evaluatePupil(p, allRules, { today: TODAY })
    .filter((f) => f.fired)
    .map((f) => f.ruleKey);

describe('trigger evaluation properties', () => {
  it('is deterministic and leaves the pupil untouched', () => {
    fc.assert(
      fc.property(slotsArb, (p) => {
        const before = Uint8Array.from(p.slots);
        const a = evaluatePupil(p, allRules, { today: TODAY });
        const b = evaluatePupil(p, allRules, { today: TODAY });
        expect(b).toEqual(a);
        expect(p.slots).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });

  it('turning an absence into a present mark never raises a new trigger', () => {
    fc.assert(
      fc.property(slotsArb, fc.nat(), (p, pick) => {
        const absent = [...p.slots.keys()].filter((i) => ABSENCE[p.slots[i]!] === 1);
        fc.pre(absent.length > 0);
        const i = absent[pick % absent.length]!;
        const before = new Set(firedKeys(p));
        const slots = Uint8Array.from(p.slots);
        slots[i] = codeNumber(i % 2 === 0 ? '/' : '\\');
        const after = firedKeys(new PupilAttendance('p', p.flags, calendar, slots));
        for (const key of after) expect(before.has(key), `${key} newly fired`).toBe(true);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });
});
