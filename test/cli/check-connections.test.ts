import { describe, expect, it } from 'vitest';
import { schoolChecks } from '../../src/checks/school-checks.ts';
import { type Check, labelled, runChecks } from '../../src/core/checks.ts';
import { configWith } from '../helpers/config.ts';

describe('doorstep check: connection tests', () => {
  it('reports a test that throws as a failure of that test, and still reports the others', async () => {
    const checks: Check[] = [
      async () => ({ name: 'redis', ok: true, detail: 'reached' }),
      labelled('alpha channel:teams', async () => {
        throw new TypeError('Invalid URL');
      }),
      async () => {
        throw new Error('boom');
      },
      async () => ({ name: 'store', ok: true, detail: 'reached' }),
    ];
    expect(await runChecks(checks)).toEqual([
      { name: 'redis', ok: true, detail: 'reached' },
      { name: 'alpha channel:teams', ok: false, detail: 'the test could not run: Invalid URL' },
      { name: 'check 3', ok: false, detail: 'the test could not run: boom' },
      { name: 'store', ok: true, detail: 'reached' },
    ]);
  });

  it("names a school's tests by school and what they test, should one throw", () => {
    const config = configWith({
      env: { TEAMS_URL: 'https://teams.example.test/hook' },
      school: '    channels: { teams: { url: "${TEAMS_URL}" } }\n',
    });
    const school = config.schools[0]!;
    expect(schoolChecks(config, school, 'channels').map((c) => c.label)).toEqual(['alpha channel:teams']);
    expect(schoolChecks(config, school, 'mis').map((c) => c.label)).toEqual(['alpha mis']);
    expect(schoolChecks(config, school, 'records').map((c) => c.label)).toEqual(['alpha records']);
  });
});
