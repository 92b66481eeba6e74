import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, visitRulesFor } from '../../../src/config/policy-packs.ts';
import { nextStepOf, policyFor } from '../../../src/domain/escalation/ladder.ts';
import { ROLES_AND_POSITIONS } from '../../../src/domain/roles.ts';
import { departureFindings } from '../../../src/domain/visits/departure-findings.ts';
import { flagMinimum, higherRisk, mayAuthorise, visitRules } from '../../../src/domain/visits/rules.ts';
import { dueVisitAlarms, nextVisitCheck } from '../../../src/domain/visits/watch.ts';
import { configWith } from '../../helpers/config.ts';

const now = new Date('2026-11-23T10:00:00Z');
const facts = (o: Partial<Parameters<typeof departureFindings>[1]> = {}) => ({
  status: 'authorised',
  riskLevel: 'low' as const,
  partner: false,
  safeWord: null,
  londonMinutes: 600,
  expectedReturnAt: new Date(now.getTime() + 3_600_000),
  now,
  ...o,
});
const rules = (o: object) => visitRules.parse(o);
const packs = loadPolicyPacks('config/policies');
const schoolWith = (pack: string) => ({ ...configWith().schools[0]!, policies: ['statutory', pack] });

describe('visit rules from the policy packs', () => {
  it('read each school policy as written', () => {
    expect(visitRulesFor(schoolWith('lime-hills'), packs)).toMatchObject({
      // "(THIS INCLUDES THE PRINCIPAL)": the Principal authorises (and so sets the risk) as the team does.
      authorisation: { required: true, by: ['safeguarding', 'headteacher'] },
      risk: { assessedBy: ['safeguarding', 'headteacher'], at: 'authorisation' },
      safeWord: 'required',
      hours: { from: '08:00', to: '18:00', mode: 'recommend' },
    });
    expect(visitRulesFor(schoolWith('kings-gomer'), packs).authorisation.by).toEqual([
      'dsl',
      'associate-head',
    ]);
    expect(visitRulesFor(schoolWith('thames-view'), packs)).toMatchObject({
      // 3.3 names the Headteacher alone: a visit they asked for is on the list they sign.
      authorisation: { mode: 'daily-list', by: ['headteacher'], selfAuthorise: true },
      // 2.6 "never enter the home of a pupil unless an appointment has been made".
      appointments: { required: true, noAnswerAfterMinutes: 20, lateCancelAfterMinutes: 30 },
      risk: { assessedBy: ['business-manager'], at: 'separate' },
      pairs: 'always',
      checkInMinutes: 20,
    });
    expect(visitRulesFor(schoolWith('hampton'), packs)).toMatchObject({
      pairs: 'always',
      refuseAtRisk: 'major',
    });
    expect(visitRulesFor(schoolWith('heath-lane'), packs)).toMatchObject({
      pairs: 'when-risk',
      refuseAtRisk: 'major',
      risk: { at: 'separate' },
      competence: { homeVisitTraining: true, firstVisitWithExperienced: true },
    });
    expect(visitRulesFor(schoolWith('kings-gomer'), packs).competence.safeguardingTrainedMember).toBe(true);
  });
});

