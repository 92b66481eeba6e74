import { readFileSync } from 'node:fs';
import type { PolicyPack } from '../domain/triggers/rules.ts';
import { doorstepError } from '../errors.ts';
import { loadPolicyPacks, packLadders, schoolPackProblems } from './policy-packs.ts';
import { buildConfigSchema, type DoorstepConfig } from './schema.ts';
import type { SecretSources } from './secret.ts';
import { type ConfigProblem, formatProblem, parseYamlWith } from './yaml-parse.ts';

export type ParseResult = { ok: true; config: DoorstepConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Validates a config file's text and reads the policy packs in its `policiesDir` (once: the config
 * carries them). With `checkPolicies`, each school's packs and overrides are checked against them
 * too. Every problem is returned, in file order, with its path and line.
 */
export function parseConfigText(
  text: string,
  sources: SecretSources,
  options: { checkPolicies?: boolean } = {},
): ParseResult {
  let packs: ReadonlyMap<string, PolicyPack> = new Map();
  const r = parseYamlWith(text, buildConfigSchema(sources), (settings) => {
    packs = loadPolicyPacks(settings.policiesDir);
    if (!options.checkPolicies) return [];
    return settings.schools.flatMap((school, i) =>
      schoolPackProblems(school, packs).map((p) => ({
        path: ['schools', i, ...p.path],
        message: p.message,
      })),
    );
  });
  if (!r.ok) return r;
  const schools = r.data.schools.map((s) => ({
    ...s,
    escalation: { ...packLadders(s.policies, packs), ...s.escalation },
  }));
  return { ok: true, config: { ...r.data, schools, packs } };
}

/**
 * Reads, parses and validates a config file, resolving secret references from env/files, and checks
 * each school's policy packs (named packs exist, overrides fit their rules), once.
 */
export function loadConfigFile(file: string, env: SecretSources['env'] = process.env): DoorstepConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unreadable';
    // No file there (a first run, or the wrong folder): say where one comes from.
    const hint =
      code === 'ENOENT'
        ? ': copy config/doorstep.example.yaml to config/doorstep.yaml, or pass --config / set DOORSTEP_CONFIG'
        : '';
    throw doorstepError('CONFIG_UNREADABLE', `cannot read config file ${file} (${code})${hint}`, {
      cause: err,
    });
  }
  const result = parseConfigText(text, { env }, { checkPolicies: true });
  if (!result.ok) {
    const n = result.problems.length;
    throw doorstepError('CONFIG_INVALID', `${file}: ${n} error${n === 1 ? '' : 's'}`, {
      details: result.problems.map(formatProblem),
    });
  }
  return result.config;
}
