import { describe, expect, it } from 'vitest';
import { isWarning, ladderReachability } from '../../src/checks/reachability.ts';
import { configProblems, configWith, MINIMAL_SCHOOL } from '../helpers/config.ts';

/**
 * Duress and silent alarms are raised so that no one in the room sees them: never posted to Teams,
 * Google Chat or a webhook, whose readers (the wearer, the people on the visit) cannot be left out.
 */
const TEAMS = '    channels:\n      teams: { url: "${TEAMS}" }\n';
const env = { TEAMS: 'https://example.webhook.office.com/webhookb2/abc' };
const ladder = (kind: string, level2: string) => `      ${kind}:
        levels:
          - { afterMinutes: 0, notify: [board, sms:on-call-leaders] }
          - { afterMinutes: 2, notify: [${level2}] }
`;

describe('a duress or silent ladder that posts to a shared room', () => {
  it('is refused when the config is read, naming the ladder and level', () => {
    const problems = configProblems(
      `${MINIMAL_SCHOOL}${TEAMS}    escalation:\n${ladder('duress', 'board, teams')}${ladder('silent', 'google-chat, webhook')}`,
      env,
    );
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(
      /^schools\[0\]\.escalation\.duress\.levels\[1\]\.notify\[1\] \(line \d+\): teams on the duress ladder's level 2 posts a duress alarm to a shared room or system, which cannot leave out the wearer and the people on their visit/,
    );
    expect(problems[1]).toContain("google-chat on the silent ladder's level 2 posts a silent alarm");
    expect(problems[2]).toContain("webhook on the silent ladder's level 2");
    // Under escalationHours too.
    expect(
      configProblems(
        `${MINIMAL_SCHOOL}${TEAMS}    escalationHours:\n      weekend:\n  ${ladder('duress', 'teams').replace(/\n(?=.)/g, '\n  ')}`,
        env,
      )[0],
    ).toContain("teams on the duress ladder's level 2");
  });

  it('any other ladder may post there; duress and silent alarms that follow it are warned of by doorstep check', () => {
    const school = configWith({
      env,
      school: `${TEAMS}    escalation:\n${ladder('alarm', 'board, teams')}${ladder('silent', 'sms:on-call-leaders')}    contacts:\n      on-call-leaders: [{ name: Head, phone: "+447700900001" }]\n`,
    }).schools[0]!;
    const warned = ladderReachability(school).filter((p) => p.kind === 'seen-by-wearer');
    // Silent has a ladder of its own; duress follows `alarm`.
    expect(warned.map((p) => [p.ladder, p.level, p.target])).toEqual([['duress', 2, 'teams']]);
    expect(isWarning('seen-by-wearer')).toBe(true);
    expect(warned[0]!.message).toContain(
      'teams on escalation.alarm level 2 (which duress alarms follow: no duress ladder of their own) posts a duress alarm to a shared room',
    );
    expect(warned[0]!.message).toContain('give escalation.duress a ladder of its own');
  });

  it('the period ladders duress alarms follow out of hours are judged too', () => {
    const school = configWith({
      env,
      school: `${TEAMS}    escalation:\n${ladder('duress', 'sms:on-call-leaders')}    escalationHours:\n      weekend:\n  ${ladder('alarm', 'teams').replace(/\n(?=.)/g, '\n  ')}    contacts:\n      on-call-leaders: [{ name: Head, phone: "+447700900001" }]\n`,
    }).schools[0]!;
    // Duress has its own school ladder, which the weekend's `alarm` does not replace: nothing for it.
    // Silent has none: at weekends it follows the weekend's `alarm`.
    const warned = ladderReachability(school).filter((p) => p.kind === 'seen-by-wearer');
    expect(warned.map((p) => [p.ladder, p.message.split(' (')[0]])).toEqual([
      ['silent', 'teams on escalationHours.weekend.alarm level 2'],
    ]);
  });
});
