import { parseConfigText } from '../../src/config/load.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';

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
