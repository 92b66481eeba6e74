import { describe, expect, it } from 'vitest';
import {
  brokenAgreementInput,
  decideBreach,
  parseOutcome,
  type VisitOutcome,
} from '../../../src/domain/visits/agreements.ts';
import { appointmentRecordFor, londonInstant } from '../../../src/domain/visits/appointment.ts';
import { DEFAULT_VISIT_RULES, visitRules } from '../../../src/domain/visits/rules.ts';
import { renderAgreementBroken } from '../../../src/records/templates/agreement-broken.ts';
import { renderVisitAppointment } from '../../../src/records/templates/visit-appointment.ts';

const rules = { reminderLetter: true, attendanceNote: true, followUpVisitAfter: 2 };
const outcome = (broken: VisitOutcome['broken'] = []): VisitOutcome =>
  parseOutcome({
    childSeen: true,
    noOneHome: false,
    agreements: ['in school by 8:45', 'call by 9:00 on any absence'],
    concerns: [],
    followUp: [],
    broken,
  })!;
const breach = (n: number, agreement: number, on: string) => ({
  n,
  agreement,
  on,
  note: 'x',
  recordedBy: '1',
  recordedAt: '2026-11-30T10:00:00.000Z',
});

describe('broken agreements (Thames View 4.2/4.3)', () => {
  it('the first breach asks for a reminder letter and an attendance note; continued failure a follow-up visit', () => {
    const first = decideBreach(
      rules,
      outcome(),
      { agreement: 0, on: '2026-11-30', note: 'late' },
      '2026-11-26',
      '2026-11-30',
    );
    expect(first).toEqual({
      ok: true,
      n: 1,
      steps: { reminderLetter: true, attendanceNote: true, followUpVisit: false },
    });
    const second = decideBreach(
      rules,
      outcome([breach(1, 0, '2026-11-30')]),
      { agreement: 1, on: '2026-11-30', note: 'no call' },
      '2026-11-26',
      '2026-11-30',
    );
    expect(second).toEqual({
      ok: true,
      n: 2,
      steps: { reminderLetter: true, attendanceNote: true, followUpVisit: true },
    });
    // A pack without a follow-up count never asks for a visit; one without letters asks for none.
    expect(
      decideBreach(
        { reminderLetter: false, attendanceNote: true },
        outcome([breach(1, 0, '2026-11-27'), breach(2, 0, '2026-11-28')]),
        { agreement: 0, on: '2026-11-30', note: 'x' },
        '2026-11-26',
        '2026-11-30',
      ),
    ).toEqual({
      ok: true,
      n: 3,
      steps: { reminderLetter: false, attendanceNote: true, followUpVisit: false },
    });
  });

  it('the same agreement broken on the same day is one breach', () => {
    const b = breach(1, 0, '2026-11-30');
    expect(
      decideBreach(
        rules,
        outcome([b]),
        { agreement: 0, on: '2026-11-30', note: 'again' },
        '2026-11-26',
        '2026-11-30',
      ),
    ).toEqual({ ok: true, duplicate: b });
  });

  it('names the field when the agreement or the date cannot be', () => {
    const check = (agreement: number, on: string) =>
      decideBreach(rules, outcome(), { agreement, on, note: 'x' }, '2026-11-26', '2026-11-30');
    expect(check(2, '2026-11-30')).toMatchObject({ ok: false, field: 'agreement' });
    expect(check(0, '2026-12-01')).toMatchObject({ ok: false, field: 'on' });
    expect(check(0, '2026-11-25')).toMatchObject({ ok: false, field: 'on' });
    expect(check(0, '2026-11-26')).toMatchObject({ ok: true, n: 1 });
  });

  it('validates what staff send, field by field', () => {
    expect(brokenAgreementInput.safeParse({ agreement: 0, on: '2026-11-30', note: ' late ' }).data).toEqual({
      agreement: 0,
      on: '2026-11-30',
      note: 'late',
    });
    const bad = (v: unknown) => brokenAgreementInput.safeParse(v).error?.issues[0]?.path.join('.');
    expect(bad({ agreement: -1, on: '2026-11-30', note: 'x' })).toBe('agreement');
    expect(bad({ agreement: 1.5, on: '2026-11-30', note: 'x' })).toBe('agreement');
    expect(bad({ agreement: 0, on: '30/11/2026', note: 'x' })).toBe('on');
    expect(bad({ agreement: 0, on: '2026-11-30', note: '  ' })).toBe('note');
    expect(bad({ agreement: 0, on: '2026-11-30', note: 'x', extra: 1 })).toBe('');
  });

  it('reads a stored outcome (older ones have no breaches) and refuses one that does not fit', () => {
    expect(parseOutcome(null)).toBeNull();
    expect(
      parseOutcome({ childSeen: false, noOneHome: true, agreements: [], concerns: [], followUp: [] })?.broken,
    ).toEqual([]);
    expect(() => parseOutcome({ childSeen: 'yes' })).toThrow(/does not fit/);
  });

  it('the pack setting is checked', () => {
    expect(visitRules.safeParse({ agreements: { followUpVisitAfter: 0 } }).success).toBe(false);
    expect(visitRules.safeParse({ agreements: { reminderLetter: true, extra: 1 } }).success).toBe(false);
    expect(visitRules.parse({ agreements: {} }).agreements).toEqual({
      reminderLetter: false,
      attendanceNote: false,
    });
  });

  it('the attendance note says what was agreed, when it was not kept and what follows', () => {
    const r = renderAgreementBroken({
      visitId: '7',
      visitDate: '2026-11-26',
      pupil: { misId: 'P1', upn: null, name: 'Amelia Okonkwo' },
      agreement: 'in school by 8:45',
      on: '2026-11-30',
      note: 'arrived 9:40',
      n: 2,
      recordedBy: 'Olive Office',
      reminderLetter: true,
      followUpVisitId: '9',
    });
    expect(r.title).toBe('Home visit agreement not kept — P1');
    expect(r.body).toContain('Agreement: in school by 8:45');
    expect(r.body).toContain('Not kept on: 2026-11-30 (breach 2');
    expect(r.body).toContain('Next: a reminder letter to the parents/carers; a follow-up visit (visit 9)');
  });
});

