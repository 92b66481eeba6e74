import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EscalationPolicy } from '../domain/escalation/ladder.ts';
import type { RuleInPack } from '../domain/triggers/finding.ts';
import {
  type PolicyPack,
  policyPack,
  RATE_MIN_SESSIONS,
  type Rule,
  rule as ruleSchema,
} from '../domain/triggers/rules.ts';
import { DEFAULT_VISIT_RULES, type VisitRules } from '../domain/visits/rules.ts';
import { doorstepError } from '../errors.ts';
import type { DoorstepConfig, SchoolConfig } from './schema.ts';
import { schoolOrFallback } from './school-of.ts';
import { formatProblem, parseYamlWith } from './yaml-parse.ts';

/**
 * Reads every `*.yaml` policy pack in a folder. A pack whose file name differs from its id, or that
 * fails validation, is an error naming file, path and line.
 */
export function loadPolicyPacks(dir: string): Map<string, PolicyPack> {
  const root = resolve(dir);
  let files: string[];
  try {
    files = readdirSync(root)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
  } catch (err) {
    throw doorstepError(
      'CONFIG_UNREADABLE',
      `cannot read the policy pack folder ${root} (${(err as { code?: string }).code})`,
    );
  }
  const packs = new Map<string, PolicyPack>();
  const problems: string[] = [];
  for (const f of files) {
    const r = parseYamlWith(readFileSync(join(root, f), 'utf8'), policyPack, (p) => {
      const out: { path: PropertyKey[]; message: string }[] = [];
      if (`${p.id}.yaml` !== f)
        out.push({
          path: ['id'],
          message: `expected "${f.replace(/\.yaml$/, '')}" (the file name), got "${p.id}"`,
        });
      const seen = new Set<string>();
      p.rules.forEach((r, i) => {
        if (seen.has(r.id)) out.push({ path: ['rules', i, 'id'], message: `duplicate rule id "${r.id}"` });
        seen.add(r.id);
        const codes = 'codes' in r ? r.codes : undefined;
        if (VISIT_ACTIONS.has(r.action) && codes?.includes('U'))
          out.push({
            path: ['rules', i, 'codes'],
            message:
              'U (arrived after the register closed) means the child was seen: it cannot count as absent for a visit',
          });
      });
      out.push(...unknownSetBySchool(p));
      return out;
    });
    if (r.ok) packs.set(r.data.id, r.data);
    else problems.push(...r.problems.map((p) => `${f}: ${formatProblem(p)}`));
  }
  if (problems.length) {
    throw doorstepError('CONFIG_INVALID', `policy packs in ${root}: ${problems.length} error(s)`, {
      details: problems,
    });
  }
  return packs;
}

/** Actions that send someone to the door: a child seen (`U`) never counts as absent for them. */
const VISIT_ACTIONS: ReadonlySet<string> = new Set(['home-visit', 'follow-up-visit']);

/** `setBySchool` keys must name a field set beside them (a label on nothing labels nothing). */
function unknownSetBySchool(
  value: unknown,
  path: PropertyKey[] = [],
): { path: PropertyKey[]; message: string }[] {
  if (!value || typeof value !== 'object') return [];
  const out: { path: PropertyKey[]; message: string }[] = [];
  const o = value as Record<string, unknown>;
  const labels = Array.isArray(o) ? undefined : o.setBySchool;
  if (labels && typeof labels === 'object')
    for (const k of Object.keys(labels))
      if (!(k in o) || k === 'setBySchool')
        out.push({ path: [...path, 'setBySchool', k], message: `no setting "${k}" here to label` });
  for (const [k, v] of Object.entries(o))
    if (k !== 'setBySchool') out.push(...unknownSetBySchool(v, [...path, k]));
  return out;
}

/** The pack of the law's duties, which every school runs. */
export const STATUTORY = 'statutory';

/**
 * What is wrong with a school's packs as configured: `rulesForSchool`'s problems, and a school without
 * the law's duties — which would silently lose the 10-day return, the N deadline and the removal
 * review (every school in England has them).
 */
export function schoolPackProblems(
  school: SchoolConfig,
  packs: ReadonlyMap<string, PolicyPack>,
): { path: PropertyKey[]; message: string }[] {
  const missing =
    packs.has(STATUTORY) && !school.policies.includes(STATUTORY)
      ? [
          {
            path: ['policies'],
            message: `every school runs the "${STATUTORY}" pack (the law's attendance duties) beside its own: add it, e.g. policies: [${[STATUTORY, ...school.policies].join(', ')}]`,
          },
        ]
      : [];
  return [...missing, ...rulesForSchool(school, packs).problems];
}

/**
 * The rules a school runs: its packs in order, with its overrides applied (a school may change a
 * rule's numbers and who acts, never its kind or action; of a statutory duty only what its pack labels
 * `setBySchool`). Returns problems instead of throwing, so they can be located.
 */
