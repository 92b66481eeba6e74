import type { DoorstepConfig } from '../config/schema.ts';
import type { CheckResult } from '../core/checks.ts';
import type { Queryable } from '../store/db.ts';
import { fobsHeldOut } from '../store/visit-watch.ts';

/** A fob a visit out holds that the registry (the school's fobs.devices) now gives elsewhere. */
export interface FobMovedWhileOut {
  schoolId: string;
  deviceId: string;
  /** The registry gives the fob to another member of staff than the visit's lead, or to no one. */
  now: 'someone-else' | 'no-one';
  visits: number;
}

/**
 * The fobs visits out hold (the fob each left with) that the school's fobs.devices no longer give to
 * the visit's lead: given to someone else, or to no one (taken out, or moved to another school's
 * registry), in a config changed while the visit was out. Pure, over what the store says is out.
 */
export function fobsMovedWhileOut(
  config: DoorstepConfig,
  held: Awaited<ReturnType<typeof fobsHeldOut>>,
): FobMovedWhileOut[] {
  const out: FobMovedWhileOut[] = [];
  for (const h of held) {
    const school = config.schools.find((s) => s.id === h.schoolId);
    if (!school) continue; // a school not in the config: the `watch` check says so
    const staffId = school.fobs.devices.find((d) => d.deviceId === h.deviceId)?.staffId ?? null;
    if (staffId !== null && staffId === h.leadStaffId) continue;
    out.push({
      schoolId: h.schoolId,
      deviceId: h.deviceId,
      now: staffId === null ? 'no-one' : 'someone-else',
      visits: h.visits,
    });
  }
  return out;
}

/**
 * What is said of them: school ids, fob ids and counts only — never whose visit, nor who the config
 * now names. The same words in `doorstep check` and `/readyz`.
 */
export function fobsMovedWords(moved: readonly FobMovedWhileOut[]): string {
  const each = moved.map(
    (m) =>
      `school "${m.schoolId}": fob ${m.deviceId} is out with ${m.visits} visit(s) not back safe, but its fobs.devices now give it to ${m.now === 'someone-else' ? 'someone else' : 'no one'}`,
  );
  return `${each.join('; ')} — its alarms and check-ins arriving on that school's feeds still go to the visit that left with it (its lead's); until that visit is back safe no one else leaves holding it, there or at another school whose feeds may bring the same fob (where the school's policy asks for a fob the departure is refused, else the visit leaves recorded with no fob); hand the fob over once it is, or put the config back as the fob is worn`;
}

/**
 * The check `/readyz` runs (named `fobs-out`), and `doorstep check` beside its store test: a warning
 * while a visit out holds a fob the config now gives to someone else or to no one — never a readiness
 * failure (as the `watch` check: src/checks/outside-config.ts says why).
 */
export async function fobsOutCheck(db: Queryable, config: DoorstepConfig): Promise<CheckResult> {
  const moved = fobsMovedWhileOut(
    config,
    await fobsHeldOut(
      db,
      config.schools.map((s) => s.id),
    ),
  );
  return moved.length
    ? { name: 'fobs-out', ok: true, warning: true, detail: fobsMovedWords(moved) }
    : { name: 'fobs-out', ok: true, detail: "every fob out with a visit is its lead's in the config" };
}
