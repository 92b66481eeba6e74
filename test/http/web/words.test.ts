import { describe, expect, it } from 'vitest';

interface Words {
  count: (n: number, one: string, many?: string) => string;
  outcomeSaid: (
    sinks: string[] | undefined,
    concerns?: { typed: boolean; told: boolean },
  ) => string | { text: string; alert: boolean };
  daySaid: (at: Date) => string;
  foldTold: (
    n: { at: string; target: string; delivery: string; deliveryText: string }[],
  ) => { firstAt: string; lastAt: string; count: number; target: string }[];
  failedSaid: (f: Record<string, unknown>, time: string) => string;
  recordsFailedSaid: (bySink: Record<string, number> | undefined) => string | null;
  foldFailed: (
    f: {
      what: string;
      id: string;
      detail: string;
      error: string | null;
      at: string;
      alarmId: string | null;
    }[],
  ) => { what: string; id: string; count: number; firstAt: string; lastAt: string }[];
}
// The front end's module (plain JS, no DOM).
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as Words;

describe('the pages’ plain words', () => {
  it('counts in the singular for one', () => {
    expect(words.count(1, 'account')).toBe('1 account');
    expect(words.count(0, 'account')).toBe('0 accounts');
    expect(words.count(12, 'account')).toBe('12 accounts');
    expect(words.count(2, 'child', 'children')).toBe('2 children');
  });

  it('says what did not get through on the board: a record, an alarm’s notification, a notice to named people', () => {
    expect(
      words.failedSaid({ what: 'record', id: '7', detail: 'visit_outcome', error: 'HTTP 422' }, '10:02'),
    ).toBe('Record 7 (visit_outcome) at 10:02: HTTP 422');
    expect(
      words.failedSaid(
        { what: 'notice', id: '9', detail: 'child-not-seen:email:dsl', error: 'SMTP 535', visitId: '41' },
        '10:03',
      ),
    ).toBe('Notice (child not seen) of visit 41 → email:dsl at 10:03: SMTP 535');
  });

  it('says on the board how many records failed to reach which sink, and who acts on them', () => {
    expect(words.recordsFailedSaid({})).toBeNull();
    expect(words.recordsFailedSaid(undefined)).toBeNull();
    expect(words.recordsFailedSaid({ cpoms: 1 })).toBe(
      '1 record failed to reach CPOMS and is not sent: the data manager retries or dismisses it on the Data page.',
    );
    expect(words.recordsFailedSaid({ 'arbor-pastoral': 2, cpoms: 1 })).toBe(
      '3 records failed to reach Arbor and CPOMS and are not sent: the data manager retries or dismisses them on the Data page.',
    );
  });

  it('folds failed deliveries as an alarm card folds its Told lines: one line per message, people and outcome, newest first', () => {
    const sms = (id: string, at: string, error = 'FAILED (no "sms" channel is configured)') => ({
      what: 'notification',
      id,
      detail: 'sms:on-call-leaders',
      error,
      at,
      alarmId: '19',
    });
    // Newest first, as the server sends them: four rounds of one text, one of them failing otherwise.
    const failed = [
      sms('n4', '2026-12-03T17:29:00Z'),
      { ...sms('n9', '2026-12-03T17:28:00Z'), detail: 'email:dsl' },
      sms('n3', '2026-12-03T17:27:00Z'),
      sms('n2', '2026-12-03T17:25:00Z', 'FAILED (HTTP 503)'),
      sms('n1', '2026-12-03T17:23:00Z'),
      // Two records of one kind are two messages, never folded.
      {
        what: 'record',
        id: '7',
        detail: 'visit_outcome',
        error: 'HTTP 422',
        at: '2026-12-03T17:20:00Z',
        alarmId: null,
      },
      {
        what: 'record',
        id: '8',
        detail: 'visit_outcome',
        error: 'HTTP 422',
        at: '2026-12-03T17:21:00Z',
        alarmId: null,
      },
    ];
    const lines = words.foldFailed(failed);
    expect(lines.map((l) => [l.id, l.count, l.firstAt.slice(11, 16), l.lastAt.slice(11, 16)])).toEqual([
      ['n3', 2, '17:27', '17:29'],
      ['n9', 1, '17:28', '17:28'],
      ['n2', 1, '17:25', '17:25'],
      ['n1', 1, '17:23', '17:23'],
      ['8', 1, '17:21', '17:21'],
      ['7', 1, '17:20', '17:20'],
    ]);
    expect(words.failedSaid(lines[0]!, '17:27–17:29')).toBe(
      'Alarm 19: sms → on-call-leaders at 17:27–17:29: FAILED (no "sms" channel is configured) (2 times)',
    );
  });

  it("says the board's day in words, in London (23:30 UTC in summer is the next day there)", () => {
    expect(words.daySaid(new Date('2026-12-01T10:00:00Z'))).toBe('Tuesday 1 December 2026');
    expect(words.daySaid(new Date('2026-06-30T23:30:00Z'))).toBe('Wednesday 1 July 2026');
  });

  it('says a visit outcome is on its way only when a sink really sends it', () => {
    expect(words.outcomeSaid(['preview'])).toMatch(/in preview: nothing is sent to CPOMS yet/);
    expect(words.outcomeSaid(['preview'])).not.toMatch(/on its way/);
    // Said to the staff who made the visit, who cannot open the Data page: who can see the note.
    expect(words.outcomeSaid(['preview'])).toMatch(
      /Your data manager can see the note that would be sent, on the Data page\.$/,
    );
    expect(words.outcomeSaid(['preview'])).not.toMatch(/the Data page shows/);
    expect(words.outcomeSaid([])).not.toMatch(/on its way/);
    expect(words.outcomeSaid(['cpoms'])).toBe('Outcome recorded: the record is on its way to CPOMS.');
    expect(words.outcomeSaid(['preview', 'arbor-pastoral'])).toBe(
      'Outcome recorded: the record is on its way to Arbor.',
    );
  });

  it("says loudly that an outcome's concerns reach no one where the school names no one for concerns", () => {
    expect(words.outcomeSaid(['preview'], { typed: true, told: false })).toEqual({
      text: expect.stringMatching(
        /in preview.*Its concerns reach no one: the school names no one to be told of a concern — phone the DSL now\.$/,
      ),
      alert: true,
    });
    expect(words.outcomeSaid(['cpoms'], { typed: true, told: true })).toBe(
      'Outcome recorded: the record is on its way to CPOMS.',
    );
    expect(words.outcomeSaid(['cpoms'], { typed: false, told: false })).toBe(
      'Outcome recorded: the record is on its way to CPOMS.',
    );
  });

  it("folds an alarm's repeated notifications (the same target, the same outcome) into one line with its times and count", () => {
    const failed = (at: string) => ({
      at,
      target: 'sms:on-call-leaders',
      delivery: 'failed',
      deliveryText: 'FAILED (no "sms" channel is configured)',
    });
    const board = { at: '2026-12-03T07:56:00Z', target: 'board', delivery: 'sent', deliveryText: 'shown' };
    const lines = words.foldTold([
      board,
      failed('2026-12-03T07:56:00Z'),
      failed('2026-12-03T08:01:00Z'),
      failed('2026-12-03T08:21:00Z'),
    ]);
    expect(lines.map((l) => [l.target, l.count, l.firstAt, l.lastAt])).toEqual([
      ['board', 1, '2026-12-03T07:56:00Z', '2026-12-03T07:56:00Z'],
      ['sms:on-call-leaders', 3, '2026-12-03T07:56:00Z', '2026-12-03T08:21:00Z'],
    ]);
    // A different outcome for the same target stays its own line.
    expect(
      words.foldTold([
        failed('2026-12-03T07:56:00Z'),
        { ...failed('2026-12-03T08:01:00Z'), delivery: 'sent', deliveryText: 'sent' },
      ]),
    ).toHaveLength(2);
  });
});
