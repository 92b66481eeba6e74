import { sinkSettingsOf } from '../../connectors/records/index.ts';
import { recordSinkWarnings } from '../../connectors/records/settings.ts';
import type { SchoolConfig } from '../config/schema.ts';
import type { RecordKind } from '../domain/records.ts';
import type { VisitRules } from '../domain/visits/rules.ts';

/**
 * Records a school's policy asks for in a particular system that its sinks do not reach there yet:
 * the outcomes, concerns and follow-ups each pack puts on CPOMS (`cpomsRecords`), Thames View 2.7's
 * appointment records "on CPOMS", 4.3's note "in the pupil's attendance record"
 * (Arbor, the MIS Doorstep can write to), and Heath Lane's dangerous addresses "logged on CPOMS and
 * as a pastoral note on Arbor front page of student"; and records no sink of the school can take (a
 * lone-worker incident away from a visit at a school recording to Arbor only: `recordSinkWarnings`).
 * A school still in `preview` sends nothing anywhere
 * on purpose: it is told only that its `alsoRecordTo` sinks send nothing either.
 */
export function recordGaps(s: SchoolConfig, rules: VisitRules): string[] {
  if (s.records.sink === 'preview') {
    // Preview holds every sink: an `alsoRecordTo` that looks live sends nothing either.
    const live = [...new Set((s.alsoRecordTo ?? []).map((e) => e.sink).filter((k) => k !== 'preview'))];
    return live.length
      ? [
          `records.sink is preview, so nothing is sent to ${live.join(' or ')} in alsoRecordTo either: those records are kept as preview (and never sent) until records.sink is live`,
        ]
      : [];
  }
  const reaches = (kind: RecordKind, sink: string) =>
    sinkSettingsOf(s).some(
      ({ settings, kinds }) => settings.sink === sink && (kinds === 'all' || kinds.includes(kind)),
    );
  // Records the sinks cannot take at all (a lone-worker incident away from a visit, Arbor only).
  const out: string[] = recordSinkWarnings(s).map((w) => w.message);
  if (rules.appointmentRecords && !reaches('visit_appointment', 'cpoms'))
    out.push(
      `the policy (${rules.appointmentRecords.source ?? 'appointment records'}) asks for appointment records on CPOMS, but no cpoms sink takes visit_appointment`,
    );
  if (rules.agreements?.attendanceNote && !reaches('agreement_broken', 'arbor-pastoral'))
    out.push(
      "the policy (4.3) asks for a note in the pupil's attendance record when an agreement is broken, but no arbor-pastoral sink takes agreement_broken: it goes to the school's records sink only (with Arbor, add agreement_broken to an arbor-pastoral sink's kinds in alsoRecordTo)",
    );
  const cpoms = rules.cpomsRecords;
  const notOnCpoms = (cpoms?.kinds ?? []).filter((kind) => !reaches(kind, 'cpoms'));
  if (cpoms && notOnCpoms.length)
    out.push(
      `the policy (${cpoms.source ?? 'records on CPOMS'}) puts ${notOnCpoms.join(', ')} on CPOMS, but no cpoms sink takes ${notOnCpoms.length === 1 ? 'it' : 'them'}: ${sinkSettingsOf(s).some(({ settings }) => settings.sink === 'cpoms') ? 'the cpoms sink takes other kinds only' : `they go to ${s.records.sink} only`} — staff will look for them on CPOMS (add a cpoms sink, or these kinds to one in alsoRecordTo)`,
    );
  for (const sink of rules.addressFlagRecords?.on ?? [])
    if (!reaches('address_flag', sink))
      out.push(
        `the policy (${rules.addressFlagRecords!.source ?? 'address flag records'}) asks for dangerous addresses to be recorded on ${sink === 'cpoms' ? 'CPOMS' : "the pupil's Arbor record"}, but no ${sink} sink takes address_flag${sink === 'arbor-pastoral' ? " (with Arbor, add address_flag to an arbor-pastoral sink's kinds in alsoRecordTo)" : ''}`,
      );
  return out;
}
