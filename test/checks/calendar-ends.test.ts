import { describe, expect, it } from 'vitest';
import { calendarEnds } from '../../src/checks/calendar-ends.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { configWith } from '../helpers/config.ts';

/** After its last configured term every day is closed to the trigger rules: no trigger is raised. */
describe('a school calendar that runs out', () => {
  const school = configWith({
    school: `    calendar:
      terms: [{ start: "2026-09-02", end: "2026-10-23" }, { start: "2026-11-02", end: "2026-12-18" }]
`,
  }).schools[0]!;

  it('is said four weeks before its last term ends, and once it has ended', () => {
    expect(calendarEnds(school, '2026-11-19')).toBeNull();
    expect(calendarEnds(school, '2026-11-20')).toMatch(
      /^the calendar's last term ends on 2026-12-18: after it every day counts as closed and no trigger is raised/,
    );
    expect(calendarEnds(school, '2027-01-06')).toMatch(
      /^the calendar's last term ended on 2026-12-18: every day since counts as closed/,
    );
  });

  it('says nothing of a school with no terms (every weekday counts there), and the example calendar reaches past this year', () => {
    expect(calendarEnds(configWith().schools[0]!, '2027-01-06')).toBeNull();
    for (const s of loadConfigFile('config/doorstep.example.yaml').schools)
      expect({ school: s.id, said: calendarEnds(s, '2026-12-02') }).toEqual({ school: s.id, said: null });
  });
});
