import type { EscalationPolicy } from '../domain/escalation/ladder.ts';

/**
 * The alarms this process has just raised, as their first escalation step needs them: the facts
 * that never change after the raise (school, type, device, staff, visit, the policy snapshot). The
 * ingest puts each new alarm here after its commit; the escalate job's first step takes it from here
 * instead of reading the row back, and takes the step with the one guarded statement as always —
 * which holds only if the alarm is still open at step 0, so an acknowledgement or resolution that
 * came first sends the job back to reading the row. A miss (another process raised it, a restart,
 * the bound below) is only the old way: read the row.
 *
 * Bounded: at most MAX_REMEMBERED alarms, in two generations — when the newer fills up, the older
 * is dropped whole (its alarms are read back, as before). O(1) each way: evicting the oldest entry
 * of one Map one by one walked over its deleted slots on every raise.
 */
export interface RaisedAlarm {
  id: string;
  schoolId: string;
  type: string;
  deviceId: string | null;
  staffId: string | null;
  visitId: string | null;
  policy: EscalationPolicy;
  raisedAt: Date;
  /** A drill's alarm (never one a fob sent). */
  test: boolean;
}

const MAX_REMEMBERED = 10_000;
let newer = new Map<string, RaisedAlarm>();
let older = new Map<string, RaisedAlarm>();

export function rememberRaised(a: RaisedAlarm): void {
  if (newer.size >= MAX_REMEMBERED / 2) {
    older = newer;
    newer = new Map();
  }
  newer.set(a.id, a);
}

/** The alarm's facts if this process raised it and its first step has not taken them yet (once). */
export function takeRaised(id: string): RaisedAlarm | undefined {
  const a = newer.get(id) ?? older.get(id);
  if (a) {
    newer.delete(id);
    older.delete(id);
  }
  return a;
}