export function rulesForSchool(
  school: SchoolConfig,
  packs: ReadonlyMap<string, PolicyPack>,
): { rules: RuleInPack[]; problems: { path: PropertyKey[]; message: string }[] } {
  const rules: RuleInPack[] = [];
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const known = new Set<string>();
  school.policies.forEach((id, i) => {
    const pack = packs.get(id);
    if (!pack) {
      problems.push({
        path: ['policies', i],
        message: `no policy pack "${id}" (have: ${[...packs.keys()].join(', ')})`,
      });
      return;
    }
    for (const r of pack.rules) {
      const key = `${pack.id}:${r.id}`;
      known.add(key);
      const override = school.triggers.overrides[key];
      if (!override) {
        rules.push({ packId: pack.id, rule: r });
        continue;
      }
      // A school changes numbers (and who acts), never kinds or actions; of the law's duties only
      // what the pack labels as the school's setting (`setBySchool`).
      const refused = Object.entries(override).flatMap(([field, value]) => {
        if (field === 'role') return [];
        if (pack.id === STATUTORY && !r.setBySchool?.[field])
          return [
            {
              path: ['triggers', 'overrides', key, field],
              message: `the law's, not a school setting: a statutory duty's ${field} is not changed by a school (its settings: ${[...new Set([...Object.keys(r.setBySchool ?? {}), 'role'])].join(', ')})`,
            },
          ];
        if (typeof value !== 'number' && !(pack.id === STATUTORY && r.setBySchool?.[field]))
          return [
            {
              path: ['triggers', 'overrides', key, field],
              message: `a school changes numbers (and role: who acts), never the rule's kind, action or switches: ${field} is the written policy's, changed in its pack`,
            },
          ];
        return [];
      });
      if (refused.length > 0) {
        problems.push(...refused);
        continue;
      }
      const merged = ruleSchema.safeParse({ ...r, ...override, kind: r.kind, id: r.id });
      if (!merged.success) {
        const issue = merged.error.issues[0]!;
        problems.push({ path: ['triggers', 'overrides', key, ...issue.path], message: issue.message });
      } else if (
        VISIT_ACTIONS.has(merged.data.action) &&
        'codes' in merged.data &&
        merged.data.codes?.includes('U')
      )
        problems.push({
          path: ['triggers', 'overrides', key, 'codes'],
          message:
            'U (arrived after the register closed) means the child was seen: it cannot count as absent for a visit',
        });
      else rules.push({ packId: pack.id, rule: merged.data as Rule });
    }
  });
  for (const key of Object.keys(school.triggers.overrides)) {
    if (!known.has(key) && problems.length === 0) {
      problems.push({
        path: ['triggers', 'overrides', key],
        message: `no rule "${key}" in this school's packs (${[...known].join(', ')})`,
      });
    }
  }
  // An exemption resting on triggers the school does not run would never apply: said at load.
  if (problems.length === 0)
    for (const x of visitRulesFor(school, packs).familyNotice?.exemptions ?? [])
      for (const key of x.openTriggers)
        if (!known.has(key))
          problems.push({
            path: ['policies'],
            message: `the family-notice exemption "${x.id}" rests on the trigger "${key}", which is not in this school's packs (${[...known].join(', ') || 'none'})`,
          });
  return { rules, problems };
}

/** The visit rules a school follows: the last of its packs that sets `visits`, else the defaults. */
export function visitRulesFor(school: SchoolConfig, packs: ReadonlyMap<string, PolicyPack>): VisitRules {
  let rules: VisitRules = DEFAULT_VISIT_RULES;
  for (const id of school.policies) {
    const v = packs.get(id)?.visits;
    if (v) rules = v;
  }
  return rules;
}

/**
 * The escalation ladders a school's packs give (later packs win for the same kind); the school's own
 * `escalation` config is laid over them at load.
 */
export function packLadders(
  policies: readonly string[],
  packs: ReadonlyMap<string, PolicyPack>,
): Record<string, EscalationPolicy> {
  const out: Record<string, EscalationPolicy> = {};
  for (const id of policies) Object.assign(out, packs.get(id)?.escalation ?? {});
  return out;
}

/**
 * `schoolId → visit rules` for a loaded config (from the packs it read at load). A school id the
 * config no longer holds (a worker still out there) is judged by the `orphansTo` school's rules.
 */
export function visitRulesLookup(config: DoorstepConfig): (schoolId: string) => VisitRules {
  const bySchool = new Map(config.schools.map((s) => [s.id, visitRulesFor(s, config.packs)]));
  return (schoolId) =>
    bySchool.get(schoolId) ??
    bySchool.get(schoolOrFallback(config, schoolId).school.id) ??
    DEFAULT_VISIT_RULES;
}

/** The trigger rules a school runs, from the packs its config read at load (checked there). */
export function schoolRules(config: DoorstepConfig, school: SchoolConfig): RuleInPack[] {
  return rulesForSchool(school, config.packs).rules;
}

/**
 * The fewest possible sessions this year on which the school's persistent- and severe-absence rules
 * judge a pupil (their `minSessions`, the school's setting): a figure of those measures counts as
 * the rules do, so one absent morning in September is neither.
 */
export function absenceMeasureMinimums(
  config: DoorstepConfig,
  school: SchoolConfig,
): { persistent: number; severe: number } {
  const rules = schoolRules(config, school);
  const min = (id: string) => {
    const r = rules.find((x) => x.packId === STATUTORY && x.rule.id === id)?.rule;
    return r?.kind === 'attendance-rate' ? r.minSessions : RATE_MIN_SESSIONS;
  };
  return { persistent: min('persistent-absence'), severe: min('severe-absence') };
}
