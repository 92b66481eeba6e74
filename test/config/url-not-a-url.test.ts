import { describe, expect, it } from 'vitest';
import { configProblems } from '../helpers/config.ts';

/** One school with the given `mis` and `records` sections. */
const school = (mis: string, records = '{ sink: preview }') => `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: ${mis}
    records: ${records}
    policies: [statutory]
`;
const env = { PASSWORD: 'arbor-password', TOKEN: 'cpoms-token' };

describe('a URL setting that is not a URL', () => {
  it('is a problem named at its field, as any other, never a crash of the config check', () => {
    // zod runs a URL field's own refinements after its URL check failed: `new URL` threw out of them.
    expect(
      configProblems(
        school(`{ kind: arbor, baseUrl: "notaurl", username: doorstep, password: "\${PASSWORD}" }`),
        env,
      ),
    ).toEqual([expect.stringMatching(/^schools\[0\]\.mis\.baseUrl \(line 5\): expected an https URL/)]);
    expect(
      configProblems(
        school(
          '{ kind: csv, dropFolder: ./drop }',
          '{ sink: cpoms, baseUrl: "not a url", token: "${TOKEN}" }',
        ),
        env,
      ),
    ).toEqual([expect.stringMatching(/^schools\[0\]\.records\.baseUrl \(line 6\): expected an https URL/)]);
  });
});
