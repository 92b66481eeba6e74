import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import { formatProblem } from '../../../src/config/yaml-parse.ts';

/**
 * An MIS API's base URL carries no credential: fetch will not send a URL with a user or password in
 * it, and the config file and every message that shows the URL would hold it in plain text. The
 * credential goes in the setting's own secret (Arbor's `password`, Wonde's `token`).
 */
const config = (mis: string) => `
trust: { id: t, name: T }
schools:
  - id: s
    name: S
    mis: ${mis}
    records: { sink: preview }
    policies: [statutory]
`;

function problems(mis: string) {
  const r = parseConfigText(config(mis), { env: { ARBOR_PW: 'pw', WONDE_TOKEN: 'tok' } });
  return r.ok ? [] : r.problems.map(formatProblem);
}

const refused = (shown: string) =>
  `schools[0].mis.baseUrl (line 6): expected no user name or password in the URL (not shown): put the credential in its secret setting instead (the password or token, \${…} from the environment or a file), got "${shown}"`;

describe('mis.baseUrl', () => {
  it('refuses a user and password in the URL, naming the field and never echoing them', () => {
    const said = problems(
      '{ kind: arbor, baseUrl: "https://doorstep:hunter2@heathlane.uk.arbor.sc", username: u, password: "${ARBOR_PW}" }',
    );
    expect(said).toEqual([refused('https://***@heathlane.uk.arbor.sc')]);
    expect(said.join()).not.toContain('hunter2');
  });

  it('refuses a user name alone (a token put in the URL)', () => {
    expect(
      problems(
        '{ kind: wonde, baseUrl: "https://abc123@api.wonde.com/v1.0", schoolId: A1, token: "${WONDE_TOKEN}" }',
      ),
    ).toEqual([refused('https://***@api.wonde.com/v1.0')]);
  });

  it('takes a plain https URL, and Wonde’s default', () => {
    expect(
      problems(
        '{ kind: arbor, baseUrl: "https://heathlane.uk.arbor.sc", username: u, password: "${ARBOR_PW}" }',
      ),
    ).toEqual([]);
    expect(problems('{ kind: wonde, schoolId: A1, token: "${WONDE_TOKEN}" }')).toEqual([]);
  });
});