describe('departure findings', () => {
  it('block what the policy forbids and only warn where it says "wherever possible"', () => {
    expect(departureFindings(rules({}), facts())).toEqual([]);
    const blocks = (r: object, f: object) =>
      departureFindings(rules(r), facts(f)).map((x) => `${x.level}:${x.rule}`);
    expect(blocks({ authorisation: { required: true, by: ['dsl'] } }, { status: 'requested' })).toEqual([
      'block:authorisation',
    ]);
    expect(blocks({}, { status: 'requested' })).toEqual([]);
    expect(blocks({ pairs: 'always' }, {})).toEqual(['block:pairs']);
    expect(blocks({ pairs: 'when-risk' }, {})).toEqual([]);
    expect(blocks({ pairs: 'when-risk' }, { riskLevel: 'minor' })).toEqual(['block:pairs']);
    expect(blocks({ pairs: 'where-possible' }, {})).toEqual(['warn:pairs']);
    expect(
      blocks({ refuseAtRisk: 'major', pairs: 'when-risk' }, { riskLevel: 'major', partner: true }),
    ).toEqual(['block:risk']);
    expect(blocks({ safeWord: 'required' }, { safeWord: '  ' })).toEqual(['block:safe-word']);
    expect(blocks({ hours: { from: '08:00', to: '18:00' } }, { londonMinutes: 18 * 60 })).toEqual([
      'block:hours',
    ]);
    expect(blocks({ hours: { from: '08:00', to: '18:00' } }, { londonMinutes: 17 * 60 + 59 })).toEqual([]);
    // "Working hours only unless approved" (Gomer) versus "no evening visits" (Lime Hills).
    const late = { londonMinutes: 19 * 60, outOfHoursApproved: true };
    expect(blocks({ hours: { from: '08:00', to: '17:30', approvable: true } }, late)).toEqual([]);
    expect(blocks({ hours: { from: '08:00', to: '18:00' } }, late)).toEqual(['block:hours']);
    // Lime Hills only recommends: outside the hours needs the authoriser's approval, then warns.
    const lime = { hours: { from: '08:00', to: '18:00', mode: 'recommend' } };
    expect(blocks(lime, { londonMinutes: 19 * 60 })).toEqual(['block:hours']);
    expect(blocks(lime, late)).toEqual(['warn:hours']);
    // The whole visit is checked: leaving at 17:00 and back at 18:30 is outside.
    expect(
      blocks(
        { hours: { from: '08:00', to: '18:00' } },
        { londonMinutes: 17 * 60, returnLondonMinutes: 18 * 60 + 30 },
      ),
    ).toEqual(['block:hours']);
    expect(blocks({}, { expectedReturnAt: now })).toEqual(['block:expected-return']);
  });

  it('leave on the day planned (London), and with an appointment where the pack asks for one', () => {
    const blocks = (r: object, f: object) =>
      departureFindings(rules(r), facts(f)).map((x) => `${x.level}:${x.rule}`);
    expect(blocks({}, { plannedFor: '2026-11-23' })).toEqual([]);
    expect(blocks({}, { plannedFor: '2026-11-24' })).toEqual(['block:planned-date']);
    expect(blocks({}, { plannedFor: '2026-11-22' })).toEqual(['block:planned-date']);
    const [f] = departureFindings(rules({}), facts({ plannedFor: '2026-11-24' }));
    expect(f!.message).toMatch(/^the visit is planned for 2026-11-24, not today \(2026-11-23\)/);
    // London's date, not UTC's: 23:30 UTC on 31 May is 00:30 on 1 June in London.
    const lateMay = new Date('2026-05-31T23:30:00Z');
    const at = (plannedFor: string) =>
      blocks({}, { plannedFor, now: lateMay, expectedReturnAt: new Date(lateMay.getTime() + 3_600_000) });
    expect(at('2026-06-01')).toEqual([]);
    expect(at('2026-05-31')).toEqual(['block:planned-date']);
    const thames = { appointments: { required: true, noAnswerAfterMinutes: 20 } };
    expect(blocks(thames, { appointmentAt: null })).toEqual(['block:appointment']);
    expect(blocks(thames, { appointmentAt: now })).toEqual([]);
    expect(blocks({ appointments: { noAnswerAfterMinutes: 20 } }, { appointmentAt: null })).toEqual([]);
  });

  it('bound the expected return to 4 hours after leaving, and read a return on a later London day as outside the hours', () => {
    const blocks = (r: object, f: object) =>
      departureFindings(rules(r), facts(f)).map((x) => `${x.level}:${x.rule}`);
    const ahead = (m: number) => new Date(now.getTime() + m * 60_000);
    expect(blocks({}, { expectedReturnAt: ahead(240) })).toEqual([]);
    expect(blocks({}, { expectedReturnAt: ahead(241) })).toEqual(['block:expected-return']);
    // Hampton, back "in a week": nothing would watch the worker for a week.
    const week = departureFindings(rules({}), facts({ expectedReturnAt: new Date('2026-11-30T11:00:00Z') }));
    expect(week).toEqual([
      {
        level: 'block',
        rule: 'expected-return',
        message: expect.stringMatching(
          /11:00 on 2026-11-30 is too far ahead: expected a time after 10:00 and no later than 14:00/,
        ),
      },
    ]);
    // King's Gomer (08:00–17:30): leaving at 09:00, back "tomorrow 10:00" — the minutes alone read as inside.
    const gomer = { hours: { from: '08:00', to: '17:30', approvable: true } };
    const nine = new Date('2026-11-23T09:00:00Z');
    const tomorrow = departureFindings(
      rules(gomer),
      facts({
        now: nine,
        londonMinutes: 540,
        returnLondonMinutes: 600,
        expectedReturnAt: new Date('2026-11-24T10:00:00Z'),
      }),
    ).map((x) => `${x.level}:${x.rule}`);
    expect(tomorrow).toContain('block:hours');
    const sameDay = departureFindings(
      rules(gomer),
      facts({
        now: nine,
        londonMinutes: 540,
        returnLondonMinutes: 600,
        expectedReturnAt: new Date('2026-11-23T10:00:00Z'),
      }),
    );
    expect(sameDay).toEqual([]);
  });

  it('check what the pack asks of the people going and of the risk assessment', () => {
    const blocks = (r: object, f: object) =>
      departureFindings(rules(r), facts(f)).map((x) => `${x.level}:${x.rule}`);
    const trained = { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 3 };
    const novice = { homeVisitTrained: true, safeguardingTrained: false, visitsMade: 0 };
    const heath = { competence: { homeVisitTraining: true, firstVisitWithExperienced: true } };
    expect(blocks(heath, { staff: [novice] })).toEqual(['block:experience']);
    expect(blocks(heath, { staff: [novice, trained] })).toEqual([]);
    expect(blocks(heath, { staff: [{ ...trained, homeVisitTrained: false }] })).toEqual(['block:training']);
    const kings = { competence: { safeguardingTrainedMember: true } };
    expect(blocks(kings, { staff: [trained, novice] })).toEqual(['block:safeguarding-training']);
    expect(blocks(kings, { staff: [trained, { ...novice, safeguardingTrained: true }] })).toEqual([]);
    expect(blocks({ risk: { at: 'separate' } }, { riskAssessed: false })).toEqual(['block:risk-assessment']);
    expect(blocks({ risk: { at: 'separate' } }, { riskAssessed: true })).toEqual([]);
    expect(blocks({ checkInMinutes: 20 }, { checkInMinutes: 30 })).toEqual(['block:check-in']);
    expect(blocks({ checkInMinutes: 20 }, { checkInMinutes: 15 })).toEqual([]);
    expect(blocks({}, { phone: false })).toEqual(['block:phone']);
    expect(blocks({ requires: { fob: true } }, { fob: false })).toEqual(['block:fob']);
    expect(blocks({ requires: { vehicle: true } }, { vehicle: false })).toEqual(['block:vehicle']);
    // The estimated arrival: asked for where the pack says so; given, between now and the return.
    const arrival = { requires: { arrivalEstimate: true } };
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
    expect(blocks(arrival, { estimatedArrivalAt: null })).toEqual(['block:arrival-estimate']);
    expect(blocks(arrival, { estimatedArrivalAt: at(20) })).toEqual([]);
    expect(blocks({}, { estimatedArrivalAt: null })).toEqual([]);
    // "Now", typed a few minutes before the form is sent, has not passed; a quarter of an hour ago has.
    expect(blocks({}, { estimatedArrivalAt: at(-4) })).toEqual([]);
    expect(blocks({}, { estimatedArrivalAt: at(-15) })).toEqual(['block:arrival-estimate']);
    expect(blocks({}, { estimatedArrivalAt: at(24 * 60) })).toEqual(['block:arrival-estimate']);
  });

  it('raise the risk level for a flagged address', () => {
    expect(flagMinimum([{ level: 'dangerous' }])).toBe('major');
    expect(flagMinimum([{ level: 'caution' }])).toBe('minor');
    expect(flagMinimum([])).toBe('low');
    expect(higherRisk('low', 'major')).toBe('major');
    expect(higherRisk('minor', 'low')).toBe('minor');
  });

  it('let the roles and positions the policy names authorise', () => {
    const r = rules({ authorisation: { required: true, by: ['dsl', 'associate-head'] } });
    expect(mayAuthorise(r, ['safeguarding'])).toBe(false);
    expect(mayAuthorise(r, ['safeguarding', 'dsl'])).toBe(true);
    // Admin is not an authoriser unless it also holds the named role or position.
    expect(mayAuthorise(r, ['admin'])).toBe(false);
    expect(mayAuthorise(r, ['admin', 'associate-head'])).toBe(true);
    expect(mayAuthorise(rules({}), ['safeguarding'])).toBe(true);
    expect(mayAuthorise(rules({}), ['office'])).toBe(false);
  });
});

