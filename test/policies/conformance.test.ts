import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  loadPolicyPacks,
  packLadders,
  rulesForSchool,
  visitRulesFor,
} from '../../src/config/policy-packs.ts';
import {
  DEFAULT_OVERDUE_VISIT_POLICY,
  decideStep,
  finalRepeatMs,
  policyFor,
} from '../../src/domain/escalation/ladder.ts';
import { evaluatePupil } from '../../src/domain/triggers/evaluate.ts';
import { decideBreach, parseOutcome } from '../../src/domain/visits/agreements.ts';
import { appointmentRecordFor, doorWaitMinutes } from '../../src/domain/visits/appointment.ts';
import { type DepartureFacts, departureFindings } from '../../src/domain/visits/departure-findings.ts';
import { decide, type LifecycleVisit } from '../../src/domain/visits/lifecycle.ts';
import { flagMinimum, higherRisk, type VisitRules } from '../../src/domain/visits/rules.ts';
import { dueVisitAlarms } from '../../src/domain/visits/watch.ts';
import { staffClosedDay } from '../../src/visits/departure.ts';
import { calendar, pupil } from '../domain/triggers/helpers.ts';
import { configWith } from '../helpers/config.ts';
import { visitBeforeLeaving } from '../helpers/lifecycle.ts';

/**
 * Each school's visit policy, clause by clause: the clause, the rule or setting that carries it,
 * a scenario, and what Doorstep does. A reviewer can read the packs' conformance off this table.
 * (`config/policies/*.yaml` carry the same clauses as comments and `source` fields.)
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (pack: string): VisitRules =>
  visitRulesFor({ ...configWith().schools[0]!, policies: ['statutory', pack] }, packs);
/** The ladder a school with only this pack runs for an alarm kind (pack ladders, as laid under its config at load). */
const ladderOf = (pack: string, type: string) => policyFor(packLadders(['statutory', pack], packs), type);

/** The actions a pack's trigger rules recommend for a pupil on 2025-11-18 ("rule → action"). */
const triggered = (pack: string, p: ReturnType<typeof pupil>) =>
  evaluatePupil(p, rulesForSchool({ ...configWith().schools[0]!, policies: [pack] }, packs).rules, {
    today: '2025-11-18',
  })
    .filter((f) => f.fired)
    .map((f) => `${f.ruleKey.split(':')[1]} → ${f.action}`);
const threeDays = (code: string) => ({
  '2025-11-13': code,
  '2025-11-17': code,
  '2025-11-18': code,
});

const now = new Date('2026-11-23T10:00:00Z'); // 10:00 in London
const depart = (o: Partial<DepartureFacts> = {}): DepartureFacts => ({
  status: 'authorised',
  riskLevel: 'low',
  riskAssessed: true,
  partner: true,
  safeWord: 'oak',
  londonMinutes: 600,
  returnLondonMinutes: 660,
  expectedReturnAt: new Date(now.getTime() + 3_600_000),
  estimatedArrivalAt: new Date(now.getTime() + 1_200_000),
  now,
  plannedFor: '2026-11-23',
  appointmentAt: new Date(now.getTime() + 1_800_000),
  phone: true,
  fob: true,
  vehicle: true,
  identification: true,
  familyNotice: { method: 'letter', exemption: null },
  staff: [
    { homeVisitTrained: true, safeguardingTrained: true, visitsMade: 5 },
    { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 5 },
  ],
  ...o,
});
const blocks = (pack: string, o: Partial<DepartureFacts>) =>
  departureFindings(rulesOf(pack), depart(o))
    .filter((f) => f.level === 'block')
    .map((f) => f.rule);
const warns = (pack: string, o: Partial<DepartureFacts>) =>
  departureFindings(rulesOf(pack), depart(o))
    .filter((f) => f.level === 'warn')
    .map((f) => f.rule);

const requested: LifecycleVisit = visitBeforeLeaving('requested', { lead: '1', requestedBy: '1' });
/** A Thames View pair out on a visit, not yet recorded. */
const out: LifecycleVisit = {
  ...requested,
  status: 'departed',
  partnerUserId: '2',
  departedAt: now,
};
const lead = { id: '1', roles: ['visiting-staff'], positions: [] };
const may = (
  pack: string,
  action: 'authorise' | 'sign-list' | 'assess-risk',
  roles: string[],
  positions: string[] = [],
) => decide(action, requested, { id: '9', roles, positions }, rulesOf(pack)).ok;

interface Clause {
  clause: string;
  setting: string;
  scenario: string;
  check: () => void;
}

