import type { SchoolConfig } from '../config/schema.ts';
import { addDays } from '../domain/attendance/dates.ts';
import { SLOTS_PER_MONTH } from '../domain/attendance/month-slots.ts';
import type { SchoolCalendar } from '../domain/calendar.ts';
import { TriggerEvaluator } from '../domain/triggers/evaluator.ts';
import {
  type Evidence,
  type Finding,
  perRun,
  type RuleInPack,
  reportedBefore,
  startsNewEpisode,
} from '../domain/triggers/finding.ts';
import { codeNumberIn, PupilAttendance } from '../domain/triggers/pupil-attendance.ts';
import { type Flag, type Rule, responseRises } from '../domain/triggers/rules.ts';
import { recordsToSinks } from '../records/record-outbox.ts';
import { renderTriggerNote } from '../records/templates/trigger-note.ts';
import { appendAuditMany } from '../store/audit.ts';
import type { Db, Queryable } from '../store/db.ts';
import {
  closedEvidenceOf,
  closeEpisode,
  insertEpisodes,
  levelsNotified,
  loadAttendance,
  type OpenEpisode,
  openEpisodesFor,
  pupilIdPage,
  updateEpisode,
} from '../store/triggers.ts';
import { calendarFor } from './calendar-for.ts';
import { sameJson } from './same-json.ts';

export interface EvaluationReport {
  pupils: number;
  raised: number;
  updated: number;
  closed: number;
  /** Open episodes whose recommended action rose (a phone call → a home visit): a new trigger note each. */
  escalated: number;
}

const CHUNK = 1000;

/**
 * Each pupil's attendance laid over the school calendar (marks on days the school does not meet are
 * left out, as `PupilAttendance.set` does), with their flags and refused leave. Reads only.
 */
export async function attendanceViews(
  db: Db,
  school: SchoolConfig,
  pupilIds: readonly string[],
  today: string,
): Promise<Map<string, { upn: string | null; view: PupilAttendance }>> {
  const calendar = calendarFor(school, today);
  const from = calendar.days[0] ?? today;
  const { pupils, marks, refusals } = await loadAttendance(db, school.id, pupilIds, from);
  const views = new Map<string, { upn: string | null; view: PupilAttendance }>();
  for (const p of pupils) {
    const view = new PupilAttendance(p.mis_id, p.flags as Partial<Record<Flag, boolean>>, calendar);
    if (p.left_on) view.leaving = { on: p.left_on, destination: p.left_to };
    views.set(p.mis_id, { upn: p.upn, view });
  }
  const slotOf = halfDaySlots(calendar, from);
  const fromMs = Date.parse(from);
  // Every pupil's row of a month lays its sessions on the same slots: worked out once a month.
  const monthSlots = new Map<string, Int16Array>();
  for (const m of marks) {
    const view = views.get(m.pupil_mis_id)?.view;
    if (!view) continue;
    let slots = monthSlots.get(m.month);
    if (slots === undefined) {
      slots = sessionSlots((Date.parse(m.month) - fromMs) / 86_400_000, slotOf);
      monthSlots.set(m.month, slots);
    }
    setMonth(view, m.codes, slots);
  }
  for (const r of refusals)
    views.get(r.pupil_mis_id)?.view.refusedLeave.push({ from: r.from_date, to: r.to_date });
  return views;
}

/** Half-day offset from `from` (AM even, PM odd) → slot in a `PupilAttendance`, or -1 when the school does not meet. */
function halfDaySlots(calendar: SchoolCalendar, from: string): (halfDay: number) => number {
  const known: number[] = [];
  return (halfDay) => {
    const day = halfDay >> 1;
    let i = known[day];
    if (i === undefined) {
      i = calendar.indexOf(addDays(from, day)) ?? -1;
      known[day] = i;
    }
    return i < 0 ? -1 : i * 2 + (halfDay & 1);
  };
}

/**
 * A month's sessions (the 1st's morning first) → slots in a `PupilAttendance`, -1 for none.
 * `startDay`: the month's first day as days after `from` (negative when `from` falls within the
 * month: earlier marks are left out).
 */
function sessionSlots(startDay: number, slotOf: (halfDay: number) => number): Int16Array {
  const slots = new Int16Array(SLOTS_PER_MONTH);
  for (let session = 0; session < SLOTS_PER_MONTH; session++) {
    const halfDay = (startDay + (session >> 1)) * 2 + (session & 1);
    slots[session] = halfDay < 0 ? -1 : slotOf(halfDay);
  }
  return slots;
}

/**
 * Applies a month of marks as `loadAttendance` reads them: the codes of its 62 sessions (the 1st's
 * morning first) separated by commas, an empty field where there is no mark; `slots` from
 * `sessionSlots`.
 */
