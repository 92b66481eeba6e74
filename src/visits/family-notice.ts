import type { SchoolConfig } from '../config/schema.ts';
import { londonClock, londonDate } from '../domain/attendance/dates.ts';
import { POLICY_EXEMPTION, type VisitRules } from '../domain/visits/rules.ts';
import { doorstepError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { familyTextOfDay, insertNotices } from '../store/notices.ts';
import { pupilLeaving } from '../store/pupils.ts';
import { openTriggersOf } from '../store/triggers.ts';
import type { User } from '../store/users.ts';
import { saveFamilyNotice } from '../store/visit-changes.ts';
import { knownSchool } from './access.ts';
import { audit, change, must, mustLock, sameInstant, type VisitDeps } from './change.ts';
import { seesPupilDetails } from './pupil-details-for.ts';
import { sendNotices } from './visit-notices.ts';

/** The date as a family reads it: "Tuesday 10 March". */
const FAMILY_DATE = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  timeZone: 'UTC',
});
export const familyDate = (isoDate: string) => FAMILY_DATE.format(new Date(`${isoDate}T12:00:00Z`));

/** The text the school's template (`notices.familySms`) says for a visit on `plannedFor`. */
export function familyTextFor(school: SchoolConfig, plannedFor: string): string {
  return school.notices.familySms
    .replaceAll('{school}', school.name)
    .replaceAll('{date}', familyDate(plannedFor))
    .replaceAll('{phone}', school.phone ?? 'the school office');
}

/**
 * What a family hears of a cancelled visit (Hampton: "staff and families will be informed"): that it
 * is off and the number to ring — never the staff's reason for calling it off, which is often one of
 * the policy's reasons not to visit (aggression, intoxication, a perpetrator at the address).
 */
export function familyCancellationText(school: SchoolConfig, plannedFor: string): string {
  return `${school.name}: the home visit planned for ${familyDate(plannedFor)} is cancelled. Please ring the school office on ${school.phone ?? 'the school number'} if you have any questions.`;
}

/** Whether an exemption applies to this pupil now, and why (or why not), in words. */
export interface ExemptionStanding {
  id: string;
  applies: boolean;
  why: string;
}

/**
 * Each exemption the school's policy allows, as it stands for the visit's pupil now: one resting on
 * triggers (`openTriggers`) applies while one of them is open for the pupil; one resting on the roll
 * (`offRollUnknownDestination`) applies while the pupil is off roll (left on or before today) and the
 * MIS says nobody knows where they went — a child missing education in the DfE's sense, whom no
 * absence trigger ever catches (no marks once off roll). A leaver the MIS gives no destination for
 * at all (Arbor's deleted students, Wonde's leavers, an export without a Destination, or with it
 * empty or too long to keep) is not one by the roll: nothing says where they went is unknown, and
 * most families are to be told. With both, either is enough, and `why` says which. King's
 * "persistent absenteeism or children missing in education" is what the records show, not what a
 * form says. `now` is the caller's clock (`deps.now()`): its London date is the day the leaving date
 * is judged against.
 */
export async function exemptionsFor(
  db: Queryable,
  rules: VisitRules,
  v: { schoolId: string; pupilMisId: string },
  now: Date = new Date(),
): Promise<ExemptionStanding[]> {
  const exemptions = rules.familyNotice?.exemptions ?? [];
  const keys = [...new Set(exemptions.flatMap((x) => x.openTriggers))];
  const open = await openTriggersOf(db, v.schoolId, v.pupilMisId, keys);
  const leaving = exemptions.some((x) => x.offRollUnknownDestination)
    ? await pupilLeaving(db, v.schoolId, v.pupilMisId)
    : null;
  const today = londonDate(now);
  const offRoll = leaving !== null && leaving.leftOn <= today;
  return exemptions.map((x) => {
    const byRoll = x.offRollUnknownDestination;
    if (x.openTriggers.length === 0 && !byRoll)
      return { id: x.id, applies: true, why: 'the policy allows it' };
    const found = open.find((o) => x.openTriggers.includes(o.ruleKey));
    if (found) return { id: x.id, applies: true, why: `open trigger: ${found.title}` };
    if (byRoll && offRoll && leaving.destinationUnknown)
      return {
        id: x.id,
        applies: true,
        why: `off roll since ${leaving.leftOn} with no known destination (a child missing education)`,
      };
    const noTrigger = x.openTriggers.length
      ? `the pupil has no open trigger for it (${x.openTriggers.join(' or ')})`
      : null;
    // Off roll with no destination given at all: nothing to judge by, so never called missing.
    const notGiven = byRoll && offRoll && leaving.leftTo === null;
    const roll = !byRoll
      ? null
      : !leaving
        ? 'is on roll'
        : !offRoll
          ? `is on roll until ${leaving.leftOn}`
          : notGiven
            ? `left the roll on ${leaving.leftOn} with no destination from the MIS to judge by (the roll gives this exemption only where the MIS records the destination as unknown)`
            : `left the roll on ${leaving.leftOn} for a known destination`;
    return {
      id: x.id,
      applies: false,
      why: noTrigger
        ? roll
          ? `${noTrigger}, and ${roll}`
          : noTrigger
        : notGiven
          ? `the pupil ${roll}`
          : `the pupil ${roll}, not off roll with no known destination`,
    };
  });
}

