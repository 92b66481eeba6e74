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
 * Bounded: at most MAX_REMEMBERED alarms, the oldest forgotten first (an alarm whose first step has
 * not run after that many newer ones is read back, as before).
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
const recent = new Map<string, RaisedAlarm>();

export function rememberRaised(a: RaisedAlarm): void {
  if (recent.size >= MAX_REMEMBERED) {
    const oldest = recent.keys().next();
    if (!oldest.done) recent.delete(oldest.value);
  }
  recent.set(a.id, a);
}

/** The alarm's facts if this process raised it and its first step has not taken them yet (once). */
export function takeRaised(id: string): RaisedAlarm | undefined {
  const a = recent.get(id);
  if (a) recent.delete(id);
  return a;
}