function setMonth(view: PupilAttendance, codes: string, slots: Int16Array): void {
  const n = codes.length;
  let session = 0;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && codes.charCodeAt(i) !== 44) continue;
    if (i > start) {
      const slot = session < SLOTS_PER_MONTH ? slots[session]! : -1;
      if (slot >= 0) view.slots[slot] = codeNumberIn(codes, start, i);
    }
    session++;
    start = i + 1;
  }
}

/** Builds each pupil's attendance over the calendar and evaluates every rule. Reads only. */
export async function findingsFor(
  db: Db,
  school: SchoolConfig,
  rules: readonly RuleInPack[],
  pupilIds: readonly string[],
  today: string,
  explain = false,
): Promise<Map<string, { upn: string | null; findings: Finding[] }>> {
  const views = await attendanceViews(db, school, pupilIds, today);
  const out = new Map<string, { upn: string | null; findings: Finding[] }>();
  // One evaluator for this calendar's pupils: its caches live as long as this call.
  const evaluator = new TriggerEvaluator();
  for (const [id, { upn, view }] of views)
    out.set(id, { upn, findings: evaluator.evaluatePupil(view, rules, { today, explain }) });
  return out;
}

/**
 * Evaluates a school's triggers for some pupils (after an import) or all of them (nightly) and
 * reconciles episodes, one transaction per chunk of pupils: a condition that starts opens an episode
 * and writes its trigger note to the outbox in the same transaction; one that lasts updates the
 * episode's evidence; one that ends closes it. Evaluating the same data twice changes nothing.
 */
export async function evaluateSchoolTriggers(
  db: Db,
  school: SchoolConfig,
  rules: readonly RuleInPack[],
  options: { today: string; pupilIds: readonly string[] | 'all'; actor: string; now: Date },
): Promise<EvaluationReport> {
  const report: EvaluationReport = { pupils: 0, raised: 0, updated: 0, closed: 0, escalated: 0 };
  const ruleByKey = new Map<string, Rule>(rules.map((r) => [`${r.packId}:${r.rule.id}`, r.rule]));
  const chunks = async function* (): AsyncGenerator<string[]> {
    if (options.pupilIds !== 'all') {
      for (let i = 0; i < options.pupilIds.length; i += CHUNK) yield options.pupilIds.slice(i, i + CHUNK);
      return;
    }
    let after = '';
    for (;;) {
      const page = await pupilIdPage(db, school.id, after, CHUNK);
      if (page.length === 0) return;
      yield page;
      after = page.at(-1)!;
    }
  };
  for await (const ids of chunks()) {
    const findings = await findingsFor(db, school, rules, ids, options.today);
    report.pupils += findings.size;
    await db.transaction(async (tx) => {
      const open = await openEpisodesFor(tx, school.id, ids);
      // Conditions that start are opened together after the loop: three statements for the chunk
      // (episodes, their trigger notes, their audit entries), not three per episode.
      const raised: { pupilId: string; upn: string | null; finding: Finding }[] = [];
      // Open episodes whose recommended action rose to the rule's own (Heath Lane: contact stopped,
      // or a concern arose, so the phone call is now a home visit): told like a new episode.
      const rose: { pupilId: string; upn: string | null; finding: Finding; episode: OpenEpisode }[] = [];
      // The open episodes' keys by pupil and rule: a finding looks its episode up without building a
      // key (most findings, of every rule for every pupil, have none).
      const openKeys = new Map<string, Map<string, string>>();
      for (const [key, e] of open) {
        let mine = openKeys.get(e.pupilMisId);
        if (mine === undefined) {
          mine = new Map();
          openKeys.set(e.pupilMisId, mine);
        }
        mine.set(e.ruleKey, key);
      }
      for (const [pupilId, { upn, findings: list }] of findings) {
        const mine = openKeys.get(pupilId);
        for (const f of list) {
          const key = mine?.get(f.ruleKey);
          const episode = key === undefined ? undefined : open.get(key);
          if (key !== undefined) open.delete(key);
          if (f.fired && !episode) {
            raised.push({ pupilId, upn, finding: f });
          } else if (
            f.fired &&
            episode &&
            startsNewEpisode(ruleByKey.get(f.ruleKey), episode.evidence as Evidence, f.evidence)
          ) {
            // A second run (the pupil back in between, whether or not an evaluation ran that day):
            // the first's episode closed, this one raised with its own note.
            await closeEpisode(tx, episode.id, options.today, options.actor, school.id);
            report.closed++;
            raised.push({ pupilId, upn, finding: f });
          } else if (f.fired && episode) {
            const changed =
              episode.action !== f.action ||
              episode.role !== f.role ||
              !sameJson(episode.evidence, f.evidence);
            if (changed) {
              await updateEpisode(tx, episode.id, f);
              report.updated++;
              const rule = ruleByKey.get(f.ruleKey);
              if (rule && responseRises(rule, episode.action, f.action))
                rose.push({ pupilId, upn, finding: f, episode });
            }
          } else if (!f.fired && episode) {
            await closeEpisode(tx, episode.id, options.today, options.actor, school.id);
            report.closed++;
          }
        }
      }
      // A per-run finding a closed episode already covered was reported then: not raised again.
      const perRunRaised = raised.filter((r) => perRun(ruleByKey.get(r.finding.ruleKey)));
      if (perRunRaised.length > 0) {
        const closed = await closedEvidenceOf(
          tx,
          school.id,
          [...new Set(perRunRaised.map((r) => r.pupilId))],
          [...new Set(perRunRaised.map((r) => r.finding.ruleKey))],
        );
        for (let i = raised.length - 1; i >= 0; i--) {
          const r = raised[i]!;
          const before = closed.get(`${r.pupilId}|${r.finding.ruleKey}`) as Evidence[] | undefined;
          if (before && reportedBefore(ruleByKey.get(r.finding.ruleKey), before, r.finding.evidence))
            raised.splice(i, 1);
        }
      }
      if (raised.length > 0) {
        const episodeIds = await insertEpisodes(
          tx,
          raised.map((r) => ({
            schoolId: school.id,
            pupilMisId: r.pupilId,
            finding: r.finding,
            today: options.today,
          })),
        );
        const ids = raised.map((r) => episodeIds.get(`${r.pupilId}|${r.finding.ruleKey}`)!);
        await recordsToSinks(
          tx,
          school,
          raised.map((r, i) => {
            const note = renderTriggerNote(r.finding, { misId: r.pupilId, upn: r.upn }, options.today);
            return {
              schoolId: school.id,
              kind: 'trigger_note' as const,
              pupilIds: [r.pupilId],
              title: note.title,
              body: note.body,
              occurredAt: options.now,
              idempotencyKey: `trigger-note:${school.id}:${ids[i]}`,
              sourceType: 'trigger_episode',
              sourceId: ids[i]!,
            };
          }),
        );
        await appendAuditMany(
          tx,
          raised.map((r, i) => ({
            actor: options.actor,
            action: 'trigger.raised',
            schoolId: school.id,
            entityType: 'trigger_episode',
            entityId: ids[i]!,
            after: {
              pupil: r.pupilId,
              rule: r.finding.ruleKey,
              action: r.finding.action,
              role: r.finding.role,
            },
          })),
        );
        report.raised += raised.length;
      }
      if (rose.length > 0) report.escalated += await tellRisen(tx, school, rose, options);
      // Open episodes of rules no longer in the school's packs, or of pupils no longer on roll: closed.
      for (const episode of open.values()) {
        if (findings.has(episode.pupilMisId) && ruleByKey.has(episode.ruleKey)) continue;
        await closeEpisode(tx, episode.id, options.today, options.actor, school.id);
        report.closed++;
      }
    });
  }
  return report;
}