describe('what the visit watcher owes', () => {
  const departedAt = new Date('2026-11-23T10:00:00Z');
  const v = {
    id: '7',
    status: 'departed',
    departedAt,
    returnedAt: null,
    arrivedAt: null,
    expectedReturnAt: new Date('2026-11-23T11:00:00Z'),
    lastCheckInAt: null,
    checkInMinutes: 20,
  };
  const at = (min: number) => new Date(departedAt.getTime() + min * 60_000);
  const r = rules({ checkInGraceMinutes: 2, overdueGraceMinutes: 0 });

  it('a missed check-in after interval + grace, keyed by the check-in it missed', () => {
    expect(dueVisitAlarms(v, r, at(21))).toEqual([]);
    expect(dueVisitAlarms(v, r, at(22))).toEqual([
      {
        type: 'missed_check_in',
        dedupKey: 'visit:7:missed-check-in:2026-11-23T10:20:00.000Z',
        dueAt: at(22),
      },
    ]);
    const checked = { ...v, lastCheckInAt: at(21) };
    expect(dueVisitAlarms(checked, r, at(30))).toEqual([]);
    expect(nextVisitCheck(checked, r, at(30))).toEqual(at(43));
  });

  it('overdue once the expected return passes, keyed by that return time; nothing once back safe', () => {
    const out = dueVisitAlarms({ ...v, checkInMinutes: null }, r, at(60));
    expect(out).toEqual([
      { type: 'overdue_visit', dedupKey: 'visit:7:overdue:2026-11-23T11:00:00.000Z', dueAt: at(60) },
    ]);
    // Running late: a new return time re-arms the overdue alarm under a new key.
    const late = { ...v, checkInMinutes: null, expectedReturnAt: at(90) };
    expect(dueVisitAlarms(late, r, at(60))).toEqual([]);
    expect(nextVisitCheck(late, r, at(60))).toEqual(at(90));
    expect(dueVisitAlarms({ ...v, status: 'returned', returnedAt: at(50) }, r, at(600))).toEqual([]);
    // An outcome recorded, or a cancellation, while out does not end the watch.
    expect(dueVisitAlarms({ ...v, checkInMinutes: null, status: 'cancelled' }, r, at(60))).toHaveLength(1);
  });

  it('an arrival check-in where the policy asks for one, with its own deadline', () => {
    const thames = rules({ checkInMinutes: 20, arrivalCheckInMinutes: 15 });
    expect(dueVisitAlarms(v, thames, at(15))).toEqual([
      { type: 'missed_check_in', dedupKey: 'visit:7:arrival', dueAt: at(15) },
    ]);
    const arrived = { ...v, arrivedAt: at(10) };
    expect(dueVisitAlarms(arrived, thames, at(29))).toEqual([]);
    expect(nextVisitCheck(arrived, thames, at(29))).toEqual(at(30));
  });

  it('a check-in on the way there is no arrival: the arrival call stays owed until "I have arrived", the check-in clock running from the check-in', () => {
    const thames = rules({ checkInMinutes: 20, arrivalCheckInMinutes: 20 });
    // "Check in: I am safe" pressed 5 minutes after leaving, still on the road.
    const onTheRoad = { ...v, lastCheckInAt: at(5) };
    expect(nextVisitCheck(onTheRoad, thames, at(6))).toEqual(at(20));
    expect(dueVisitAlarms(onTheRoad, thames, at(20))).toEqual([
      { type: 'missed_check_in', dedupKey: 'visit:7:arrival', dueAt: at(20) },
    ]);
    // Still no arrival and nothing heard since: the check-in it owes too.
    expect(dueVisitAlarms(onTheRoad, thames, at(25)).map((d) => d.dedupKey)).toEqual([
      'visit:7:arrival',
      'visit:7:missed-check-in:2026-11-23T10:25:00.000Z',
    ]);
    // A check-in once the call is missed answers its alarm, as it answers a missed check-in (raised
    // first or not): the check-ins count from it.
    const late = { ...onTheRoad, lastCheckInAt: at(21) };
    expect(dueVisitAlarms(late, thames, at(40))).toEqual([]);
    expect(nextVisitCheck(late, thames, at(40))).toEqual(at(41));
    // Arrived at 15 minutes: nothing owed; the check-ins count from the arrival.
    const arrived = { ...onTheRoad, arrivedAt: at(15) };
    expect(dueVisitAlarms(arrived, thames, at(34))).toEqual([]);
    expect(nextVisitCheck(arrived, thames, at(34))).toEqual(at(35));
  });

  it('every other pack asks for no arrival call: a check-in before arriving owes none, and the check-ins count from it', () => {
    const asking = [...packs.values()].filter((p) => p.visits?.arrivalCheckInMinutes).map((p) => p.id);
    expect(asking).toEqual(['thames-view']);
    const onTheRoad = { ...v, lastCheckInAt: at(5) };
    expect(dueVisitAlarms(onTheRoad, r, at(26))).toEqual([]);
    expect(dueVisitAlarms(onTheRoad, r, at(27)).map((d) => d.dedupKey)).toEqual([
      'visit:7:missed-check-in:2026-11-23T10:25:00.000Z',
    ]);
  });

  it('a fob that has gone silent for the school’s set time, counted from its last event (or the departure)', () => {
    const fob = { lastEventAt: at(10), silentMinutes: 30 };
    const quiet = { ...v, checkInMinutes: null, expectedReturnAt: at(300), fob };
    expect(dueVisitAlarms(quiet, r, at(39))).toEqual([]);
    expect(dueVisitAlarms(quiet, r, at(40))).toEqual([
      { type: 'device_silent', dedupKey: 'visit:7:device-silent:2026-11-23T10:10:00.000Z', dueAt: at(40) },
    ]);
    expect(nextVisitCheck({ ...quiet, fob: { lastEventAt: null, silentMinutes: 30 } }, r, at(1))).toEqual(
      at(30),
    );
  });

  it("uses Doorstep's own overdue ladder where the school's policy gives none, with a prompt for every step", () => {
    const p = policyFor({}, 'overdue_visit');
    expect(p.source).toMatch(/Doorstep's own default/);
    expect(p.condition).toBe('if-not-resolved');
    expect(p.levels.map((l) => l.afterMinutes)).toEqual([0, 15, 15, 10, 10, 10]);
    expect(p.levels[1]!.notify).toContain('sms:visiting-staff');
    expect(nextStepOf(p, 5)?.prompt).toMatch(/police/i);
    // No ladder ends in silence: past its last level, the last level repeats.
    expect(nextStepOf(p, 6)?.prompt).toMatch(/police/i);
    expect(policyFor({}, 'missed_check_in').levels[0]!.notify).toContain('sms:visiting-staff');
  });
});

describe('who a policy pack names', () => {
  it('is a role or a position an account can hold, or the pack is refused (a step nobody may take blocks every visit)', () => {
    const packs = loadPolicyPacks('config/policies');
    for (const pack of packs.values()) {
      const v = pack.visits;
      for (const who of [...(v?.authorisation.by ?? []), ...(v?.risk.assessedBy ?? [])])
        expect(ROLES_AND_POSITIONS as readonly string[]).toContain(who);
    }
    expect(() => visitRules.parse({ risk: { assessedBy: ['bursar'] } })).toThrow(
      /expected a role or position an account can hold/,
    );
    expect(() => visitRules.parse({ authorisation: { by: ['deputy-headteacher'] } })).toThrow(
      /expected a role or position an account can hold/,
    );
  });
});
