import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fobWatchGap } from '../../src/checks/fob-watch.ts';
import { ladderReachability, noticeGaps } from '../../src/checks/reachability.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { visitRulesFor } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';

/**
 * Found by a newcomer's walk: the example config opened the data page with red warnings, one of them
 * something the example itself should have set — "fobs.silentAlarmMinutes is not set: a fob that goes
 * flat … raises nothing". The example leaves only what is the newcomer's to fill in (real people and
 * their numbers, an SMS and an e-mail account), and each ladder level that reaches no one does so for
 * want of a channel not set up yet — which the data page heads as a to-do.
 */
const parsed = parseConfigText(readFileSync('config/doorstep.example.yaml', 'utf8'), { env: {} });
if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
const config: DoorstepConfig = parsed.config;

/**
 * The example with its commented `contacts:`, `channels:` and `notices:` blocks taken in, as a
 * newcomer filling them in would (each block's own comment lines, and the Web Push pair — keys the
 * newcomer generates — left out).
 */
function uncommented(): string {
  let inBlock = false;
  return readFileSync('config/doorstep.example.yaml', 'utf8')
    .split('\n')
    .flatMap((line) => {
      if (/^ {4}# (contacts|channels|notices):\s*$/.test(line)) {
        inBlock = true;
        return [`    ${line.slice(6)}`];
      }
      if (inBlock && line.startsWith('    #   ')) {
        if (line.startsWith('    #   #') || line.includes('push: {')) return [];
        return [`    ${line.slice(6)}`];
      }
      inBlock = false;
      return [line];
    })
    .join('\n');
}

describe('the example configuration', () => {
  it('sets how long a fob may be silent where its policy sends staff out with one', () => {
    const heath = config.schools.find((s) => s.id === 'heath-lane')!;
    expect(visitRulesFor(heath, config.packs).requires?.fob).toBe(true);
    expect(heath.fobs.silentAlarmMinutes).toBe(30);
    for (const s of config.schools) expect(fobWatchGap(s, visitRulesFor(s, config.packs)), s.id).toBeNull();
  });

  it('leaves ladder levels reaching no one only for want of a channel not set up yet', () => {
    for (const s of config.schools)
      for (const p of ladderReachability(s).filter((p) => p.kind === 'reaches-no-one'))
        expect(p.message, s.id).toMatch(/, but channels\.(sms|email) is not configured: it reaches no one$/);
  });

  it('its commented contacts, channels and notices are valid as written, and taken in leave no one unreached', () => {
    const env = {
      TWILIO_AUTH_TOKEN: 'x'.repeat(32),
      SMTP_PASSWORD: 'y'.repeat(16),
      TWILIO_AUTH_TOKEN_HAMPTON: 'z'.repeat(32),
      SMTP_PASSWORD_HAMPTON: 'w'.repeat(16),
    };
    const r = parseConfigText(uncommented(), { env });
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    expect(
      r.config.schools.map((s) => [
        s.id,
        Object.keys(s.contacts).length > 0,
        !!s.channels.sms,
        !!s.channels.email,
      ]),
    ).toEqual([
      ['heath-lane', true, true, true],
      ['hampton-infant', true, true, true],
    ]);
    for (const s of r.config.schools) {
      expect(
        ladderReachability(s).filter((p) => p.kind === 'reaches-no-one' || p.kind === 'no-person'),
        s.id,
      ).toEqual([]);
      expect(noticeGaps(s, r.config.packs), s.id).toEqual([]);
    }
  });
});
