import { parseConfigText } from '../../src/config/load.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { formatProblem } from '../../src/config/yaml-parse.ts';

/** A valid one-school config; `school` lines are appended to the school's mapping (4-space indent). */
export function configWith(
  options: { mis?: string; records?: string; school?: string; env?: Record<string, string> } = {},
): DoorstepConfig {
  const text = `
trust: { id: test-trust, name: Test Trust }
schools:
  - id: alpha
    name: Alpha Primary
    mis: ${options.mis ?? '{ kind: sims-xml, dropFolder: ./data/drop/alpha }'}
    records: ${options.records ?? '{ sink: preview }'}
    policies: [statutory]
${options.school ?? ''}`;
  const r = parseConfigText(text, { env: options.env ?? {} });
  if (!r.ok)
    throw new Error(`test config invalid: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return r.config;
}

/** The smallest valid one-school config text; a test appends the school's own lines (4-space indent). */
export const MINIMAL_SCHOOL = `
trust: { id: t, name: T }
schools:
  - id: s
    name: S
    mis: { kind: csv, dropFolder: ./drop }
    records: { sink: preview }
    policies: [statutory]
`;

/** The problems a config text is refused with, as `doorstep check` prints them (throws if it loads). */
export function configProblems(
  text: string,
  env: Record<string, string> = {},
  options: { checkPolicies?: boolean } = {},
): string[] {
  const r = parseConfigText(text, { env }, options);
  if (r.ok) throw new Error('expected the config to be refused');
  return r.problems.map(formatProblem);
}
