import { academicYearOf, addDays, monthsBefore } from '../attendance/dates.ts';
import type { SchoolCalendar } from '../calendar.ts';
import type { EvaluationCaches, EvaluationContext, Finding, RuleInPack } from './finding.ts';
import { RULE_KINDS, type RuleKind, type RuleKindEvaluator } from './kinds/index.ts';
import { ATTENDED, codeSet, NO_REASON, NOT_POSSIBLE, type PupilAttendance } from './pupil-attendance.ts';

/**
 * Evaluates pupils against rules. Pure in what it returns (same marks, calendar and day → same
 * findings); it holds the caches that make bulk evaluation fast — window starts per day, code sets
 * per rule, session counts per pupil — so one evaluator serves one evaluation run (a school's
 * pupils) and is then dropped with them; date arithmetic is remembered by the calendar itself. Each rule kind is its own module
 * (`./kinds/*.ts`), found through the registry in `./kinds/index.ts`.
 */
export class TriggerEvaluator implements EvaluationCaches {
  private readonly setCache = new WeakMap<object, Uint8Array>();
  private readonly noReasonCache = new WeakMap<Uint8Array, Uint8Array>();
  private readonly windowStarts = new Map<string, string>();
  private readonly ruleKeys = new WeakMap<readonly RuleInPack[], readonly string[]>();
  private readonly countMemo = new WeakMap<
    PupilAttendance,
    Map<number, { possible: number; attended: number }>
  >();

  /** Evaluates every rule for one pupil. */
  evaluatePupil(p: PupilAttendance, rules: readonly RuleInPack[], ctx: EvaluationContext): Finding[] {
    const todayIndex = p.calendar.indexOnOrBefore(ctx.today);
    const keys = this.ruleKeysOf(rules);
    // A pupil who has left the roll for a known destination is that school's now: the school's own
    // rules (its visits and calls) judge only the leaving itself (a CME check); the law's duties for
    // what happened while on this roll (the 10-day return, the N deadline, the illness return:
    // `afterLeaving`) still stand. The rest of the statutory pack does not: a removal-from-roll
    // review needs a pupil the school and LA failed to find (reg. 9(1)(i)) — this one is found — and
    // persistent or severe absence is a measure of a pupil on roll. One gone where nobody knows is
    // still judged on everything.
    const gone = p.leaving?.destination && p.leaving.on <= ctx.today ? p.leaving : null;
    return rules.map(({ rule }, i) => {
      // The registry pairs each kind with its evaluator; `rule.kind` picks the matching one.
      const kind = RULE_KINDS[rule.kind] as unknown as RuleKindEvaluator<RuleKind>;
      const r =
        gone && rule.kind !== 'left-roll' && !rule.afterLeaving
          ? {
              fired: false,
              evidence: {},
              explanation: !ctx.explain
                ? ''
                : `left the roll on ${gone.on} for a known destination: no longer this school's to act on`,
            }
          : kind(p, rule, todayIndex, ctx, this);
      const f: Finding = {
        ruleKey: keys[i]!,
        title: rule.title,
        action: rule.action,
        role: rule.role,
        source: rule.source,
        ...r,
      };
      f.action = r.action ?? rule.action;
      f.role = r.role ?? rule.role;
      return f;
    });
  }

  /** `pack:rule` of each rule, built once per rule list (every pupil's findings share the strings). */
  private ruleKeysOf(rules: readonly RuleInPack[]): readonly string[] {
    let keys = this.ruleKeys.get(rules);
    if (!keys) {
      keys = rules.map(({ packId, rule }) => `${packId}:${rule.id}`);
      this.ruleKeys.set(rules, keys);
    }
    return keys;
  }

  /** Index of the first school day on or after `from` (the calendar remembers it). */
  firstIndexFrom(calendar: SchoolCalendar, from: string): number {
    return calendar.indexOnOrAfter(from);
  }

  /** School days (indexes) of the week 52 weeks before day `d` (the calendar remembers it). */
  lastYearWeek(calendar: SchoolCalendar, d: number): readonly number[] {
    return calendar.sameWeekLastYear(d);
  }

  /** The codes of `set` that carry no reason (N, O: `NO_REASON`). */
  noReasonSet(set: Uint8Array): Uint8Array {
    let s = this.noReasonCache.get(set);
    if (!s) {
      s = set.map((v, i) => (v === 1 && NO_REASON[i] === 1 ? 1 : 0));
      this.noReasonCache.set(set, s);
    }
    return s;
  }

  /** The rule's codes as a set, or `fallback` when it names none. */
  setFor(rule: { codes?: readonly string[] | undefined }, fallback: Uint8Array): Uint8Array {
    if (!rule.codes) return fallback;
    let s = this.setCache.get(rule.codes);
    if (!s) {
      s = codeSet(rule.codes);
      this.setCache.set(rule.codes, s);
    }
    return s;
  }

  /** The first day of a rate window ending today: N months back, or the academic year's start. */
  windowStart(ctx: EvaluationContext, window: { months: number } | 'academic-year'): string {
    const key = `${ctx.today}|${window === 'academic-year' ? 'ay' : window.months}`;
    let from = this.windowStarts.get(key);
    if (from === undefined) {
      if (window === 'academic-year') from = `${academicYearOf(ctx.today)}-09-01`;
      else from = addDays(monthsBefore(ctx.today, window.months), 1);
      if (this.windowStarts.size > 10_000) this.windowStarts.clear();
      this.windowStarts.set(key, from);
    }
    return from;
  }

  /** Possible and attended sessions from day `first` to `last`; several rate rules share one count. */
  sessionCounts(p: PupilAttendance, first: number, last: number): { possible: number; attended: number } {
    let memo = this.countMemo.get(p);
    if (!memo) {
      memo = new Map();
      this.countMemo.set(p, memo);
    }
    const key = first * 100_000 + last;
    const hit = memo.get(key);
    if (hit) return hit;
    let possible = 0;
    let attended = 0;
    const slots = p.slots;
    for (let i = first * 2; i <= last * 2 + 1; i++) {
      const c = slots[i]!;
      if (c === 0 || NOT_POSSIBLE[c] === 1) continue;
      possible++;
      attended += ATTENDED[c]!;
    }
    const result = { possible, attended };
    memo.set(key, result);
    return result;
  }
}