/** Said in place of why an exemption applies, or does not, to those the pupil's details are withheld from. */
export const EXEMPTION_WHY_WITHHELD = "why is shown to those who see the pupil's details";

/**
 * The exemptions as a person is shown them: each with why, where they see the pupil's details
 * (`seesDetails`, `seesPupilDetails`); else whether one applies and no more — one POLICY_EXEMPTION
 * when any does, none when none does. Which one, and why (an open trigger's title, the pupil off
 * roll to nobody knows where), is the pupil's details: "Absence of a vulnerable pupil" fires only for
 * the flags withheld. The person going still learns what the policy asks of them: whether the family
 * is told first.
 */
export function exemptionsShown(seesDetails: boolean, all: ExemptionStanding[]): ExemptionStanding[] {
  if (seesDetails) return all;
  return all.some((x) => x.applies)
    ? [
        {
          id: POLICY_EXEMPTION,
          applies: true,
          why: `the school's policy says the family need not be told first for this visit; ${EXEMPTION_WHY_WITHHELD}`,
        },
      ]
    : [];
}

/** How a recorded exemption reads ("persistent absence"); POLICY_EXEMPTION to those who do not see the pupil's details. */
export const exemptionWords = (seesDetails: boolean, id: string) =>
  (seesDetails ? id : POLICY_EXEMPTION).replace(/-/g, ' ');

/**
 * Before leaving, how the family was told of the visit — one of the ways the school's policy names
 * (a letter, printable from the visit page; a phone call; a text; in person; a written confirmation
 * of the appointment) — or the exemption the policy allows (King's: persistent absence, missing
 * education). Where the pack requires it, the visit cannot leave until one is recorded.
 *
 * A text is sent by Doorstep through the school's SMS channel to the pupil's first contact with a
 * phone (`sentBy: 'doorstep'`, the default), or was sent by the member of staff from a school phone
 * (`sentBy: 'staff'`: Heath Lane's "Collect a school phone", and the only way for a school with no
 * SMS channel) — either way a text, as the policy asks; nothing else stands in for it.
 */