/**
 * A trigger note and an audit entry for each open episode whose recommended action rose — once per
 * episode and level: the note's idempotency key names the level, and a level the episode was already
 * raised or escalated at (its audit entries say so) is not told again. Returns how many were told.
 */
async function tellRisen(
  tx: Queryable,
  school: SchoolConfig,
  rose: readonly { pupilId: string; upn: string | null; finding: Finding; episode: OpenEpisode }[],
  options: { today: string; actor: string; now: Date },
): Promise<number> {
  const told = await levelsNotified(
    tx,
    rose.map((r) => r.episode.id),
  );
  const fresh = rose.filter((r) => !told.get(r.episode.id)?.has(r.finding.action));
  if (fresh.length === 0) return 0;
  await recordsToSinks(
    tx,
    school,
    fresh.map((r) => {
      const note = renderTriggerNote(r.finding, { misId: r.pupilId, upn: r.upn }, options.today);
      const from = withArticle(r.episode.action);
      const to = withArticle(r.finding.action);
      return {
        schoolId: school.id,
        kind: 'trigger_note' as const,
        pupilIds: [r.pupilId],
        title: `${note.title} — now ${to}`,
        body: `The recommended action for this trigger (open since ${r.episode.openedOn}) has risen from ${from} to ${to}.\n\n${note.body}`,
        occurredAt: options.now,
        idempotencyKey: `trigger-note:${school.id}:${r.episode.id}:${r.finding.action}`,
        sourceType: 'trigger_episode',
        sourceId: r.episode.id,
      };
    }),
  );
  await appendAuditMany(
    tx,
    fresh.map((r) => ({
      actor: options.actor,
      action: 'trigger.escalated',
      schoolId: school.id,
      entityType: 'trigger_episode',
      entityId: r.episode.id,
      before: { action: r.episode.action, role: r.episode.role },
      after: {
        pupil: r.pupilId,
        rule: r.finding.ruleKey,
        action: r.finding.action,
        role: r.finding.role,
      },
    })),
  );
  return fresh.length;
}

/** `home-visit` → "a home visit", `attendance-meeting` → "an attendance meeting". */
function withArticle(action: string): string {
  const words = action.replace(/-/g, ' ');
  return `${/^[aeiou]/.test(words) ? 'an' : 'a'} ${words}`;
}
