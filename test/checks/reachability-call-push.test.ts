import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { ladderReachability } from '../../src/checks/reachability.ts';
import { configWith } from '../helpers/config.ts';

// A real pair: the config refuses a private key that is not the public key's.
const VAPID = webpush.generateVAPIDKeys();
const PUBLIC = VAPID.publicKey;

function school(level1: string, channels: string, ladder = 'alarm') {
  return configWith({
    env: { T: 'token', K: VAPID.privateKey },
    school: `    escalation:
      ${ladder}:
        levels:
          - { afterMinutes: 0, notify: [${level1}] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001", email: head@alpha.example }, { name: Deputy, email: deputy@alpha.example }]
      nameless: [{ name: Nobody }]
    channels:
${channels}`,
  }).schools[0]!;
}

const SMS =
  '      sms: { accountSid: AC1, authToken: "${T}", from: "+447700900999", inboundUrl: "https://d.example/hooks/sms/alpha" }\n';
const CALL = '      call: { callbackUrl: "https://d.example/hooks/voice/alpha" }\n';
const PUSH = `      push: { publicKey: ${PUBLIC}, privateKey: "\${K}", subject: "mailto:o@alpha.example" }\n`;

const messages = (s: ReturnType<typeof school>, facts = {}) =>
  ladderReachability(s, facts)
    .filter((p) => p.ladder === 'alarm')
    .map((p) => `${p.kind}: ${p.message}`);

describe('reachability of call and push steps', () => {
  it('a group not in contacts (a typo) is said as the notices say it, naming the groups there are', () => {
    for (const target of ['sms:leader', 'call:leader', `push:leader`])
      expect(messages(school(target, SMS + CALL + PUSH))).toEqual([
        `reaches-no-one: escalation.alarm level 1 notifies ${target}, but there is no contacts.leader (the groups are leaders, nameless): it reaches no one`,
        'no-person: escalation.alarm reaches no person on any level, only the board',
      ]);
  });

  it('a call step needs the channel and phones: no phone is unreachable', () => {
    expect(messages(school('call:leaders', SMS))).toEqual([
      'reaches-no-one: escalation.alarm level 1 notifies call:leaders, but channels.call is not configured: it reaches no one',
      'no-person: escalation.alarm reaches no person on any level, only the board',
    ]);
    expect(messages(school('call:leaders', SMS + CALL))).toEqual([
      'some-unreachable: escalation.alarm level 1 notifies call:leaders, but Deputy in contacts.leaders has no phone number',
    ]);
    expect(messages(school('call:nameless', SMS + CALL))[0]).toBe(
      'reaches-no-one: escalation.alarm level 1 notifies call:nameless, but no one in contacts.nameless has a phone number: it reaches no one',
    );
  });

  it('a call or push to the people on the visit is refused with the config: they are who the alarm is about', () => {
    for (const target of ['call:visiting-staff', 'push:visiting-staff'])
      expect(() => school(target, SMS + CALL + PUSH)).toThrow(
        `schools[0].escalation.alarm.levels[0].notify[0]: a call or push to visiting-staff reaches no one (the people on the visit are who the alarm is about, and no call or push goes to them): expected sms:visiting-staff or email:visiting-staff to reach them, or another group, got "${target}"`,
      );
    // The register's ladders text the worker to call in; a device alarm's never reaches them. The
    // worker texted is the one not heard from: a ladder that tells no one else reaches no person.
    expect(
      ladderReachability(school('sms:visiting-staff', SMS, 'overdue-visit'))
        .filter((p) => p.ladder === 'overdue-visit')
        .map((p) => `${p.kind}: ${p.message}`),
    ).toEqual([
      'no-person: escalation.overdue-visit reaches no person on any level, only the board (and a text to the people on the visit, the ones not heard from)',
    ]);
    for (const [ladder, target] of [
      ['alarm', 'sms:visiting-staff'],
      ['duress', 'email:visiting-staff'],
      ['sos', 'sms:visiting-staff'],
    ] as const)
      expect(() => school(target, SMS, ladder)).toThrow(
        `schools[0].escalation.${ladder}.levels[0].notify[0]: ${target} on the ${ladder} ladder reaches no one: a device alarm (SOS, fall, duress) is never sent to the person it is about or the people on their visit — only the register's overdue, missed check-in and silent-fob ladders text the worker to call in, got "${target}"`,
      );
  });

  it('a family target in a ladder is refused with the config: an alarm about the staff never goes to the family', () => {
    for (const target of ['sms:family', 'email:family', 'call:family'])
      expect(() => school(target, SMS + CALL)).toThrow(
        `schools[0].escalation.alarm.levels[0].notify[0]: the family is not alerted: an alarm is about the staff on the visit and goes to the school's people, got "${target}"`,
      );
  });

  it('a push step with no one opted in (counted from the store) is warned; unjudged without the count', () => {
    expect(messages(school('push:office-staff', PUSH))).toEqual([]);
    expect(
      messages(school('push:office-staff', PUSH), { pushOptedIn: new Map([['office-staff', 0]]) }),
    ).toEqual([
      "reaches-no-one: escalation.alarm level 1 notifies push:office-staff, but no office or safeguarding account of the school has turned on alarms on a device (the board's button): it reaches no one",
      'no-person: escalation.alarm reaches no person on any level, only the board',
    ]);
    expect(messages(school('push:leaders', PUSH), { pushOptedIn: new Map([['leaders', 2]]) })).toEqual([]);
    expect(messages(school('push:leaders', PUSH), { pushOptedIn: new Map([['leaders', 0]]) })[0]).toBe(
      "reaches-no-one: escalation.alarm level 1 notifies push:leaders, but no one in contacts.leaders has turned on alarms on a device (the board's button): it reaches no one",
    );
    expect(messages(school('push:nameless', PUSH))[0]).toBe(
      'reaches-no-one: escalation.alarm level 1 notifies push:nameless, but no one in contacts.nameless has a phone number or an e-mail address to find their account by: it reaches no one',
    );
    expect(messages(school('push:leaders', SMS))[0]).toBe(
      'reaches-no-one: escalation.alarm level 1 notifies push:leaders, but channels.push is not configured: it reaches no one',
    );
  });
});
