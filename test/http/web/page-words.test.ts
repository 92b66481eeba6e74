import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Words {
  alarmOutcomeSaid: (alarmId: string, outcome: string) => string;
  escalationSaid: (a: {
    level: number | null;
    levelSent: { level: number; of: number; round: number } | null;
  }) => string;
  failedSaid: (f: Record<string, unknown>, time: string) => string;
  connectorName: (c: string) => string;
  syncSaid: (
    job: { state: string },
    made: number | { applied: number; refused: number; again?: number },
    time?: string,
  ) => string;
  fobFeedsSaid: (feeds: unknown) => { ok: boolean; text: string };
  trainingNeeds: (p: Record<string, unknown>) => string | null;
  reachGroups: (
    problems: { kind: string; message: string; warning?: boolean }[],
  ) => { kind: string; warning: boolean; messages: string[]; said: string }[];
}
// The front end's module (plain JS, no DOM).
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as Words;

/** The newcomer walk's small wording faults, each from the words the pages share. */
describe('the pages’ words, as a newcomer read them', () => {
  it('says what became of an alarm once, not "Acknowledged: acknowledged"', () => {
    expect(words.alarmOutcomeSaid('12', 'acknowledged')).toBe('Alarm 12 acknowledged.');
    expect(words.alarmOutcomeSaid('12', 'already-acknowledged')).toBe(
      'Alarm 12 was already acknowledged by someone else.',
    );
    expect(words.alarmOutcomeSaid('12', 'resolved')).toBe('Alarm 12 resolved.');
    const shared = readFileSync('web/assets/board-shared.js', 'utf8');
    expect(shared).not.toMatch(/\$\{done\}: \$\{r\.outcome/);
  });

  it('numbers the level sent within the ladder: never "level 3" of a 2-level ladder', () => {
    expect(words.escalationSaid({ level: null, levelSent: null })).toBe('paused while acknowledged');
    expect(words.escalationSaid({ level: 0, levelSent: null })).toBe('starting');
    expect(words.escalationSaid({ level: 2, levelSent: { level: 2, of: 2, round: 1 } })).toBe(
      'level 2 of 2 sent',
    );
    expect(words.escalationSaid({ level: 3, levelSent: { level: 1, of: 2, round: 2 } })).toBe(
      'level 1 of 2 sent (round 2)',
    );
  });

  it('lists a failed text under Failed deliveries with its alarm', () => {
    expect(
      words.failedSaid(
        {
          what: 'notification',
          id: '7',
          alarmId: '3',
          detail: 'sms:on-call-leaders',
          error: 'FAILED (channels.sms is not configured)',
        },
        '10:02',
      ),
    ).toBe('Alarm 3: sms → on-call-leaders at 10:02: FAILED (channels.sms is not configured)');
    expect(
      words.failedSaid({ what: 'record', id: '4', detail: 'visit_outcome', error: 'HTTP 500' }, '10:03'),
    ).toBe('Record 4 (visit_outcome) at 10:03: HTTP 500');
  });

  it('names the MIS as people say it: "Test MIS connection"', () => {
    expect(`Test ${words.connectorName('mis')} connection`).toBe('Test MIS connection');
    expect(`Test ${words.connectorName('records')} connection`).toBe('Test records connection');
    expect(readFileSync('web/assets/data.js', 'utf8')).not.toContain('`Test ${c} connection`');
  });

  it('says a sync is done once it is, not "queued" for ever', () => {
    expect(words.syncSaid({ state: 'waiting' }, 0)).toMatch(/^Sync queued/);
    expect(words.syncSaid({ state: 'active' }, 0)).toMatch(/^Sync running/);
    expect(words.syncSaid({ state: 'completed' }, 2, '10:31')).toBe(
      'Sync done at 10:31: 2 new imports (below).',
    );
    expect(words.syncSaid({ state: 'completed' }, 0, '10:31')).toBe(
      'Sync done at 10:31: nothing new to import.',
    );
    // The same bytes dropped again are recorded, not applied: never counted as a new import.
    expect(words.syncSaid({ state: 'completed' }, { applied: 0, refused: 0, again: 1 }, '10:31')).toBe(
      'Sync done at 10:31: nothing new to import. 1 file was imported before (the same bytes): not applied again.',
    );
    expect(words.syncSaid({ state: 'failed' }, 0)).toBe(
      'Sync failed: the server’s log says why (a refused file is listed below).',
    );
  });

  it('says of the fob feeds what the board says: down, quiet (or nothing yet), arriving', () => {
    const broker = (b: object | null) => ({ down: [], broker: b });
    expect(words.fobFeedsSaid(null).text).toBe('No fob feed is configured for this school.');
    expect(
      words.fobFeedsSaid({
        down: [{ transport: 'mqtt:0', reason: null, since: '2026-11-30T10:00:00Z' }],
        broker: null,
      }),
    ).toEqual({ ok: false, text: 'Fob alarms from this school are NOT arriving.' });
    expect(words.fobFeedsSaid(broker({ secondsAgo: null, silent: true, thresholdSeconds: 900 }))).toEqual({
      ok: false,
      text: 'No event from the broker yet: fob alarms are not known to arrive.',
    });
    expect(words.fobFeedsSaid(broker({ secondsAgo: 20, silent: false, thresholdSeconds: 900 }))).toEqual({
      ok: true,
      text: 'Every fob feed is arriving.',
    });
    // Messages arriving, every one refused: not "arriving".
    expect(
      words.fobFeedsSaid({
        down: [],
        refusing: [
          { transport: 'webhook:blackline', refused: 3, since: '2026-11-30T10:00:00Z', reason: 'HTTP 401' },
        ],
        broker: null,
      }),
    ).toEqual({
      ok: false,
      text: 'A fob feed is sending messages Doorstep refuses, every one: alarms may not be arriving.',
    });
  });

  it("says what a school's policy asks of those going", () => {
    expect(
      words.trainingNeeds({
        name: 'Heath Lane Academy',
        homeVisitTraining: true,
        firstVisitWithExperienced: true,
      }),
    ).toBe(
      'Heath Lane Academy: home-visit training recorded for everyone going; a first home visit made with someone experienced (a visit made in Doorstep, or experience recorded here).',
    );
    expect(words.trainingNeeds({ name: 'Hampton' })).toBeNull();
  });

  it('groups "Who the ladders reach" by kind of problem, warnings first, each line kept whole', () => {
    const board = (ladder: string) => ({
      kind: 'no-person',
      warning: true,
      message: `escalation.${ladder} reaches no person on any level, only the board`,
    });
    const groups = words.reachGroups([
      { kind: 'no-reports', message: 'sms gives no delivery reports' },
      board('alarm'),
      board('sos'),
      board('weekend.sos'),
    ]);
    expect(groups.map((g) => [g.kind, g.warning, g.said])).toEqual([
      ['no-person', true, '3 ladders tell only the board, never a person'],
      ['no-reports', false, '1 channel gives no delivery reports'],
    ]);
    expect(groups[0]!.messages).toEqual([
      'escalation.alarm reaches no person on any level, only the board',
      'escalation.sos reaches no person on any level, only the board',
      'escalation.weekend.sos reaches no person on any level, only the board',
    ]);
    // Levels that reach no one only because a channel is not set up yet (the example config, a new
    // install): said as what there is to do, still a warning; any other cause keeps the plain words.
    const unset = (target: string, channel: string) => ({
      kind: 'reaches-no-one',
      warning: true,
      message: `escalation.alarm level 1 notifies ${target}, but channels.${channel} is not configured: it reaches no one`,
    });
    const todo = words.reachGroups([unset('sms:on-call-leaders', 'sms'), unset('email:dsl', 'email')]);
    expect(todo.map((g) => [g.warning, g.said])).toEqual([
      [
        true,
        '2 levels reach no one yet: channels.sms and channels.email are not configured — to do: set them up, with the contacts they name',
      ],
    ]);
    expect(words.reachGroups([unset('sms:on-call-leaders', 'sms')])[0]!.said).toBe(
      '1 level reaches no one yet: channels.sms is not configured — to do: set it up, with the contacts it names',
    );
    const typo = {
      kind: 'reaches-no-one',
      warning: true,
      message: 'escalation.alarm level 1 notifies sms:dsls, but there is no contacts.dsls: it reaches no one',
    };
    expect(words.reachGroups([unset('sms:on-call-leaders', 'sms'), typo])[0]!.said).toBe(
      '2 levels reach no one: their notifications will fail',
    );
    // Every kind the checks can report has its words (none falls back to its code).
    const kinds = readFileSync('src/checks/reachability-problem.ts', 'utf8').match(/\| '([a-z-]+)'/g)!;
    for (const k of kinds.map((m) => m.slice(3, -1)))
      expect(words.reachGroups([{ kind: k, message: 'x' }])[0]!.said).not.toContain(k);
  });
});
