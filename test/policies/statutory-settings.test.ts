import { describe, expect, it } from 'vitest';
import { absenceMeasureMinimums, loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { configWith } from '../helpers/config.ts';

/**
 * What a school may change of the law's duties: only what the statutory pack labels the school's
 * setting. The `N` deadline's phone call is one: the law (attendance.md) says only that `N` "must be
 * replaced with the correct code within 5 school days, otherwise it becomes O" — no action at all.
 */
const packs = loadPolicyPacks('config/policies');
const school = configWith().schools[0]!;
const withOverride = (key: string, o: Record<string, unknown>) =>
  rulesForSchool(
    {
      ...school,
      policies: ['statutory'],
      triggers: { ...school.triggers, overrides: { [key]: o } },
    } as typeof school,
    packs,
  );
const statutoryRule = (id: string) => packs.get('statutory')!.rules.find((r) => r.id === id)!;

describe("the statutory N deadline's action is Doorstep's default, the school's to change", () => {
  it('is labelled a school setting, as the persistent and severe absence actions are', () => {
    for (const id of ['n-unresolved', 'persistent-absence', 'severe-absence'])
      expect(statutoryRule(id).setBySchool?.action, id).toMatch(/Doorstep's default/);
  });

  it('a school that asks for an attendance meeting instead of the phone call has it', () => {
    const { rules, problems } = withOverride('statutory:n-unresolved', { action: 'attendance-meeting' });
    expect(problems).toEqual([]);
    expect(rules.find((r) => r.rule.id === 'n-unresolved')!.rule.action).toBe('attendance-meeting');
  });

  it("the 5 school days stay the law's", () => {
    expect(
      withOverride('statutory:n-unresolved', { afterSchoolDays: 10 }).problems.map((p) => p.message),
    ).toEqual([expect.stringMatching(/^the law's, not a school setting/)]);
  });
});

describe("the persistent- and severe-absence minimum (minSessions) is the school's setting, and the trust overview counts on it", () => {
  it('20 possible sessions unless the school sets another', () => {
    const config = configWith();
    expect(absenceMeasureMinimums(config, config.schools[0]!)).toEqual({ persistent: 20, severe: 20 });
    const set = configWith({
      school: `    triggers:
      overrides:
        "statutory:severe-absence": { minSessions: 40 }`,
    });
    expect(absenceMeasureMinimums(set, set.schools[0]!)).toEqual({ persistent: 20, severe: 40 });
  });
});