describe('appointment records (Thames View 2.7)', () => {
  const asks = {
    ...DEFAULT_VISIT_RULES,
    appointmentRecords: {},
    authorisation: { ...DEFAULT_VISIT_RULES.authorisation, required: true },
  };
  const at = new Date('2026-11-24T14:30:00Z');

  it('is due once the visit is booked and has its time; then only changes and a cancellation', () => {
    expect(
      appointmentRecordFor(asks, { status: 'requested', appointmentAt: at, recordsWritten: 0 }, 'booked'),
    ).toBeNull();
    expect(
      appointmentRecordFor(asks, { status: 'authorised', appointmentAt: null, recordsWritten: 0 }, 'booked'),
    ).toBeNull();
    expect(
      appointmentRecordFor(asks, { status: 'authorised', appointmentAt: at, recordsWritten: 0 }, 'booked'),
    ).toBe('booked');
    expect(
      appointmentRecordFor(asks, { status: 'authorised', appointmentAt: at, recordsWritten: 0 }, 'changed'),
    ).toBe('booked');
    expect(
      appointmentRecordFor(asks, { status: 'authorised', appointmentAt: at, recordsWritten: 1 }, 'booked'),
    ).toBeNull();
    expect(
      appointmentRecordFor(asks, { status: 'authorised', appointmentAt: at, recordsWritten: 1 }, 'changed'),
    ).toBe('changed');
    expect(
      appointmentRecordFor(asks, { status: 'cancelled', appointmentAt: at, recordsWritten: 0 }, 'cancelled'),
    ).toBeNull();
    expect(
      appointmentRecordFor(asks, { status: 'cancelled', appointmentAt: at, recordsWritten: 2 }, 'cancelled'),
    ).toBe('cancelled');
    // A pack needing no authorisation: booked as soon as it has its time.
    const open = { ...asks, authorisation: { ...asks.authorisation, required: false } };
    expect(
      appointmentRecordFor(open, { status: 'requested', appointmentAt: at, recordsWritten: 0 }, 'booked'),
    ).toBe('booked');
    // A pack that does not ask: never.
    expect(
      appointmentRecordFor(
        DEFAULT_VISIT_RULES,
        { status: 'authorised', appointmentAt: at, recordsWritten: 0 },
        'booked',
      ),
    ).toBeNull();
  });

  it('reads the time as London time, across the clock changes', () => {
    expect(londonInstant('2026-11-24', '14:30')).toEqual(new Date('2026-11-24T14:30:00Z'));
    expect(londonInstant('2026-06-10', '14:30')).toEqual(new Date('2026-06-10T13:30:00Z'));
    expect(londonInstant('2027-03-28', '01:30')).toBeNull(); // the clocks skip it
    expect(londonInstant('2027-03-28', '02:00')).toEqual(new Date('2027-03-28T01:00:00Z'));
    expect(londonInstant('2026-10-25', '01:30')).toEqual(new Date('2026-10-25T00:30:00Z')); // the first of the two
  });

  it('the record has the time, the location and the pupil', () => {
    const r = renderVisitAppointment({
      visitId: '5',
      kind: 'changed',
      n: 2,
      pupil: { misId: 'P1', upn: 'A1', name: 'Amelia Okonkwo' },
      at,
      address: '14 Rosebank Terrace, Leeds, LS6 2QT',
      visitingStaff: [],
      reason: 'attendance',
      previous: { at: null, address: '1 Old Road' },
    });
    expect(r.title).toBe('Home visit appointment CHANGED — P1');
    expect(r.body.split('\n')).toEqual([
      'Home visit appointment CHANGED (visit 5, record 2) for Amelia Okonkwo (P1, UPN A1).',
      'Time: Tue 24 Nov 2026, 14:30',
      'Location: 14 Rosebank Terrace, Leeds, LS6 2QT',
      'Reason: attendance',
      'Staff: not yet named',
      '',
      'Previously: no time at 1 Old Road',
    ]);
  });
});
