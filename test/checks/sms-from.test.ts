import { describe, expect, it } from 'vitest';
import { sharedSmsFrom } from '../../src/checks/sms-from.ts';
import { parseConfigText } from '../../src/config/load.ts';

function trust(...froms: (string | null)[]) {
  const school = (from: string | null, i: number) => `
  - id: s${i}
    name: School ${i}
    mis: { kind: csv, dropFolder: ./drop${i} }
    records: { sink: preview }
    policies: [statutory]
${from ? `    channels:\n      sms: { accountSid: AC1, authToken: "\${T}", from: "${from}", inboundUrl: "https://d.example/hooks/sms/s${i}" }\n` : ''}`;
  const r = parseConfigText(`trust: { id: t, name: T }\nschools:${froms.map(school).join('')}`, {
    env: { T: 'token' },
  });
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.config;
}

describe('schools texting alarms from one number', () => {
  it('each is warned, naming the others: replies reach only the one inbound URL the provider holds for it', () => {
    // The same phone however it was typed.
    const config = trust('+447700900999', '07700 900999', '+447700900111', null);
    const [a, b, c, d] = config.schools;
    expect(sharedSmsFrom(a!, config)).toBe(
      "channels.sms.from +447700900999 is also the number s1 texts alarms from: the provider posts every reply to that number to the one inbound URL set for it (/hooks/sms/<school>): only one of these schools hears the replies, and the others' people cannot take their alarms by SMS — give each school its own number",
    );
    expect(sharedSmsFrom(b!, config)).toContain('is also the number s0 texts alarms from');
    expect(sharedSmsFrom(c!, config)).toBeNull();
    expect(sharedSmsFrom(d!, config)).toBeNull();
  });
});