const TABLE: Record<string, Clause[]> = {
  hampton: [
    {
      clause:
        '"Home visits on the way to work or on the way home from work should not occur without prior approval of the HoS"',
      setting: 'commute: { approvalBy: [head-of-school] }',
      scenario:
        'a visit on the way home, not approved; approved; who may approve it; a visit from school and back',
      check: () => {
        expect(blocks('hampton', { commute: { approved: false } })).toEqual(['commute-approval']);
        expect(blocks('hampton', { commute: { approved: true } })).toEqual([]);
        expect(blocks('hampton', { commute: null })).toEqual([]);
        const onTheWay = { ...requested, commute: true };
        const approve = (roles: string[], positions: string[], id = '9') =>
          decide('approve-commute', onTheWay, { id, roles, positions }, rulesOf('hampton')).ok;
        expect(approve(['office'], ['head-of-school'])).toBe(true);
        expect(approve(['safeguarding'], ['dsl', 'headteacher'])).toBe(false);
        // The head of school's own visit home: theirs to approve (no second HoS to wait for).
        expect(approve(['visiting-staff'], ['head-of-school'], onTheWay.requestedBy)).toBe(true);
        expect(
          decide(
            'approve-commute',
            requested,
            { id: '9', roles: [], positions: ['head-of-school'] },
            rulesOf('hampton'),
          ).ok,
        ).toBe(false);
        // Schools whose policies say nothing of such visits ask for no approval.
        expect(
          blocks('lime-hills', { commute: { approved: false }, partner: true, safeWord: 'oak' }),
        ).not.toContain('commute-approval');
      },
    },
    {
      clause: '"All families will be informed of the home visit in writing in advance"',
      setting: 'familyNotice: { expect: required, methods: [letter, sms, written-confirmation] }',
      scenario: 'nobody has told the family; told by text; by a phone call',
      check: () => {
        expect(blocks('hampton', { familyNotice: null })).toEqual(['family-notice']);
        // In writing: a letter, a text, a written confirmation (an e-mail, a parent-app message) —
        // never a phone call or a word in person.
        expect(rulesOf('hampton').familyNotice!.methods).toEqual(['letter', 'sms', 'written-confirmation']);
        expect(blocks('hampton', { familyNotice: { method: 'sms', exemption: null } })).toEqual([]);
      },
    },
    {
      clause:
        '"Staff should discuss any concerns about safety or well-being of themselves or families with the HoS and log these concerns using CPOMS"; family support worker: "Any safeguarding concerns will be logged on CPOMS"',
      setting: 'cpomsRecords: { kinds: [visit_outcome, visit_concern, lone_worker_incident] }',
      scenario:
        'a concern raised from the phone, one typed into the outcome, one about the staff’s own safety (an incident)',
      check: () =>
        expect(rulesOf('hampton').cpomsRecords!.kinds).toEqual([
          'visit_outcome',
          'visit_concern',
          'lone_worker_incident',
        ]),
    },
    {
      clause:
        'family support worker: "This will be planned along with the head of school as safeguard lead … the office staff and head of school have been informed about the home visit date and time"',
      setting:
        'notices.planned (the pack names the head of school and the office; the school config how to reach them)',
      scenario: 'a visit asked for (no authorisation needed); its day or time set or changed',
      check: () =>
        expect(packs.get('hampton')!.notices?.planned?.who).toEqual(['the head of school', 'the office']),
    },
    {
      clause:
        '"recorded detailing the person\'s name, the date …, the visit address, a contact number, the time of departure …, expected return and confirmation of return … A copy of this should be given to the office and the HoS"',
      setting:
        'notices.visitRecord (the pack names the office and the HoS; the school config how to reach them)',
      scenario: 'the school config reaches no one yet',
      check: () => expect(packs.get('hampton')!.notices?.visitRecord?.who).toEqual(['the office', 'the HoS']),
    },
    {
      clause:
        '"Should an appointment need to be cancelled, staff and families will be informed at the earliest possible opportunity"',
      setting:
        'notices.cancelled (the pack names the family and the staff; the school config how to reach them)',
      scenario: 'a visit is called off',
      check: () => expect(packs.get('hampton')!.notices?.cancelled?.who).toEqual(['the family', 'the staff']),
    },
    {
      clause:
        '"All home visits should be undertaken in pairs to promote safe visiting"; "Staff are not permitted to undertake home visits on their own"',
      setting: 'pairs: always',
      scenario: 'one member of staff leaves alone',
      check: () => expect(blocks('hampton', { partner: false })).toEqual(['pairs']),
    },
    {
      clause: '"will not carry out visits … unacceptable level of risk"',
      setting: 'refuseAtRisk: major',
      scenario: 'the risk is assessed major',
      check: () => expect(blocks('hampton', { riskLevel: 'major' })).toEqual(['risk']),
    },
    {
      clause: '"All staff should have identification badges on show at all times"',
      setting: 'requires.identification',
      scenario: 'leaving without confirming the badge',
      check: () => {
        expect(blocks('hampton', { identification: false })).toEqual(['identification']);
        // Every school's policy asks for identification (each pack below quotes its clause); a
        // school with no visit pack (the statutory rules alone) is not asked.
        expect(
          departureFindings(
            visitRulesFor({ ...configWith().schools[0]!, policies: ['statutory'] }, packs),
            depart({ identification: false }),
          ).map((f) => f.rule),
        ).not.toContain('identification');
      },
    },
    {
      clause: '"Staff will carry with them a phone"',
      setting: 'requires.phone',
      scenario: 'no number for the worker',
      check: () => expect(blocks('hampton', { phone: false })).toEqual(['phone']),
    },
    {
      clause: 'not returned within 15 minutes of the expected time → the office',
      setting: 'overdueGraceMinutes: 0 (the board at the return time; the texts at half an hour)',
      scenario: 'one minute past the expected return',
      check: () =>
        expect(
          dueVisitAlarms(
            {
              id: '1',
              status: 'departed',
              departedAt: now,
              returnedAt: null,
              arrivedAt: null,
              expectedReturnAt: new Date(now.getTime() + 3_600_000),
              lastCheckInAt: null,
              checkInMinutes: null,
            },
            rulesOf('hampton'),
            new Date(now.getTime() + 3_660_000),
          ).map((d) => d.type),
        ).toEqual(['overdue_visit']),
    },
    {
      clause:
        'not back "within 15 minutes" → staff call the office; "within half an hour" → the office contacts them; then worker, location, school, police',
      setting:
        'escalation.overdue-visit in the pack (two levels: 0 and +30 min; no invented steps; the repeating level texts the worker and the HoS)',
      scenario: 'an overdue alarm runs its ladder past the last level',
      check: () => {
        const p = ladderOf('hampton', 'overdue_visit');
        expect(p.levels.map((l) => l.afterMinutes)).toEqual([0, 30]);
        expect(p.levels[1]!.prompt).toMatch(/worker.*location.*school.*police/);
        // The office is the board; the level that repeats also reaches people by phone — the worker
        // (the first step, "attempt to contact the worker") and the head of school ("contact school").
        expect(p.levels[0]!.notify).toEqual(['board']);
        expect(p.levels[1]!.notify).toEqual(['board', 'sms:visiting-staff', 'sms:head-of-school']);
        expect(p.source).toMatch(/half an hour/);
        // Never silent: the last level repeats every 30 minutes until the alarm is resolved.
        expect(decideStep(p, 5, 'acknowledged')).toMatchObject({
          kind: 'notify',
          level: 1,
          next: { delayMs: finalRepeatMs(p) },
        });
        expect(finalRepeatMs(p)).toBe(30 * 60_000);
        // Other schools: Doorstep's own default, labelled so.
        expect(ladderOf('lime-hills', 'overdue_visit')).toBe(DEFAULT_OVERDUE_VISIT_POLICY);
        expect(DEFAULT_OVERDUE_VISIT_POLICY.source).toMatch(/Doorstep's own default/);
      },
    },
  ],
  'heath-lane': [
    {
      clause: '"If alone on a home visit do not enter the property."',
      setting:
        'aloneNoEntry (a reminder before leaving and on the phone page; nothing enforces it at the door)',
      scenario: 'going alone; going with a partner',
      check: () => {
        expect(warns('heath-lane', { partner: false })).toEqual(['alone-no-entry']);
        expect(blocks('heath-lane', { partner: false })).toEqual([]);
        expect(warns('heath-lane', { partner: true })).toEqual([]);
        // Where the risk makes two staff required, "going alone: do not enter" is not said beside
        // it (read as leave to go alone): the block says two staff.
        expect(blocks('heath-lane', { partner: false, riskLevel: 'minor' })).toContain('pairs');
        expect(warns('heath-lane', { partner: false, riskLevel: 'minor' })).not.toContain('alone-no-entry');
        for (const pack of ['hampton', 'lime-hills', 'thames-view', 'kings-gomer'])
          expect(warns(pack, { partner: false })).not.toContain('alone-no-entry');
      },
    },
    {
      clause: '"Send a text notification to inform families of the intended home visit."',
      setting: 'familyNotice: { expect: required, methods: [sms] }',
      scenario: 'no text sent',
      check: () => {
        expect(blocks('heath-lane', { familyNotice: null })).toEqual(['family-notice']);
        expect(blocks('heath-lane', { familyNotice: { method: 'sms', exemption: null } })).toEqual([]);
      },
    },
    {
      clause: '§3 "an extended period of time is defined as 3 or more school days"',
      setting: 'rules absent-3-days: { days: 3 } (school days: the calendar skips weekends, holidays, INSET)',
      scenario: '3 school days N across a weekend and an INSET day',
      check: () =>
        expect(triggered('heath-lane', pupil(threeDays('N'), { to: '2025-11-18' }))).toEqual([
          'absent-3-days → home-visit',
        ]),
    },
    {
      clause: '§3 "contact has been made from parents/carers for each day of absence … a phone call home"',
      setting: "whenReasonedEachDay (a parent's reason each day: I, M, R, C, C1, J1, T)",
      scenario:
        "ill 3 days (I) → phone call; suspended 3 days (E, the school's code) → visit; ill 3 days with a day between that has no register at all → visit",
      check: () => {
        expect(triggered('heath-lane', pupil(threeDays('I'), { to: '2025-11-18' }))).toEqual([
          'absent-3-days → phone-call',
        ]);
        expect(triggered('heath-lane', pupil(threeDays('E'), { to: '2025-11-18' }))).toEqual([
          'absent-3-days → home-visit',
        ]);
        // No register on Monday 17th (not taken, or not synced): no record of contact that day.
        const gap = pupil(threeDays('I'), { to: '2025-11-18' });
        const mon = calendar.indexOf('2025-11-17')!;
        gap.slots[mon * 2] = 0;
        gap.slots[mon * 2 + 1] = 0;
        gap.set('2025-11-12', 'AM', 'I');
        gap.set('2025-11-12', 'PM', 'I');
        expect(triggered('heath-lane', gap)).toEqual(['absent-3-days → home-visit']);
      },
    },
    {
      clause:
        '§3 "a phone call home to address 3 days of absence"; visits "a child … absent for an extended period … due to illness … so they do not feel isolated"',
      setting: 'whenReasonedEachDay.upToDays: 3',
      scenario: 'ill 4 days (I), a reason each day → the visit again',
      check: () => {
        expect(
          triggered('heath-lane', pupil({ ...threeDays('I'), '2025-11-12': 'I' }, { to: '2025-11-18' })),
        ).toEqual(['absent-3-days → home-visit']);
      },
    },
    {
      clause: '§3 "Where there are no safeguarding or attendance concerns"',
      setting:
        'flags (CP plan, CIN, LAC, welfare concern); attendanceConcernAtMost: 0.9 (setBySchool: the policy gives no measure)',
      scenario:
        'ill 3 days with a welfare flag; ill 3 days after a term at 83%; a part-time pupil (C2 Wednesday to Friday all term) ill on both timetabled days',
      check: () => {
        expect(
          triggered(
            'heath-lane',
            pupil(threeDays('I'), { to: '2025-11-18', flags: { welfareConcern: true } }),
          ),
        ).toContain('absent-3-days → home-visit');
        const poor: Record<string, string> = { ...threeDays('I') } as Record<string, string>;
        calendar.between('2025-09-03', '2025-11-10').forEach((d, i) => {
          if (i % 6 === 0) poor[d] = 'N';
        });
        expect(triggered('heath-lane', pupil(poor, { to: '2025-11-18' }))).toEqual([
          'absent-3-days → home-visit',
        ]);
        // Attendance counted over the sessions the pupil was expected at (setBySchool): every
        // timetabled session attended is no concern, whatever the off-timetable days do to the
        // statutory rate.
        const partTime: Record<string, string> = { '2025-11-17': 'I', '2025-11-18': 'I' };
        for (const d of calendar.between('2025-09-03', '2025-11-18'))
          if (new Date(`${d}T12:00:00Z`).getUTCDay() >= 3) partTime[d] = 'C2';
        partTime['2025-11-11'] = 'I'; // ill Tuesday, then the following Monday and Tuesday
        expect(triggered('heath-lane', pupil(partTime, { to: '2025-11-18' }))).toEqual([
          'absent-3-days → phone-call',
        ]);
      },
    },
    {
      clause: '§3 "not been seen for an extended period" — U: arrived after the register closed',
      setting: 'absence for visit triggers excludes U (the child was seen)',
      scenario: '3 school days arriving after the register closed',
      check: () => expect(triggered('heath-lane', pupil(threeDays('U'), { to: '2025-11-18' }))).toEqual([]),
    },
    {
      clause:
        '"liaise with Safeguarding Manager to check that it is appropriate for a person to visit alone"',
      setting: 'risk: { assessedBy: [safeguarding], at: separate }',
      scenario: 'nobody has assessed the risk',
      check: () => {
        expect(blocks('heath-lane', { riskAssessed: false })).toEqual(['risk-assessment']);
        expect(may('heath-lane', 'assess-risk', ['office'])).toBe(false);
        expect(may('heath-lane', 'assess-risk', ['safeguarding'])).toBe(true);
      },
    },
    {
      clause: 'minor concerns: two members of staff',
      setting: 'pairs: when-risk',
      scenario: 'minor risk, alone',
      check: () => expect(blocks('heath-lane', { riskLevel: 'minor', partner: false })).toEqual(['pairs']),
    },
    {
      clause: '"will not allow any visits which place the worker at unacceptable risk"',
      setting: 'refuseAtRisk: major; a DANGEROUS address flag makes the risk major',
      scenario: 'a low assessment at an address flagged dangerous',
      check: () =>
        expect(
          blocks('heath-lane', { riskLevel: higherRisk('low', flagMinimum([{ level: 'dangerous' }])) }),
        ).toEqual(['risk']),
    },
    {
      clause: '"Dress appropriately i.e. sensible shoes, and have academy ID visible."',
      setting: 'requires.identification (the ID; dress and shoes are not recorded)',
      scenario: 'leaving without confirming the academy ID',
      check: () =>
        expect(
          blocks('heath-lane', { identification: false, familyNotice: { method: 'sms', exemption: null } }),
        ).toEqual(['identification']),
    },
    {
      clause: '"Collect a PeopleSafe fob"',
      setting: 'requires.fob',
      scenario: 'no fob registered to the worker',
      check: () => expect(blocks('heath-lane', { fob: false })).toEqual(['fob']),
    },
    {
      clause: '"training and induction … prior to completing their first home visit"',
      setting: 'competence.homeVisitTraining',
      scenario: 'the partner has no training recorded',
      check: () =>
        expect(
          blocks('heath-lane', {
            staff: [
              { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 3 },
              { homeVisitTrained: false, safeguardingTrained: false, visitsMade: 3 },
            ],
          }),
        ).toEqual(['training']),
    },
    {
      clause: '"Attend first home visit accompanied by experienced member of staff"',
      setting: 'competence.firstVisitWithExperienced',
      scenario: 'a first visit with another newcomer',
      check: () =>
        expect(
          blocks('heath-lane', {
            staff: [
              { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 0 },
              { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 0 },
            ],
          }),
        ).toEqual(['experience']),
    },
  ],
  'lime-hills': [
    {
      clause:
        '"absent from school for a week or more, and attempts to contact parents/carers have not elicited a response and we have any welfare or safeguarding concerns"',
      setting:
        'absent-week-no-response-concern: { days: 5, noReasonOnLatestDay: true, flags } (the week counts every day not seen; no reason on the latest day)',
      scenario: 'a CP plan; ill Mon–Tue (a parent rang), then no answer for 4 school days',
      check: () => {
        const marks = {
          '2025-11-10': 'I',
          '2025-11-11': 'I',
          '2025-11-12': 'N',
          '2025-11-13': 'N',
          '2025-11-17': 'N',
          '2025-11-18': 'N',
        };
        expect(triggered('lime-hills', pupil(marks, { to: '2025-11-18', flags: { cpPlan: true } }))).toEqual([
          'absent-week-no-response-concern → home-visit',
        ]);
        expect(
          triggered(
            'lime-hills',
            pupil({ ...marks, '2025-11-18': 'I' }, { to: '2025-11-18', flags: { cpPlan: true } }),
          ),
        ).toEqual([]);
        // `G` (holiday not agreed) is a reason the school has: the family is away, not unanswered.
        expect(
          triggered(
            'lime-hills',
            pupil({ ...marks, '2025-11-18': 'G' }, { to: '2025-11-18', flags: { cpPlan: true } }),
          ),
        ).toEqual([]);
        expect(
          triggered(
            'lime-hills',
            pupil({ ...marks, '2025-11-18': 'O' }, { to: '2025-11-18', flags: { cpPlan: true } }),
          ),
        ).toEqual(['absent-week-no-response-concern → home-visit']);
      },
    },
    {
      clause:
        '"wherever possible parents/carers should be informed … prior to arrival"; "a phone call or … a letter"',
      setting: 'familyNotice: { expect: where-possible, methods: [phone, letter] }',
      scenario: 'an emergency visit with nobody told: a warning, not a block',
      check: () => {
        expect(blocks('lime-hills', { familyNotice: null })).toEqual([]);
        expect(warns('lime-hills', { familyNotice: null })).toContain('family-notice');
      },
    },
    {
      clause:
        '"ALL HOME VISITS … MUST BE AUTHORISED BY A MEMBER OF THE SAFEGUARDING TEAM (THIS INCLUDES THE PRINCIPAL)"',
      setting:
        'authorisation: { required: true, by: [safeguarding, headteacher], selfAuthorise: false }; risk.assessedBy the same',
      scenario:
        'the office, an admin without the role, the safeguarding team and the Principal (no safeguarding role) try to authorise; a team member or the Principal who asked for the visit cannot sign it themselves',
      check: () => {
        // The visitor's steps go to someone else ("ensuring it is signed [by] a member of the
        // Safeguarding team"; "Discuss with the Safeguarding team"): the asker does not sign.
        const askers: [string[], string[]][] = [
          [['safeguarding', 'visiting-staff'], []],
          [['office'], ['headteacher']],
        ];
        for (const [roles, positions] of askers) {
          expect(
            decide(
              'authorise',
              { ...requested, requestedBy: '9' },
              { id: '9', roles, positions },
              rulesOf('lime-hills'),
            ).ok,
          ).toBe(false);
          expect(
            decide(
              'authorise',
              { ...requested, requestedBy: '8' },
              { id: '9', roles, positions },
              rulesOf('lime-hills'),
            ).ok,
          ).toBe(true);
        }
        expect(
          decide(
            'authorise',
            { ...requested, requestedBy: '9' },
            { id: '9', roles: ['visiting-staff'], positions: [] },
            rulesOf('lime-hills'),
          ).ok,
        ).toBe(false);
        expect(may('lime-hills', 'authorise', ['office'])).toBe(false);
        expect(may('lime-hills', 'authorise', ['admin'])).toBe(false);
        expect(may('lime-hills', 'authorise', ['safeguarding'])).toBe(true);
        expect(may('lime-hills', 'authorise', ['office'], ['headteacher'])).toBe(true);
        expect(may('lime-hills', 'assess-risk', ['office'], ['headteacher'])).toBe(true);
        expect(may('lime-hills', 'authorise', ['office'], ['deputy-head'])).toBe(false);
        expect(blocks('lime-hills', { status: 'requested' })).toEqual(['authorisation']);
      },
    },
    {
      clause: '"pairs where the safeguarding team believe there is a risk"',
      setting: 'risk.at: authorisation; pairs: when-risk',
      scenario: 'minor risk, alone',
      check: () => expect(blocks('lime-hills', { riskLevel: 'minor', partner: false })).toEqual(['pairs']),
    },
    {
      clause: '"Carry identification; do not wear it on a necklace lanyard."',
      setting: 'requires.identification (carrying it; how it is worn is not recorded)',
      scenario: 'leaving without confirming identification',
      check: () => expect(blocks('lime-hills', { identification: false })).toEqual(['identification']),
    },
    {
      clause:
        '"If you are not returning directly to school, telephone the school after the visit to say you have left the home visit"',
      setting: 'the visit watch, which ends only at back safe (the worker, or the office once they phoned)',
      scenario: 'the visit over, the worker gone on elsewhere with nothing recorded; back safe recorded',
      check: () => {
        const away = {
          id: '1',
          status: 'departed' as const,
          departedAt: now,
          returnedAt: null,
          arrivedAt: now,
          expectedReturnAt: new Date(now.getTime() + 3_600_000),
          lastCheckInAt: null,
          checkInMinutes: null,
        };
        const later = new Date(now.getTime() + 3_600_000);
        expect(dueVisitAlarms(away, rulesOf('lime-hills'), later).map((d) => d.type)).toEqual([
          'overdue_visit',
        ]);
        expect(dueVisitAlarms({ ...away, returnedAt: later }, rulesOf('lime-hills'), later)).toEqual([]);
      },
    },
    {
      clause: '"your safe word is recorded"',
      setting: 'safeWord: required',
      scenario: 'no safe word',
      check: () => expect(blocks('lime-hills', { safeWord: null })).toEqual(['safe-word']),
    },
    {
      clause: '"It is strongly recommended that no one makes an evening home visit"',
      setting: 'hours: { to: "18:00" (set by the school), mode: recommend }',
      scenario: 'back at 18:30: refused unless the authoriser approved it; approved, a warning',
      check: () => {
        expect(blocks('lime-hills', { londonMinutes: 17 * 60, returnLondonMinutes: 18 * 60 + 30 })).toEqual([
          'hours',
        ]);
        const approved = {
          londonMinutes: 17 * 60,
          returnLondonMinutes: 18 * 60 + 30,
          outOfHoursApproved: true,
        };
        expect(blocks('lime-hills', approved)).toEqual([]);
        expect(warns('lime-hills', approved)).toEqual(['hours']);
      },
    },
  ],
  'kings-gomer': [
    {
      clause:
        '"Clothing and ID: Staff should dress appropriately and carry photo identification, clearly identifying them as representatives of King\'s Academy Gomer"',
      setting: 'requires.identification',
      scenario: 'leaving without confirming photo ID',
      check: () => expect(blocks('kings-gomer', { identification: false })).toEqual(['identification']),
    },
    {
      clause:
        '"families should be informed of the visit in advance … An exception … persistent absenteeism or children missing in education"',
      setting:
        'familyNotice: { expect: required, exemptions: persistent-absence (open statutory persistent- or severe-absence trigger), missing-education (open 10-day continuous unauthorised or 20-day removal-review trigger, or off roll with no known destination) }',
      scenario:
        'not told; the persistent-absence exemption recorded; the same after the trigger it rested on closed',
      check: () => {
        expect(blocks('kings-gomer', { familyNotice: null })).toEqual(['family-notice']);
        expect(
          blocks('kings-gomer', { familyNotice: { method: null, exemption: 'persistent-absence' } }),
        ).toEqual([]);
        expect(
          blocks('kings-gomer', {
            familyNotice: {
              method: null,
              exemption: 'persistent-absence',
              exemptionLapsed: 'the pupil has no open trigger for it',
            },
          }),
        ).toEqual(['family-notice']);
        expect(
          rulesOf('kings-gomer').familyNotice!.exemptions.map((x) => [
            x.id,
            x.openTriggers,
            x.offRollUnknownDestination,
          ]),
        ).toEqual([
          ['persistent-absence', ['statutory:persistent-absence', 'statutory:severe-absence'], false],
          [
            'missing-education',
            ['statutory:continuous-unauthorised-10', 'statutory:removal-from-roll-review-20'],
            true,
          ],
        ]);
      },
    },
    {
      clause: '"authorised in advance by the Associate Headteacher or Designated Safeguarding Lead"',
      setting: 'authorisation: { by: [dsl, associate-head], selfAuthorise: true }',
      scenario:
        'safeguarding without the DSL position; the DSL; the associate head; the DSL who asked for the visit; one person holding both positions',
      check: () => {
        expect(may('kings-gomer', 'authorise', ['safeguarding'])).toBe(false);
        expect(may('kings-gomer', 'authorise', ['safeguarding'], ['dsl'])).toBe(true);
        expect(may('kings-gomer', 'authorise', ['office'], ['associate-head'])).toBe(true);
        // The policy names who authorises and does not bar the one who asked: a DSL who asks for a
        // visit authorises it — and where one person is both DSL and associate head, someone can.
        const askedBy9 = { ...requested, requestedBy: '9' };
        for (const positions of [['dsl'], ['dsl', 'associate-head']])
          expect(
            decide(
              'authorise',
              askedBy9,
              { id: '9', roles: ['safeguarding', 'visiting-staff'], positions },
              rulesOf('kings-gomer'),
            ),
          ).toMatchObject({ ok: true });
      },
    },
    {
      clause:
        '2.1 "A dynamic risk assessment should be completed before the visit, considering known risks related to the family, location, and timing"',
      setting:
        'risk: { assessedBy: [dsl, associate-head] (set by the school: 2.1 names no assessor), at: authorisation }',
      scenario:
        'the authoriser assesses; the address flagged after it was assessed (a known location risk it did not weigh)',
      check: () => {
        expect(rulesOf('kings-gomer').risk.setBySchool?.assessedBy).toMatch(/school's setting/);
        expect(may('kings-gomer', 'assess-risk', ['safeguarding'], ['dsl'])).toBe(true);
        expect(blocks('kings-gomer', { flaggedSinceAssessed: ['caution'] })).toEqual(['risk-assessment']);
        expect(blocks('kings-gomer', { flaggedSinceAssessed: [] })).toEqual([]);
        // Where the requester's own level stands (Hampton), there is no assessment to amend.
        expect(blocks('hampton', { flaggedSinceAssessed: ['caution'], partner: true })).toEqual([]);
      },
    },
    {
      clause:
        '"Staff must inform the school office of their estimated arrival and departure times and carry a charged mobile phone"',
      setting: 'requires: { phone: true, arrivalEstimate: true }',
      scenario: 'leaving without an estimated arrival time, or without a phone number',
      check: () => {
        expect(blocks('kings-gomer', { estimatedArrivalAt: null })).toEqual(['arrival-estimate']);
        expect(blocks('kings-gomer', { phone: false })).toEqual(['phone']);
        // No other pack asks for it.
        for (const pack of ['heath-lane', 'hampton', 'lime-hills', 'thames-view'])
          expect(blocks(pack, { estimatedArrivalAt: null })).not.toContain('arrival-estimate');
      },
    },
    {
      clause: '"in pairs wherever possible"',
      setting: 'pairs: where-possible',
      scenario: 'alone',
      check: () => {
        expect(blocks('kings-gomer', { partner: false })).toEqual([]);
        expect(warns('kings-gomer', { partner: false })).toEqual(['pairs']);
      },
    },
    {
      clause: '"At least one member of the visiting team should be trained in safeguarding"',
      setting: 'competence.safeguardingTrainedMember',
      scenario: 'nobody going is safeguarding-trained',
      check: () =>
        expect(
          blocks('kings-gomer', {
            staff: [
              { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 3 },
              { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 3 },
            ],
          }),
        ).toEqual(['safeguarding-training']),
    },
    {
      clause:
        '4 "Staff involved in home visits must undergo training on this policy, safeguarding procedures, and risk management"',
      setting: 'competence.homeVisitTraining',
      scenario: 'the partner has no home-visit training recorded (the lead is safeguarding-trained)',
      check: () => {
        expect(rulesOf('kings-gomer').competence.homeVisitTraining).toBe(true);
        expect(
          blocks('kings-gomer', {
            staff: [
              { homeVisitTrained: true, safeguardingTrained: true, visitsMade: 3 },
              { homeVisitTrained: false, safeguardingTrained: false, visitsMade: 3 },
            ],
          }),
        ).toEqual(['training']);
        // Going alone (pairs "wherever possible"): the one who goes is trained too.
        expect(
          blocks('kings-gomer', {
            partner: false,
            staff: [{ homeVisitTrained: false, safeguardingTrained: true, visitsMade: 3 }],
          }),
        ).toEqual(['training']);
      },
    },
    {
      clause: '"during regular working hours unless approved for exceptional circumstances"',
      setting:
        'hours: { 08:00–17:30, workingDaysOnly: true, approvable: true (all set by the school: 2.2 names no approver), mode: require }',
      scenario:
        'a 19:00 visit, unapproved and approved; 10:00 on a Saturday, a holiday or a bank holiday; 10:00 on an INSET day',
      check: () => {
        expect(blocks('kings-gomer', { londonMinutes: 19 * 60, returnLondonMinutes: 20 * 60 })).toEqual([
          'hours',
        ]);
        // 2.2 "Visits should take place during regular working hours unless approved for exceptional
        // circumstances": hours, not days. A weekend, a holiday or a bank holiday as outside them is the
        // school's reading, labelled so.
        expect(rulesOf('kings-gomer').hours?.setBySchool).toHaveProperty('workingDaysOnly');
        // "unless approved" names no approver: the authorisers approving is the school's setting.
        expect(rulesOf('kings-gomer').hours?.setBySchool?.approvable).toMatch(/school's setting/);
        for (const closedDay of ['weekend', 'holiday', 'bank-holiday']) {
          expect(blocks('kings-gomer', { closedDay })).toEqual(['hours']);
          expect(blocks('kings-gomer', { closedDay, outOfHoursApproved: true })).toEqual([]);
        }
        // An INSET day is a working day — the staff are at work, only the pupils are not: 10:00 on
        // one is within regular working hours (the departure's closed day is the staff's).
        const inset = calendar.whyClosed('2025-11-14');
        expect(inset?.kind).toBe('inset');
        expect(staffClosedDay(inset)).toBeNull();
        expect(blocks('kings-gomer', { closedDay: staffClosedDay(inset) })).toEqual([]);
        expect(staffClosedDay(calendar.whyClosed('2025-11-15'))).toBe('weekend');
        expect(
          departureFindings(rulesOf('kings-gomer'), depart({ closedDay: 'weekend' })).find(
            (f) => f.rule === 'hours',
          )?.message,
        ).toBe(
          'visits are made between 08:00 and 17:30 on working days only (today is a weekend) unless the authoriser approved this one',
        );
        // Lime Hills' hours are about evenings only: a Saturday morning is not one.
        expect(warns('lime-hills', { closedDay: 'weekend' })).not.toContain('hours');
        expect(
          blocks('kings-gomer', {
            londonMinutes: 19 * 60,
            returnLondonMinutes: 20 * 60,
            outOfHoursApproved: true,
          }),
        ).toEqual([]);
      },
    },
  ],
  'thames-view': [
    {
      clause: '2.6 "Staff members must never enter the home of a pupil unless an appointment has been made"',
      setting: 'appointments.required: true',
      scenario: 'leaving with no appointment time recorded; with one',
      check: () => {
        expect(blocks('thames-view', { appointmentAt: null })).toEqual(['appointment']);
        expect(blocks('thames-view', {})).toEqual([]);
        // No other pack asks for one.
        for (const pack of ['heath-lane', 'hampton', 'lime-hills', 'kings-gomer'])
          expect(blocks(pack, { appointmentAt: null })).not.toContain('appointment');
      },
    },
    {
      clause: '2.6 "Written confirmation of the appointment must be recorded and held in the school office."',
      setting: 'familyNotice: { expect: required, methods: [written-confirmation] }',
      scenario: 'no written confirmation recorded',
      check: () => expect(blocks('thames-view', { familyNotice: null })).toEqual(['family-notice']),
    },
    {
      clause: '3.3 "The list must be approved and signed by the Headteacher"',
      setting: 'authorisation: { by: [headteacher], mode: daily-list, selfAuthorise: true }',
      scenario: 'a DSL, the deputy head, the head; one visit authorised on its own',
      check: () => {
        expect(may('thames-view', 'sign-list', ['safeguarding'], ['dsl'])).toBe(false);
        // 2.1's "consult the Headteacher or Deputy Headteacher" is about talking it through, not signing.
        expect(may('thames-view', 'sign-list', ['office'], ['deputy-head'])).toBe(false);
        expect(may('thames-view', 'sign-list', ['office'], ['headteacher'])).toBe(true);
        expect(may('thames-view', 'authorise', ['office'], ['headteacher'])).toBe(false);
        // The Headteacher alone signs: a visit they asked for themselves is theirs to sign too.
        expect(
          decide(
            'sign-list',
            { ...requested, requestedBy: '9' },
            { id: '9', roles: ['office'], positions: ['headteacher'] },
            rulesOf('thames-view'),
          ).ok,
        ).toBe(true);
      },
    },
    {
      clause:
        '2.5 "A risk assessment will be conducted by the School Business Manager prior to a home visit. If a particular home visit poses new risks, the risk assessment will be amended before the visit."',
      setting: 'risk: { assessedBy: [business-manager], at: separate }',
      scenario: 'not assessed; the address flagged since it was assessed; the headteacher tries to assess',
      check: () => {
        expect(blocks('thames-view', { riskAssessed: false })).toEqual(['risk-assessment']);
        // "If a particular home visit poses new risks, the risk assessment will be amended before the visit."
        expect(blocks('thames-view', { flaggedSinceAssessed: ['dangerous'] })).toEqual(['risk-assessment']);
        expect(blocks('thames-view', { flaggedSinceAssessed: [] })).toEqual([]);
        expect(may('thames-view', 'assess-risk', ['office'], ['headteacher'])).toBe(false);
        expect(may('thames-view', 'assess-risk', ['office'], ['business-manager'])).toBe(true);
      },
    },
    {
      clause: '2.10 "There must always be two members of staff"',
      setting: 'pairs: always',
      scenario: 'alone',
      check: () => expect(blocks('thames-view', { partner: false })).toEqual(['pairs']),
    },
    {
      clause: '2.4 "notify SLT they have arrived safely … check in … every 20 minutes"',
      setting: 'arrivalCheckInMinutes: 20; checkInMinutes: 20 (a maximum)',
      scenario:
        'a 30-minute interval chosen; no arrival after 20 minutes; a check-in on the road at 5 minutes, no arrival after 20',
      check: () => {
        expect(blocks('thames-view', { checkInMinutes: 30 })).toEqual(['check-in']);
        const out = {
          id: '1',
          status: 'departed',
          departedAt: now,
          returnedAt: null,
          arrivedAt: null,
          expectedReturnAt: new Date(now.getTime() + 7_200_000),
          lastCheckInAt: null,
          checkInMinutes: 20,
        };
        const at20 = new Date(now.getTime() + 20 * 60_000);
        const due = dueVisitAlarms(out, rulesOf('thames-view'), at20);
        expect(due.map((d) => d.dedupKey)).toEqual(['visit:1:arrival']);
        // A check-in is no arrival (SLT are told only of one): the arrival call is still owed.
        const checkedIn = { ...out, lastCheckInAt: new Date(now.getTime() + 5 * 60_000) };
        expect(dueVisitAlarms(checkedIn, rulesOf('thames-view'), at20).map((d) => d.dedupKey)).toEqual([
          'visit:1:arrival',
        ]);
      },
    },
    {
      clause: '3.10 "Before and after the visit staff will \'check in\' by calling the school office"',
      setting: 'checkInMinutes: 20 (the check-ins stay due after the visit, until back safe)',
      scenario: 'the last check-in in the home 20 minutes ago, the visit over, not yet back safe; back safe',
      check: () => {
        const after = {
          id: '1',
          status: 'departed' as const,
          departedAt: now,
          returnedAt: null,
          arrivedAt: new Date(now.getTime() + 10 * 60_000),
          expectedReturnAt: new Date(now.getTime() + 7_200_000),
          lastCheckInAt: new Date(now.getTime() + 40 * 60_000),
          checkInMinutes: 20,
        };
        const at = new Date(now.getTime() + 60 * 60_000);
        expect(dueVisitAlarms(after, rulesOf('thames-view'), at).map((d) => d.type)).toEqual([
          'missed_check_in',
        ]);
        expect(dueVisitAlarms({ ...after, returnedAt: at }, rulesOf('thames-view'), at)).toEqual([]);
      },
    },
    {
      clause:
        '3.4 "wait no longer than 20 minutes. If the parent/carer does not arrive the visit will be cancelled"',
      setting: 'appointments.noAnswerAfterMinutes: 20 (the no-answer transition; an outcome, not left open)',
      scenario:
        'at the door 19 and 20 minutes; not yet arrived; 20 and 31 minutes after the parent said they are running late',
      check: () => {
        const door = (doorWaitMinutes: number | null, parentSaidLate = false) =>
          decide(
            'no-answer',
            { ...out, arrivedAt: doorWaitMinutes === null ? null : now, doorWaitMinutes, parentSaidLate },
            lead,
            rulesOf('thames-view'),
          ).ok;
        expect([door(19), door(20), door(null)]).toEqual([false, true, false]);
        // 3.5: with the parent's notice the worker waits on — the visit ends as 3.5 says, not "no answer".
        expect([door(20, true), door(31, true)]).toEqual([false, false]);
        // Counted from the arranged time (10:00): early at 09:45, not yet at 10:05, at 10:20; late at
        // 10:15, the family has kept them waiting since 10:00.
        const t = (hhmm: string) => new Date(`2026-11-30T${hhmm}:00Z`);
        const at = (arrived: string, asked: string) =>
          door(doorWaitMinutes(t(arrived), t('10:00'), t(asked)));
        expect([at('09:45', '10:05'), at('09:45', '10:20'), at('10:15', '10:20')]).toEqual([
          false,
          true,
          true,
        ]);
        expect(doorWaitMinutes(t('10:15'), null, t('10:20'))).toBe(5);
        expect(rulesOf('thames-view').appointments?.source).toMatch(/3\.4/);
        expect(rulesOf('hampton').appointments).toBeUndefined();
      },
    },
    {
      clause:
        '3.5 "If the parents/carers have given prior notice that they are running late, the officer must not enter the house until they arrive. If they are over 30 minutes late the visit will be cancelled"',
      setting:
        'appointments.lateCancelAfterMinutes: 30 (the parent-running-late notice, before the 20 minutes are over; then the parent-late-cancel transition → cancelled, still watched)',
      scenario:
        'the notice on the way, at 19 and at 20 minutes; with it at the door 30 and 31 minutes; without it 31',
      check: () => {
        const notice = (doorWaitMinutes: number | null) =>
          decide(
            'parent-running-late',
            { ...out, arrivedAt: doorWaitMinutes === null ? null : now, doorWaitMinutes },
            lead,
            rulesOf('thames-view'),
          ).ok;
        expect([notice(null), notice(19), notice(20)]).toEqual([true, true, false]);
        const late = (doorWaitMinutes: number, parentSaidLate = true) =>
          decide(
            'parent-late-cancel',
            { ...out, arrivedAt: now, doorWaitMinutes, parentSaidLate },
            lead,
            rulesOf('thames-view'),
          );
        expect(late(30).ok).toBe(false);
        expect(late(31, false).ok).toBe(false);
        const d = late(31);
        expect(d.ok && d.effect).toMatchObject({ status: 'cancelled', monitoring: 'keep' });
        expect(rulesOf('thames-view').appointments?.source).toMatch(/3\.5/);
      },
    },
    {
      clause: '3.7 "Identification cards will be worn at all times"',
      setting: 'requires.identification',
      scenario: 'leaving without confirming the identification card',
      check: () =>
        expect(
          blocks('thames-view', {
            identification: false,
            familyNotice: { method: 'written-confirmation', exemption: null },
          }),
        ).toEqual(['identification']),
    },
    {
      clause:
        '2.3 mobile phone; 2.9 "make, model, registration number and colour … All vehicles must have the required up-to-date insurance"',
      setting: 'requires: { phone, vehicle }',
      scenario: 'no phone, no vehicle (nor "on foot"); a vehicle without its insurance confirmed',
      check: () => {
        expect(blocks('thames-view', { phone: false, vehicle: false })).toEqual(['phone', 'vehicle']);
        expect(blocks('thames-view', { vehicle: true, vehicleInsured: false })).toEqual([
          'vehicle-insurance',
        ]);
        expect(blocks('thames-view', { vehicle: true, vehicleInsured: true })).toEqual([]);
      },
    },
    {
      clause:
        '2.7 "Appointment records must include the time and location along with the name of the pupil on CPOMS"',
      setting: 'appointmentRecords (a visit_appointment record when booked, changed, cancelled)',
      scenario: 'the list signed with the appointment time; then changed; then cancelled',
      check: () => {
        const r = rulesOf('thames-view');
        const at = new Date('2026-11-24T14:30:00Z');
        expect(
          appointmentRecordFor(r, { status: 'authorised', appointmentAt: at, recordsWritten: 0 }, 'booked'),
        ).toBe('booked');
        expect(
          appointmentRecordFor(r, { status: 'authorised', appointmentAt: at, recordsWritten: 1 }, 'changed'),
        ).toBe('changed');
        expect(
          appointmentRecordFor(r, { status: 'cancelled', appointmentAt: at, recordsWritten: 2 }, 'cancelled'),
        ).toBe('cancelled');
        expect(r.appointmentRecords?.source).toMatch(/^2\.7/);
        expect(rulesOf('hampton').appointmentRecords).toBeUndefined();
      },
    },
    {
      clause:
        '4.2 reminder letters; 4.3 "a note … in the pupil\'s attendance record"; "Continued failure … will result in a follow-up visit"',
      setting:
        'agreements: { reminderLetter, attendanceNote, followUpVisitAfter: 2 (set by the school) } — recorded by the office or safeguarding on a completed visit with agreements',
      scenario: 'a first breach, then a second',
      check: () => {
        const a = rulesOf('thames-view').agreements!;
        const o = parseOutcome({ childSeen: true, noOneHome: false, agreements: ['on time'] })!;
        const first = decideBreach(
          a,
          o,
          { agreement: 0, on: '2026-11-30', note: 'late' },
          '2026-11-26',
          '2026-11-30',
        );
        expect(first).toMatchObject({
          steps: { reminderLetter: true, attendanceNote: true, followUpVisit: false },
        });
        const b = {
          agreement: 0,
          on: '2026-11-27',
          note: 'x',
          n: 1,
          recordedBy: '1',
          recordedAt: now.toISOString(),
        };
        const second = decideBreach(
          a,
          { ...o, broken: [b] },
          { agreement: 0, on: '2026-11-30', note: 'x' },
          '2026-11-26',
          '2026-11-30',
        );
        expect(second).toMatchObject({ steps: { followUpVisit: true } });
        const completed = {
          ...requested,
          status: 'completed' as const,
          outcomeRecorded: true,
          agreements: 1,
        };
        const office = { id: '9', roles: ['office'], positions: [] };
        expect(decide('agreement-broken', completed, office, rulesOf('thames-view')).ok).toBe(true);
        expect(decide('agreement-broken', completed, lead, rulesOf('thames-view')).ok).toBe(false);
        expect(
          decide('agreement-broken', { ...completed, agreements: 0 }, office, rulesOf('thames-view')).ok,
        ).toBe(false);
        expect(decide('agreement-broken', completed, office, rulesOf('hampton')).ok).toBe(false);
      },
    },
  ],
};

describe('each school policy, clause by clause', () => {
  for (const [pack, clauses] of Object.entries(TABLE))
    describe(pack, () => {
      for (const c of clauses) it(`${c.clause} → ${c.setting} — ${c.scenario}`, c.check);
    });
});

/**
 * Every number (and clock time) written in a school's pack is either the policy's — listed here with
 * its clause — or labelled `setBySchool` beside it in the pack, with why. A number in neither list
 * fails: a pack says no more than its policy without saying so.
 */
const POLICY_NUMBERS: Record<string, Record<string, string>> = {
  statutory: {
    'rules.persistent-absence.threshold':
      'DfE: persistent absence is missing 10% or more of possible sessions',
    'rules.severe-absence.threshold': 'DfE: severe absence is missing 50% or more of possible sessions',
    'rules.n-unresolved.afterSchoolDays': 'SI 2024/208 reg. 10: N replaced within 5 school days',
    'rules.continuous-unauthorised-10.days': 'reg. 13: 10 school days of continuous unauthorised absence',
    'rules.illness-15.days': 'health needs guidance: 15 school days, consecutive or cumulative',
    'rules.removal-from-roll-review-20.days': 'reg. 9(1)(i): 20 school days of continuous absence',
  },
  hampton: {
    'visits.overdueGraceMinutes':
      '"not return at the specified time, attempts should be made to contact them"',
    'escalation.overdue-visit.levels.0.afterMinutes': 'the specified time',
    'escalation.overdue-visit.levels.1.afterMinutes': '"within half an hour of the schedule return time"',
  },
  'heath-lane': {
    'rules.absent-3-days.days': '§3 "defined as 3 or more school days"',
    'rules.absent-3-days.whenReasonedEachDay.upToDays': '§3 "a phone call home to address 3 days of absence"',
    'rules.vulnerable-absent.days': '§4 "absence of vulnerable students" (any absence)',
  },
  'lime-hills': {
    'rules.absent-week-no-response-concern.days': '"absent from school for a week or more" (5 school days)',
  },
  'kings-gomer': {},
  'thames-view': {
    'rules.below-90-three-months.threshold': '4.4 "below 90 per cent"',
    'rules.below-90-three-months.window.months': '4.4 "over the course of three months"',
    'visits.checkInMinutes': '2.4 "check in … every 20 minutes"',
    'visits.appointments.noAnswerAfterMinutes': '3.4 "wait no longer than 20 minutes"',
    'visits.appointments.lateCancelAfterMinutes': '3.5 "over 30 minutes late"',
  },
};

/** Paths of every number and HH:MM time in a pack as written, with whether a sibling `setBySchool` labels it. */
function numbersIn(value: unknown, path: string[] = []): { path: string; labelled: boolean }[] {
  const out: { path: string; labelled: boolean }[] = [];
  if (Array.isArray(value))
    value.forEach((v, i) => {
      const id = v && typeof v === 'object' && 'id' in v ? String((v as { id: unknown }).id) : String(i);
      out.push(...numbersIn(v, [...path, id]));
    });
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const own = (o.setBySchool ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(o))
      if (k !== 'setBySchool') {
        if (typeof v === 'number' || (typeof v === 'string' && /^\d\d:\d\d$/.test(v)))
          out.push({ path: [...path, k].join('.'), labelled: k in own });
        else out.push(...numbersIn(v, [...path, k]));
      }
  }
  return out;
}

/**
 * Every choice a trigger rule makes — what it recommends (`action`), who acts (`role`), which pupils
 * (`flags`), and the same of a lighter action it allows (`whenReasonedEachDay`) — is either the
 * policy's or the law's, listed here with its clause, or labelled `setBySchool` beside it in the pack
 * (Thames View 4.4 names nobody to notify the authorities; Lime Hills does not say which flags are
 * "any welfare or safeguarding concerns"). One in neither list fails.
 */
const POLICY_CHOICES: Record<string, Record<string, string>> = {
  statutory: {
    'rules.continuous-unauthorised-10.action': 'reg. 13: the school must notify the local authority',
    'rules.illness-15.action': 'health needs guidance: notify the LA (15 school days of I)',
    'rules.removal-from-roll-review-20.action': 'reg. 9(1)(i): software can only prompt the review',
  },
  hampton: {},
  'heath-lane': {
    'rules.absent-3-days.action': '§3 home visits … if a student has not been seen for an extended period',
    'rules.absent-3-days.role':
      '§4 "The attendance coordinator will identify the need for home visits based upon … Continuous absence"',
    'rules.absent-3-days.whenReasonedEachDay.action':
      '§3 "a phone call home to address 3 days of absence will be suitable"',
    'rules.vulnerable-absent.action':
      '§4 "identify the needs for home visits based upon … Absence of vulnerable students"',
    'rules.vulnerable-absent.role': '§4 "welfare staff and VP resp. for attendance"',
    'rules.holiday-pattern.action':
      '§3 home visits are used "to investigate … on holiday contrary to reasons given"',
    'rules.ill-during-refused-leave.action':
      '§3 home visits are used "to investigate … evidence … on holiday"',
  },
  'lime-hills': {
    'rules.absent-week-no-response-concern.action':
      'Reasons for home visits: "to try and establish that a child is safe"',
    'rules.ill-during-refused-leave.action':
      'Reasons for home visits: "reported as being ill … leave … refused"',
  },
  'kings-gomer': {},
  'thames-view': {
    'rules.below-90-three-months.action': '4.4 "the appropriate authorities will be notified"',
  },
};

/** A trigger rule's choices (`action`, `role`, `flags`, nested too), with whether a sibling `setBySchool` labels each. */
function choicesIn(value: unknown, path: string[]): { path: string; labelled: boolean }[] {
  const out: { path: string; labelled: boolean }[] = [];
  if (Array.isArray(value))
    value.forEach((v, i) => {
      const id = v && typeof v === 'object' && 'id' in v ? String((v as { id: unknown }).id) : String(i);
      out.push(...choicesIn(v, [...path, id]));
    });
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const own = (o.setBySchool ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(o))
      if (['action', 'role', 'flags'].includes(k))
        out.push({ path: [...path, k].join('.'), labelled: k in own });
      else if (k !== 'setBySchool' && v && typeof v === 'object' && !Array.isArray(v))
        out.push(...choicesIn(v, [...path, k]));
  }
  return out;
}

/**
 * Every choice a pack's visit rules make of who acts — who authorises (`by`), whether the one who
 * asked for a visit may authorise it (`selfAuthorise`), who assesses the risk (`assessedBy`), who
 * approves a visit on the way to or from work (`approvalBy`) — and whether a visit outside the hours
 * may be approved at all (`approvable`) is the policy's, listed here with its clause, or labelled
 * `setBySchool` beside it in the pack (Hampton names nobody to identify the risk; King's 2.1 names no
 * assessor, 2.2 no approver). One in neither list fails. A pack that requires authorisation writes
 * `selfAuthorise` out: left to the default, it would say nothing of which the policy asks.
 */
const POLICY_VISIT_CHOICES: Record<string, Record<string, string>> = {
  statutory: {},
  hampton: {
    'visits.commute.approvalBy':
      '"Home visits on the way to work or on the way home from work should not occur without prior approval of the HoS"',
  },
  'heath-lane': {
    'visits.risk.assessedBy':
      '"liaise with Safeguarding Manager to check that it is appropriate for a person to visit alone"',
  },
  'lime-hills': {
    'visits.authorisation.by':
      '"MUST BE AUTHORISED BY A MEMBER OF THE SAFEGUARDING TEAM (THIS INCLUDES THE PRINCIPAL)"',
    'visits.authorisation.selfAuthorise':
      '"Complete the Home Visit form ensuring it is signed [by] a member of the Safeguarding team"; "Discuss with the Safeguarding team whether it is deemed appropriate for the visit to be made alone": the visitor\'s steps go to someone else',
    'visits.risk.assessedBy':
      '"Discuss with the Safeguarding team whether it is deemed appropriate for the visit to be made alone"; "where the safeguarding team believe there is a risk" (the team includes the Principal)',
  },
  'kings-gomer': {
    'visits.authorisation.by':
      '2.1 "authorised in advance by the Associate Headteacher or Designated Safeguarding Lead (DSL)"',
    'visits.authorisation.selfAuthorise':
      '2.1 names who authorises ("the Associate Headteacher or Designated Safeguarding Lead"), and does not bar the one who asked',
  },
  'thames-view': {
    'visits.authorisation.by': '3.3 "The list must be approved and signed by the Headteacher"',
    'visits.authorisation.selfAuthorise':
      '3.3 names the Headteacher alone to sign, and does not take off the list a visit they asked for',
    'visits.risk.assessedBy': '2.5 "A risk assessment will be conducted by the School Business Manager"',
  },
};
const VISIT_CHOICE_KEYS = ['by', 'assessedBy', 'approvalBy', 'approvable', 'selfAuthorise'];

/** A pack's visit-rule choices (who acts, whether hours may be approved), with whether a sibling `setBySchool` labels each. */
function visitChoicesIn(value: unknown, path: string[]): { path: string; labelled: boolean }[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const o = value as Record<string, unknown>;
  const own = (o.setBySchool ?? {}) as Record<string, string>;
  const out: { path: string; labelled: boolean }[] = [];
  for (const [k, v] of Object.entries(o))
    if (VISIT_CHOICE_KEYS.includes(k)) out.push({ path: [...path, k].join('.'), labelled: k in own });
    else if (k !== 'setBySchool') out.push(...visitChoicesIn(v, [...path, k]));
  return out;
}

describe('every number in a pack is the policy’s or the law’s (with its clause) or labelled a school setting', () => {
  for (const [pack, fromPolicy] of Object.entries(POLICY_NUMBERS))
    it(pack, () => {
      const raw = parse(readFileSync(`config/policies/${pack}.yaml`, 'utf8'));
      const numbers = numbersIn(raw);
      const unexplained = numbers.filter((n) => !n.labelled && !(n.path in fromPolicy)).map((n) => n.path);
      expect(unexplained, 'numbers neither from the policy nor labelled setBySchool').toEqual([]);
      // Nothing is both: a policy number is not also labelled the school's.
      expect(numbers.filter((n) => n.labelled && n.path in fromPolicy)).toEqual([]);
      for (const p of Object.keys(fromPolicy)) expect(numbers.map((n) => n.path)).toContain(p);
    });

  it('every choice of a trigger rule — its action, who acts, which pupils — is the policy’s (with its clause) or labelled a school setting', () => {
    const unexplained: Record<string, string[]> = {};
    for (const [pack, fromPolicy] of Object.entries(POLICY_CHOICES)) {
      const raw = parse(readFileSync(`config/policies/${pack}.yaml`, 'utf8'));
      const choices = choicesIn(raw.rules, ['rules']);
      unexplained[pack] = choices.filter((c) => !c.labelled && !(c.path in fromPolicy)).map((c) => c.path);
      // Nothing is both: a policy's choice is not also labelled the school's.
      expect(choices.filter((c) => c.labelled && c.path in fromPolicy)).toEqual([]);
      for (const p of Object.keys(fromPolicy)) expect(choices.map((c) => c.path)).toContain(p);
    }
    expect(unexplained, 'choices neither from the policy nor labelled setBySchool').toEqual(
      Object.fromEntries(Object.keys(POLICY_CHOICES).map((pack) => [pack, []])),
    );
    expect(Object.keys(POLICY_CHOICES).sort()).toEqual([...packs.keys()].sort());
    // A label taken away is caught: Heath Lane's reading of "vulnerable", Lime Hills' of "any welfare
    // or safeguarding concerns", a role a policy does not name.
    const unlabelled = (pack: string, rule: string, field: string) => {
      const raw = parse(readFileSync(`config/policies/${pack}.yaml`, 'utf8'));
      delete raw.rules.find((r: { id: string }) => r.id === rule).setBySchool[field];
      return choicesIn(raw.rules, ['rules'])
        .filter((c) => !c.labelled && !(c.path in POLICY_CHOICES[pack]!))
        .map((c) => c.path);
    };
    expect(unlabelled('heath-lane', 'vulnerable-absent', 'flags')).toEqual(['rules.vulnerable-absent.flags']);
    expect(unlabelled('lime-hills', 'absent-week-no-response-concern', 'flags')).toEqual([
      'rules.absent-week-no-response-concern.flags',
    ]);
    expect(unlabelled('thames-view', 'below-90-three-months', 'role')).toEqual([
      'rules.below-90-three-months.role',
    ]);
  });

  it('every choice of the visit rules — who authorises, assesses the risk or approves, whether the hours may be approved — is the policy’s (with its clause) or labelled a school setting', () => {
    const unexplained: Record<string, string[]> = {};
    for (const [pack, fromPolicy] of Object.entries(POLICY_VISIT_CHOICES)) {
      const raw = parse(readFileSync(`config/policies/${pack}.yaml`, 'utf8'));
      const choices = visitChoicesIn(raw.visits, ['visits']);
      unexplained[pack] = choices.filter((c) => !c.labelled && !(c.path in fromPolicy)).map((c) => c.path);
      // Nothing is both: a policy's choice is not also labelled the school's.
      expect(choices.filter((c) => c.labelled && c.path in fromPolicy)).toEqual([]);
      for (const p of Object.keys(fromPolicy)) expect(choices.map((c) => c.path)).toContain(p);
    }
    expect(unexplained, 'choices neither from the policy nor labelled setBySchool').toEqual(
      Object.fromEntries(Object.keys(POLICY_VISIT_CHOICES).map((pack) => [pack, []])),
    );
    expect(Object.keys(POLICY_VISIT_CHOICES).sort()).toEqual([...packs.keys()].sort());
    // A label taken away is caught: Hampton's and King's assessors, King's approver.
    const unlabelled = (pack: string, section: 'risk' | 'hours', field: string) => {
      const raw = parse(readFileSync(`config/policies/${pack}.yaml`, 'utf8'));
      delete raw.visits[section].setBySchool[field];
      return visitChoicesIn(raw.visits, ['visits'])
        .filter((c) => !c.labelled && !(c.path in POLICY_VISIT_CHOICES[pack]!))
        .map((c) => c.path);
    };
    expect(unlabelled('hampton', 'risk', 'assessedBy')).toEqual(['visits.risk.assessedBy']);
    expect(unlabelled('kings-gomer', 'risk', 'assessedBy')).toEqual(['visits.risk.assessedBy']);
    expect(unlabelled('kings-gomer', 'hours', 'approvable')).toEqual(['visits.hours.approvable']);
    // Whether the one who asked may authorise: written out in every pack that requires authorisation
    // (the schema's default, false, is no policy's), and listed with its clause.
    const unsaid = (raw: { visits?: { authorisation?: Record<string, unknown> } }) => {
      const a = raw.visits?.authorisation;
      return a?.required === true && !('selfAuthorise' in a) ? ['visits.authorisation.selfAuthorise'] : [];
    };
    const required: string[] = [];
    for (const pack of Object.keys(POLICY_VISIT_CHOICES)) {
      const raw = parse(readFileSync(`config/policies/${pack}.yaml`, 'utf8'));
      expect(unsaid(raw), pack).toEqual([]);
      if (raw.visits?.authorisation?.required) required.push(pack);
    }
    expect(required.sort()).toEqual(['kings-gomer', 'lime-hills', 'thames-view']);
    // Packs that ask for no authorisation (Hampton, Heath Lane) write no selfAuthorise: it would do nothing.
    for (const pack of ['hampton', 'heath-lane'])
      expect(rulesOf(pack).authorisation.required, pack).toBe(false);
    // Taken away, it is caught — unsaid, and no longer the policy's choice it is listed as.
    const raw = parse(readFileSync('config/policies/lime-hills.yaml', 'utf8'));
    delete raw.visits.authorisation.selfAuthorise;
    expect(unsaid(raw)).toEqual(['visits.authorisation.selfAuthorise']);
    expect(visitChoicesIn(raw.visits, ['visits']).map((c) => c.path)).not.toContain(
      'visits.authorisation.selfAuthorise',
    );
    // Added to a pack whose policy is not listed for it, it is unexplained.
    const heath = parse(readFileSync('config/policies/heath-lane.yaml', 'utf8'));
    heath.visits.authorisation = { required: true, by: ['safeguarding'], selfAuthorise: false };
    expect(
      visitChoicesIn(heath.visits, ['visits'])
        .filter((c) => !c.labelled && !(c.path in POLICY_VISIT_CHOICES['heath-lane']!))
        .map((c) => c.path),
    ).toEqual(['visits.authorisation.by', 'visits.authorisation.selfAuthorise']);
  });

  it("Heath Lane's vulnerable pupils are the welfare staff's and the VP for attendance's (§4 names both)", () => {
    const vulnerable = packs.get('heath-lane')!.rules.find((r) => r.id === 'vulnerable-absent')!;
    expect(vulnerable.role).toBe('welfare-staff-and-vice-principal-for-attendance');
    expect(
      triggered('heath-lane', pupil({ '2025-11-18': 'N' }, { to: '2025-11-18', flags: { cin: true } })),
    ).toEqual(['vulnerable-absent → home-visit']);
  });

  it("King's 08:00–17:30 and Lime Hills' 08:00–18:00 are school settings, labelled in the pack", () => {
    expect(rulesOf('kings-gomer').hours?.setBySchool).toMatchObject({
      from: expect.stringMatching(/school's setting/),
      to: expect.stringMatching(/school's setting/),
    });
    expect(rulesOf('lime-hills').hours?.setBySchool?.to).toMatch(/school's setting/);
  });

  it('a setBySchool label must name a setting beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'packs-'));
    writeFileSync(
      join(dir, 'x.yaml'),
      'id: x\ntitle: X\nsource: t\nrules: []\nvisits:\n  hours:\n    from: "08:00"\n    to: "17:00"\n    setBySchool:\n      until: "typo"\n',
    );
    expect(() => loadPolicyPacks(dir)).toThrow(
      expect.objectContaining({ details: [expect.stringMatching(/no setting "until" here to label/)] }),
    );
  });
});