export async function tellFamily(
  deps: VisitDeps,
  user: User,
  visitId: string,
  input: {
    method?: string | undefined;
    exemption?: string | undefined;
    note?: string | undefined;
    sentBy?: 'doorstep' | 'staff' | undefined;
    /**
     * When the record the page showed was made (null: none yet): this one replaces it, and one
     * recorded since the page was read refuses it (409). Absent (an API client): it replaces any.
     */
    replaces?: string | null | undefined;
  },
): Promise<void> {
  if (Boolean(input.method) === Boolean(input.exemption))
    throw doorstepError(
      'BAD_REQUEST',
      'method: expected how the family was told, or an exemption (one of them)',
    );
  if (input.sentBy && input.method !== 'sms')
    throw doorstepError('BAD_REQUEST', 'sentBy: only a text (method sms) is sent by Doorstep or by staff');
  const sentBy = input.method === 'sms' ? (input.sentBy ?? 'doorstep') : null;
  const now = deps.now();
  const notices = await change(deps, async (tx) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'tell-family');
    const rules = deps.rulesFor(v.schoolId);
    // Which exemption applies, and why, is told only to those shown the pupil's details.
    const sees = seesPupilDetails(user, v, rules);
    const told = v.familyNotice;
    if (input.replaces !== undefined && !sameInstant(input.replaces, told?.at ?? null))
      throw doorstepError(
        'CONFLICT',
        told
          ? `how the family was told was recorded since this page was read (${told.method ?? `not told first: ${exemptionWords(sees, told.exemption ?? '')}`}, ${londonClock(new Date(told.at))} on ${londonDate(new Date(told.at))}): read it — recording it again replaces it`
          : 'how the family was told, as this page showed it, was withdrawn since (the visit moved to another day): read the visit again',
      );
    const rule = rules.familyNotice!;
    if (input.method && !(rule.methods as readonly string[]).includes(input.method))
      throw doorstepError(
        'BAD_REQUEST',
        `method: expected one of ${rule.methods.join(', ')} (the school's policy)`,
      );
    // Thames View 2.6: "Written confirmation of the appointment": of its day and time, so not before
    // the time is recorded where the pack requires an appointment.
    if (
      input.method === 'written-confirmation' &&
      deps.rulesFor(v.schoolId).appointments?.required &&
      !v.appointmentAt
    )
      throw doorstepError(
        'POLICY',
        "method: the written confirmation is of the appointment: record the appointment's time first",
      );
    if (
      input.exemption &&
      input.exemption !== POLICY_EXEMPTION &&
      !rule.exemptions.some((x) => x.id === input.exemption)
    )
      throw doorstepError(
        'BAD_REQUEST',
        rule.exemptions.length
          ? `exemption: expected one of ${rule.exemptions.map((x) => x.id).join(', ')} (the school's policy)`
          : "exemption: the school's policy allows none",
      );
    // Those the pupil's details are withheld from name only the stand-in: naming the policy's own,
    // one by one, would tell them by its answer which applies (that a child is missing education).
    if (!sees && input.exemption && input.exemption !== POLICY_EXEMPTION)
      throw doorstepError(
        'BAD_REQUEST',
        `exemption: expected ${POLICY_EXEMPTION} (which of the school's exemptions applies is shown to those who see the pupil's details)`,
      );
    // The exemption recorded: the one named, or for POLICY_EXEMPTION (what those the pupil's details
    // are withheld from are offered) the one recorded already while it still applies (a note changed
    // through "Change" never swaps the office's choice), else the first of the policy's that applies.
    let exemption = input.exemption ?? null;
    if (input.exemption) {
      const standings = await exemptionsFor(tx, rules, v, now);
      const standing =
        input.exemption === POLICY_EXEMPTION
          ? (standings.find((x) => x.id === told?.exemption && x.applies) ??
            standings.find((x) => x.applies) ??
            null)
          : standings.find((x) => x.id === input.exemption)!;
      if (!standing)
        throw doorstepError(
          'POLICY',
          `exemption: none of the school's policy applies to this visit's pupil: ${sees ? standings.map((x) => `${x.id.replace(/-/g, ' ')}: ${x.why}`).join('; ') || 'it names none' : EXEMPTION_WHY_WITHHELD}; tell the family first`,
        );
      if (!standing.applies)
        throw doorstepError(
          'POLICY',
          `exemption: ${input.exemption.replace(/-/g, ' ')} does not apply to this visit's pupil: ${sees ? standing.why : EXEMPTION_WHY_WITHHELD}; tell the family first`,
        );
      exemption = standing.id;
    }
    const school = knownSchool(deps.config, v.schoolId);
    // Where Doorstep can send it, it does: the text is then sent to the family's contact and its
    // delivery recorded, never only said to have been sent.
    if (sentBy === 'staff' && school.channels.sms)
      throw doorstepError(
        'POLICY',
        'sentBy: the school sends the family text through Doorstep: record it as a text, and Doorstep sends it',
      );
    let ids: string[] = [];
    if (sentBy === 'doorstep') {
      if (!school.channels.sms)
        throw doorstepError(
          'POLICY',
          'sentBy: the school has no SMS channel, so Doorstep cannot send the text: text the family from a school phone, then record it as sent by staff',
        );
      // Once per day (the text names the day): a second text about the same visit (a double tap, or
      // anyone on the visit list pressing again and again) is refused while the first is on its way
      // or sent — read from the texts themselves, so recording a letter or a call in between clears
      // nothing. A text that failed may be sent again; a visit moved to a new day is texted anew.
      const earlier = await familyTextOfDay(tx, visitId, v.plannedFor);
      if (earlier)
        throw doorstepError(
          'CONFLICT',
          `the family was already texted about this visit (${earlier.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${earlier.status}); a new day is texted anew`,
        );
      const text = familyTextFor(school, v.plannedFor);
      ids = await insertNotices(tx, {
        schoolId: school.id,
        kind: 'family',
        visitId,
        // Each press its own (the check above, under the visit's lock, keeps it to one text a day).
        key: `${v.plannedFor}:${now.toISOString()}`,
        targets: ['sms:family'],
        subject: `home visit on ${v.plannedFor}`,
        text,
      });
      // Never recorded as texted by Doorstep without a text on its way.
      if (ids.length === 0)
        throw doorstepError('CONFLICT', 'the family text was not queued: try again in a moment');
    }
    await saveFamilyNotice(tx, visitId, {
      method: input.method ?? null,
      exemption,
      note: input.note?.trim() || null,
      at: now.toISOString(),
      by: user.id,
      noticeId: ids[0] ?? null,
      ...(sentBy ? { sentBy } : {}),
    });
    await audit(
      tx,
      user,
      'visit.family-told',
      v,
      // What it replaces, whole (the visit keeps only the latest).
      { familyNotice: told ? (told.method ?? told.exemption) : null, ...(told ? { replaced: told } : {}) },
      {
        method: input.method ?? null,
        exemption,
        noticeId: ids[0] ?? null,
        ...(sentBy ? { sentBy } : {}),
      },
    );
    return ids;
  });
  await sendNotices(deps.producer, notices);
}
