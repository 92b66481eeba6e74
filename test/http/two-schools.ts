import { parseConfigText } from '../../src/config/load.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';

/** A trust of two schools, alpha and beta: for what one school's people may not do at the other. */
export function twoSchoolConfig(): DoorstepConfig {
  const school = (id: string) => `
  - id: ${id}
    name: ${id} school
    mis: { kind: sims-xml, dropFolder: ./data/drop/${id} }
    records: { sink: preview }
    policies: [statutory]`;
  const r = parseConfigText(
    `trust: { id: test-trust, name: Test Trust }\nschools:${school('alpha')}${school('beta')}\n`,
    {
      env: {},
    },
  );
  if (!r.ok) throw new Error(`test config invalid: ${r.problems.map((p) => p.message).join('; ')}`);
  return r.config;
}
