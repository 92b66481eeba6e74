import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';
import { configProblems } from '../helpers/config.ts';

/** Two schools with the given `mis` sections. */
const two = (a: string, b: string) => `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: ${a}
    records: { sink: preview }
    policies: [statutory]
  - id: beta
    name: Beta
    mis: ${b}
    records: { sink: preview }
    policies: [statutory]
`;
const env = { TOKEN: 'wonde-token', PASSWORD: 'arbor-password' };
const ok = (text: string) => parseConfigText(text, { env }).ok;

describe('one MIS API source per school', () => {
  const wonde = (schoolId: string, baseUrl?: string) =>
    `{ kind: wonde, ${baseUrl ? `baseUrl: "${baseUrl}", ` : ''}schoolId: "${schoolId}", token: "\${TOKEN}" }`;
  const arbor = (baseUrl: string) =>
    `{ kind: arbor, baseUrl: "${baseUrl}", username: doorstep, password: "\${PASSWORD}" }`;

  it('refuses one Wonde school given to two schools (a copied block): each would import the same children as its own', () => {
    expect(configProblems(two(wonde('A1930499544'), wonde('A1930499544')), env)).toEqual([
      "schools[1].mis.schoolId (line 10): school beta's Wonde school A1930499544 at https://api.wonde.com/v1.0 is the same as school alpha's (schools[0].mis.schoolId): each school's sync imports its MIS's pupils and marks as its own, so both would hold the same children and raise their triggers twice; give each school its own MIS source, got \"A1930499544\"",
    ]);
    // The default base URL written out, with a trailing slash and the host in capitals, is the same API.
    expect(
      configProblems(two(wonde('A1930499544'), wonde('A1930499544', 'https://API.wonde.com/v1.0/')), env)[0],
    ).toMatch(/^schools\[1\]\.mis\.schoolId .*the same as school alpha's/);
    // Different schools on one Wonde account are apart; so is one school id on another Wonde host.
    expect(ok(two(wonde('A1930499544'), wonde('A2002346121')))).toBe(true);
    expect(
      ok(two(wonde('A1930499544'), wonde('A1930499544', 'https://api.wonde-sandbox.example/v1.0'))),
    ).toBe(true);
  });

  it('refuses one Arbor site given to two schools, however its URL is written', () => {
    expect(
      configProblems(
        two(arbor('https://heath-lane.uk.arbor.sc'), arbor('https://Heath-Lane.UK.arbor.sc/')),
        env,
      ),
    ).toEqual([
      "schools[1].mis.baseUrl (line 10): school beta's Arbor site https://heath-lane.uk.arbor.sc is the same as school alpha's (schools[0].mis.baseUrl): each school's sync imports its MIS's pupils and marks as its own, so both would hold the same children and raise their triggers twice; give each school its own MIS source, got \"https://Heath-Lane.UK.arbor.sc/\"",
    ]);
    // The default port written out is the same site.
    expect(
      configProblems(two(arbor('https://a.uk.arbor.sc/x'), arbor('https://a.uk.arbor.sc:443/x//')), env),
    ).toHaveLength(1);
    // Two sites, or two paths on one host, are apart (a path is compared as written: it is case-sensitive).
    expect(ok(two(arbor('https://a.uk.arbor.sc'), arbor('https://b.uk.arbor.sc')))).toBe(true);
    expect(ok(two(arbor('https://h.example/a'), arbor('https://h.example/A')))).toBe(true);
  });

  it('names every repeat after the first, each against the school it repeats', () => {
    const three = `${two(wonde('W1'), wonde('W1'))}  - id: gamma
    name: Gamma
    mis: ${wonde('W1')}
    records: { sink: preview }
    policies: [statutory]
`;
    const p = configProblems(three, env);
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(
      /^schools\[1\]\.mis\.schoolId .*school beta's .* same as school alpha's \(schools\[0\]/,
    );
    expect(p[1]).toMatch(
      /^schools\[2\]\.mis\.schoolId .*school gamma's .* same as school alpha's \(schools\[0\]/,
    );
  });
});
