import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { ladderReachability, reachesAPerson } from '../../src/checks/reachability.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { watchOnlyOnBoard } from '../../src/domain/visits/office-line.ts';
import { watchNow } from '../../src/visits/watch-reach.ts';
import { visitSchoolsConfig } from '../helpers/visits.ts';

/**
 * Found on a newcomer's walk: on a weekend, a lone worker leaving was told "Departure recorded: the
 * office knows where you are." (and after running late "…recorded: the office knows.") while
 * `doorstep check` said the weekend overdue-visit ladder "reaches no person on any level, only the
 * board" — its first level texted groups over an SMS channel the school had not configured. Whether a
 * first level reaches a person is now the check's own test (`reachesAPerson`): a channel not
 * configured, a group empty or with nobody it can reach is the board alone, and the page says so.
 */
const SMS = `    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`;
/** The example config's weekend ladder: the board, and texts to the on-call and senior leaders. */
const WEEKEND = `    outOfHoursPhone: "07700 900123"
    escalationHours:
      weekend:
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders, sms:senior-leadership] }] }
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders, sms:senior-leadership] }] }
`;
const lime = (extra: string): SchoolConfig =>
  visitSchoolsConfig(extra, { SMS_TOKEN: 'tok' }).schools.find((s) => s.id === 'lime')!;
const withContacts = (s: SchoolConfig, contacts: SchoolConfig['contacts']): SchoolConfig => ({
  ...s,
  contacts: { ...s.contacts, ...contacts },
});
// Saturday 11:00, back by 12:00, checking in.
const saturday = new Date('2026-11-28T11:00:00Z');
const watch = { overdueAt: new Date('2026-11-28T12:15:00Z'), checkIns: true, fobSilent: false };
const noPerson = (s: SchoolConfig) =>
  ladderReachability(s)
    .filter((p) => p.kind === 'no-person')
    .map((p) => p.message);

describe('"the office knows" only where the check says a person is reached', () => {
  it('the domain: a first level whose texts reach no one is the board alone', () => {
    const weekendLadder = { levels: [{ notify: ['board', 'sms:on-call-leaders', 'sms:senior-leadership'] }] };
    expect(watchOnlyOnBoard('weekend', [weekendLadder], () => false)).toBe(true);
    expect(watchOnlyOnBoard('weekend', [weekendLadder], (t) => t === 'sms:senior-leadership')).toBe(false);
    // The people on the visit are the ones not heard from, whatever reaches them.
    expect(
      watchOnlyOnBoard('weekend', [{ levels: [{ notify: ['board', 'sms:visiting-staff'] }] }], () => true),
    ).toBe(true);
  });

  it('no SMS channel configured: the weekend watch is the office’s screen alone, as `doorstep check` says', () => {
    const school = lime(WEEKEND);
    expect(noPerson(school)).toEqual(
      expect.arrayContaining([
        'escalationHours.weekend.overdue-visit reaches no person on any level, only the board',
        'escalationHours.weekend.missed-check-in reaches no person on any level, only the board',
      ]),
    );
    expect(reachesAPerson(school, 'sms:on-call-leaders')).toBe(false);
    expect(watchNow(school, saturday, watch)).toEqual({
      watchOnlyOnBoard: true,
      office: { phone: '07700 900123', label: 'Call the on-call number' },
    });
  });

  it('an SMS channel but groups nobody in which has a phone number, or empty: the screen alone', () => {
    const noPhones = withContacts(lime(SMS + WEEKEND), {
      'on-call-leaders': [{ name: 'Head', email: 'head@lime.example' }],
      'senior-leadership': [],
    } as SchoolConfig['contacts']);
    expect(noPerson(noPhones)).toContain(
      'escalationHours.weekend.overdue-visit reaches no person on any level, only the board',
    );
    expect(watchNow(noPhones, saturday, watch).watchOnlyOnBoard).toBe(true);
  });

  it('an SMS channel and a group with a phone number: the office knows', () => {
    const texted = lime(SMS + WEEKEND);
    expect(noPerson(texted).filter((m) => m.startsWith('escalationHours.weekend'))).toEqual([]);
    expect(watchNow(texted, saturday, watch).watchOnlyOnBoard).toBe(false);
    // One of the two groups reachable is enough.
    const one = withContacts(texted, { 'on-call-leaders': [] } as SchoolConfig['contacts']);
    expect(watchNow(one, saturday, watch).watchOnlyOnBoard).toBe(false);
  });

  it('a push nobody turned alarms on for reaches no one, when the store says so', () => {
    const vapid = webpush.generateVAPIDKeys();
    const pushed = visitSchoolsConfig(
      `    channels:
      push: { publicKey: ${vapid.publicKey}, privateKey: "\${K}", subject: "mailto:it@lime.example" }
    escalationHours:
      weekend:
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, push:office-staff] }] }
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, push:office-staff] }] }
`,
      { K: vapid.privateKey },
    ).schools.find((s) => s.id === 'lime')!;
    expect(
      watchNow(pushed, saturday, watch, { pushOptedIn: new Map([['office-staff', 0]]) }).watchOnlyOnBoard,
    ).toBe(true);
    expect(
      watchNow(pushed, saturday, watch, { pushOptedIn: new Map([['office-staff', 2]]) }).watchOnlyOnBoard,
    ).toBe(false);
  });

  it('a group whose only phone (or e-mail address) is someone on the visit reaches no one for that visit', () => {
    // The weekend ladder texts the on-call leaders (the Head, +447700900001) and senior leadership
    // (the Chair, +447700900002). No alarm message goes to the people on the visit (`notAboutThem`).
    const texted = lime(SMS + WEEKEND);
    const about = (phones: string[], emails: string[] = []) => ({
      about: { userIds: ['7'], phones, emails },
    });
    // The Head on the visit, their number typed as people type it: the Chair is still texted.
    expect(reachesAPerson(texted, 'sms:on-call-leaders', about(['07700 900001']))).toBe(false);
    expect(reachesAPerson(texted, 'sms:senior-leadership', about(['07700 900001']))).toBe(true);
    expect(watchNow(texted, saturday, watch, about(['07700 900001'])).watchOnlyOnBoard).toBe(false);
    // The Head leading and the Chair the partner (or the number the visit left with): no one else.
    expect(
      watchNow(texted, saturday, watch, about(['+44 7700 900001', '+447700900002'])).watchOnlyOnBoard,
    ).toBe(true);
    // Without a visit (`doorstep check`, the data page): no one is left out.
    expect(reachesAPerson(texted, 'sms:on-call-leaders')).toBe(true);
    // An e-mail group: the same, its addresses read as the e-mail channel reads them.
    const mailed = withContacts(
      lime(
        `    channels:
      email: { smtpUrl: "smtp://127.0.0.1:2525", from: alarms@lime.example }
`,
      ),
      { dsl: [{ name: 'DSL', email: 'DSL@lime.example' }] } as SchoolConfig['contacts'],
    );
    expect(reachesAPerson(mailed, 'email:dsl', about([], [' dsl@lime.example']))).toBe(false);
    expect(reachesAPerson(mailed, 'email:dsl', about([], ['head@lime.example']))).toBe(true);
  });
});
