import { parseConfigText } from '../../src/config/load.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import type { Db } from '../../src/store/db.ts';
import { departVisit } from '../../src/visits/departure.ts';

/** Three schools whose packs set different visit rules: Lime Hills, Thames View and Hampton. */
export function visitSchoolsConfig(extra = '', env: Record<string, string> = {}): DoorstepConfig {
  const school = (id: string, name: string, pack: string) => `
  - id: ${id}
    name: ${name}
    phone: "01632 960123"
    mis: { kind: sims-xml, dropFolder: ./data/drop/${id} }
    records: { sink: preview }
    policies: [statutory, ${pack}]
    contacts:
      on-call-leaders: [{ name: Head, phone: "+447700900001" }]
      senior-leadership: [{ name: Chair, phone: "+447700900002" }]
${extra}`;
  const r = parseConfigText(
    `trust: { id: t, name: Trust }\nschools:${school('lime', 'Lime Hills Academy', 'lime-hills')}${school('thames', 'Thames View Junior', 'thames-view')}${school('hampton', 'Hampton Infant', 'hampton')}${school('gomer', "King's Academy Gomer", 'kings-gomer')}`,
    { env },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return r.config;
}

/** A pupil with an address, in each school. */
export async function addPupils(db: Db, schools: readonly string[]): Promise<void> {
  for (const s of schools)
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, address) VALUES ($1, 'P1', 'A123456789012', 'Amelia', 'Okonkwo', $2)`,
      [s, JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
}

/**
 * `departVisit` for a visit whose family was told first (recorded as a letter when nothing is
 * recorded yet): most packs block leaving until the family notice is recorded, which tests about
 * other rules take as given. The family-notice rule itself is tested on its own.
 */
export async function departTold(...args: Parameters<typeof departVisit>): Promise<void> {
  const [deps, user, visitId] = args;
  await deps.db.query(`UPDATE visits SET family_notice = $2 WHERE id = $1 AND family_notice IS NULL`, [
    visitId,
    JSON.stringify({
      method: 'letter',
      exemption: null,
      note: null,
      at: deps.now().toISOString(),
      by: user.id,
    }),
  ]);
  // Staff carry their identification (every school's policy asks them to confirm it), unless a test says not.
  return departVisit(deps, user, visitId, { identification: true, ...args[3] });
}
