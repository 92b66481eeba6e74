import * as z from 'zod';
import { closest } from '../../core/similar.ts';
import { ALARM_TYPES } from '../fob/event.ts';

/**
 * Escalation policy: ordered levels, each with the targets to notify and the wait before it (after
 * the previous level; the first after the alarm is raised); a condition that must still hold for a
 * level to fire; and how many times the whole ladder repeats. The policy is snapshotted onto the
 * alarm when it is raised, so a config change never alters an alarm in progress. Pure.
 */
/**
 * The contacts group that is not in the config: the people on the alarm's visit (or the wearer of
 * the device), whose phones and e-mail come from their accounts when the notification is sent.
 */
export const VISITING_STAFF = 'visiting-staff';

/**
 * The channels that never reach the people an alarm is about (a call asks its callee to take the
 * alarm; a push goes to the office's devices), so a ladder step `call:visiting-staff` or
 * `push:visiting-staff` would reach no one: refused when the config is read, not found at the alarm.
 */
const NOT_TO_VISITING_STAFF = ['call', 'push'];

/**
 * The longest a level may wait, in minutes: 4 hours — the longest an acknowledgement may pause a
 * ladder (`reescalateAfterMinutes`), and the furthest ahead a worker may say they will be back. The
 * ladders shipped wait 30 minutes at most (Hampton's policy; the example config 10), Doorstep's own
 * 15. Unbounded, a typo was taken as it stood: the last level repeats at its own wait, so one of a
 * year (525600) is a ladder that in effect ends in silence, and one past a date's range left the next
 * step with no time at all — the step failing every minute, its level never sent.
 */
export const MAX_LEVEL_WAIT_MINUTES = 240;

export const escalationLevel = z.strictObject({
  afterMinutes: z
    .number()
    .min(0, { error: 'expected minutes >= 0' })
    .max(MAX_LEVEL_WAIT_MINUTES, {
      error: `expected minutes <= ${MAX_LEVEL_WAIT_MINUTES} (4 hours): a longer wait leaves the alarm unheard that long, and the last level repeats only at its own wait`,
    }),
  notify: z
    .array(
      z
        .string()
        .regex(/^[a-z-]+(:[a-z0-9-]+)?$/, {
          error: 'expected a target such as board or sms:on-call-leaders',
        })
        .refine((t) => !NOT_TO_VISITING_STAFF.some((c) => t === `${c}:${VISITING_STAFF}`), {
          error: `a call or push to ${VISITING_STAFF} reaches no one (the people on the visit are who the alarm is about, and no call or push goes to them): expected sms:${VISITING_STAFF} or email:${VISITING_STAFF} to reach them, or another group`,
        })
        // `…:family` reaches the pupil's family: an alarm about the staff on their visit (with the
        // worker's name, the alarm and what to do) is never theirs to receive.
        .refine((t) => !t.endsWith(':family'), {
          error:
            "the family is not alerted: an alarm is about the staff on the visit and goes to the school's people",
        }),
    )
    .min(1, {
      error: 'expected at least one target',
    }),
  /** What the board tells the office to do at this level, e.g. "Call the visiting staff now". */
  prompt: z.string().min(1).max(200).optional(),
});

/**
 * The register's alarm kinds about a worker not heard from (overdue, a missed check-in, a silent
 * fob): their text or e-mail to `visiting-staff` asks the worker themselves to call in. Every other
 * alarm (a fob's SOS, fall, duress; the phone page's I need help) is never sent to the people it is
 * about — a phone buzzing "DURESS" in the hand of someone in danger can give them away.
 */
export const ASKS_THE_WORKER = new Set(['overdue_visit', 'missed_check_in', 'device_silent']);

/**
 * Every name a ladder may be given — the names `policyFor` looks a ladder up by: `alarm` (every
 * device alarm without its own), each device alarm type (`sos`, `timer-overrun`, …) and each alarm
 * the visit register raises (`overdue-visit`, `missed-check-in`, `device-silent`), `_` written `-`.
 * Any other name would be a ladder that never runs, while the alarm it was meant for runs another.
 */
export const LADDER_KINDS: readonly string[] = [
  ...new Set(['alarm', ...ALARM_TYPES, ...ASKS_THE_WORKER].map((t) => t.replace(/_/g, '-'))),
];

/** A ladder's name: one of `LADDER_KINDS`, a misspelt one named with the kind it is likely meant to be. */
const ladderKind = z.string().superRefine((kind, ctx) => {
  if (LADDER_KINDS.includes(kind)) return;
  const near = closest(kind, LADDER_KINDS);
  ctx.addIssue({
    code: 'custom',
    input: kind,
    message: `unknown alarm kind ${JSON.stringify(kind)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''} (expected one of ${LADDER_KINDS.join(', ')})`,
  });
});

/**
 * The alarms the wearer means to raise unseen: a duress (the code word, the fob's duress button) or a
 * silent alarm. Never posted where the people on the visit may read it.
 */
export const UNSEEN_KINDS: readonly string[] = ['duress', 'silent'];

/**
 * Channels that post to a shared room or another system (Teams, Google Chat, a webhook): whoever
 * reads them there, the wearer and the people on their visit among them, cannot be left out.
 */
export const SHARED_CHANNELS: readonly string[] = ['teams', 'google-chat', 'webhook'];

/** Why `target` may not be on a ladder a duress or silent alarm follows (`where`: that ladder and level). */
export function sharedOnUnseen(kind: string, where: string, target: string): string {
  return `${target} on ${where} posts a ${kind} alarm to a shared room or system, which cannot leave out the wearer and the people on their visit — a phone lighting up with it can give the wearer away: use sms, call, push or email to named groups`;
}

/**
 * A school's (or a policy pack's) ladders by kind: each named by one of `LADDER_KINDS`, refusing
 * `sms:`/`email:visiting-staff` on a ladder that is for device alarms only (`alarm`, `sos`, `duress`,
 * …): it would reach no one (the wearer and the people on their visit are never paged about their
 * own alarm), yet `doorstep check` would count it as a person.
 */
export function laddersByKind<T extends z.ZodType<EscalationPolicy>>(policy: T) {
  return z.record(ladderKind, policy).superRefine((ladders, ctx) => {
    for (const [kind, ladder] of Object.entries(ladders)) {
      if (UNSEEN_KINDS.includes(kind))
        ladder.levels.forEach((level, i) => {
          level.notify.forEach((t, j) => {
            if (SHARED_CHANNELS.includes(t.split(':')[0]!))
              ctx.addIssue({
                code: 'custom',
                input: t,
                path: [kind, 'levels', i, 'notify', j],
                message: sharedOnUnseen(kind, `the ${kind} ladder's level ${i + 1}`, t),
              });
          });
        });
      if (ASKS_THE_WORKER.has(kind.replace(/-/g, '_'))) continue;
      ladder.levels.forEach((level, i) => {
        level.notify.forEach((t, j) => {
          if (t === `sms:${VISITING_STAFF}` || t === `email:${VISITING_STAFF}`)
            ctx.addIssue({
              code: 'custom',
              input: t,
              path: [kind, 'levels', i, 'notify', j],
              message: `${t} on the ${kind} ladder reaches no one: a device alarm (SOS, fall, duress) is never sent to the person it is about or the people on their visit — only the register's overdue, missed check-in and silent-fob ladders text the worker to call in`,
            });
        });
      });
    }
  });
}

/**
 * The acknowledgement timeout of a ladder that pauses when acknowledged and names none: without one
 * an acknowledged alarm forgotten by whoever took it would never sound again.
 */
export const DEFAULT_REESCALATE_MINUTES = 10;

const escalationPolicyShape = z.strictObject({
  condition: z.enum(['if-not-acknowledged', 'if-not-resolved']).default('if-not-acknowledged'),
  levels: z.array(escalationLevel).min(1, { error: 'expected at least one level' }),
  /**
   * Times the whole ladder runs again after its last level (0: once). After that the last level
   * repeats at its own interval (a minute if that is 0) until a person responds: no ladder ends in silence.
   */
  repeat: z.int().min(0).max(9).default(0),
  /**
   * Acknowledgement timeout: an acknowledged alarm that is still not resolved (the worker not known
   * to be safe) this many minutes later is open again and re-enters the ladder where it was.
   */
  reescalateAfterMinutes: z.number().min(0.05).max(240).optional(),
  /** Where the ladder comes from: the policy clause (a pack's ladder), or the school's own choice. */
  source: z.string().min(1).optional(),
});

/**
 * A ladder as configured. One that pauses when acknowledged (`if-not-acknowledged`) always has an
 * acknowledgement timeout — its own, or `DEFAULT_REESCALATE_MINUTES`: an acknowledgement is someone
 * handling it, never the end of the watch.
 */
export const escalationPolicy = escalationPolicyShape.transform(withAckTimeout);
export type EscalationPolicy = z.output<typeof escalationPolicyShape>;

/** A ladder a policy pack gives: as `escalationPolicy`, with the clause it comes from. */
export const packEscalationPolicy = escalationPolicyShape
  .required({ source: true })
  .transform(withAckTimeout);

function withAckTimeout<P extends z.output<typeof escalationPolicyShape>>(p: P): P {
  return p.condition === 'if-not-acknowledged' && p.reescalateAfterMinutes === undefined
    ? { ...p, reescalateAfterMinutes: DEFAULT_REESCALATE_MINUTES }
    : p;
}

/**
 * Doorstep's own default for SOS, fall and duress (no school's policy gives one): board + SMS to
 * on-call leaders at once, then leadership after 2 minutes, three more rounds, then the last level
 * every 2 minutes until someone responds.
 */
export const DEFAULT_ALARM_POLICY: EscalationPolicy = {
  condition: 'if-not-acknowledged',
  levels: [
    {
      afterMinutes: 0,
      notify: ['board', 'sms:on-call-leaders'],
      prompt: 'Call the member of staff now; no answer or in danger: 999',
    },
    {
      afterMinutes: 2,
      notify: ['board', 'sms:senior-leadership'],
      prompt: 'Still unacknowledged: senior leadership paged',
    },
  ],
  repeat: 3,
  // Set by us, not by a policy: an SOS, fall or duress acknowledged and still not resolved (the
  // worker not known to be safe) 10 minutes later sounds again — an acknowledgement is someone
  // handling it, never the end of the watch.
  reescalateAfterMinutes: DEFAULT_REESCALATE_MINUTES,
};

export type AlarmState = 'open' | 'acknowledged' | 'resolved';

export type StepDecision =
  | {
      kind: 'notify';
      level: number;
      round: number;
      targets: string[];
      /**
       * The next step, how long after this one it is due, and how long before its planned time that
       * is (`aheadMs`: its planned time, kept with the alarm, is its due time plus that).
       */
      next: { step: number; delayMs: number; aheadMs: number };
    }
  | { kind: 'stop'; reason: string };

/** The last step of the ladder's planned rounds; every step after it repeats the last level. */
function lastPlannedStep(policy: EscalationPolicy): number {
  return policy.levels.length * (policy.repeat + 1) - 1;
}

/**
 * Whether a level's failed delivery may bring step `nextStep` forward (run it now, not at its time):
 * only within the ladder's first round. A failure hastens the people not yet asked, never a repeat:
 * a channel that always fails (one not configured, a number refused for good) would otherwise run
 * the whole ladder, then its repeats, at the speed of the machine — paging everyone on the working
 * channels again and again, and flooding the board.
 */
export function mayBringForward(policy: EscalationPolicy, nextStep: number): boolean {
  return nextStep < policy.levels.length;
}

/** How long the last level waits between its repeats once the ladder's rounds are spent (its own wait; a minute if that is 0). */
export function finalRepeatMs(policy: EscalationPolicy): number {
  const wait = policy.levels.at(-1)!.afterMinutes;
  return Math.round((wait > 0 ? wait : 1) * 60_000);
}

/**
 * The wait before level `level` of a round: its own `afterMinutes` — except a new round of a ladder
 * whose every level is at once (one level at 0 minutes, say, with `repeat`), which waits a minute:
 * else its rounds would all page the same people in the same instant, giving nobody time to answer,
 * and say "no one has responded" a second after the alarm was raised.
 */
function waitBefore(policy: EscalationPolicy, level: number): number {
  if (level === 0 && policy.levels.every((l) => l.afterMinutes === 0)) return ROUND_AT_ONCE_WAIT_MS;
  return Math.round(policy.levels[level]!.afterMinutes * 60_000);
}

/** The wait between the rounds of a ladder whose levels are all at once. */
export const ROUND_AT_ONCE_WAIT_MS = 60_000;

/**
 * How long before its planned time (`plannedAt`, the alarm's `ladder_planned_at`; null: planned for
 * when it runs) a step running `now` runs — the `aheadMs` `decideStep` takes. Measured when the step
 * runs, with the clock that runs it: late, or with no plan, 0.
 */
export function stepLeadMs(plannedAt: Date | null, now: Date): number {
  return plannedAt ? Math.max(0, plannedAt.getTime() - now.getTime()) : 0;
}

/**
 * When the step after one run `now` is due (`dueAt`, the alarm's `next_step_at`) and when it was
 * planned (`plannedAt`: its due time plus the lead it carries, `decideStep`'s `next`).
 */
export function nextStepTimes(
  now: Date,
  next: { delayMs: number; aheadMs: number },
): { dueAt: Date; plannedAt: Date } {
  return {
    dueAt: new Date(now.getTime() + next.delayMs),
    plannedAt: new Date(now.getTime() + next.delayMs + next.aheadMs),
  };
}

/**
 * What step `step` of the ladder does for an alarm in `state`: notify a level's targets and say
 * when the next step is due, or stop because the condition no longer holds. It never runs out: once
 * its rounds are spent the last level repeats at its interval until a person responds.
 *
 * `aheadMs`: how long before its planned time this step runs — measured when it runs
 * (`max(0, planned − now)`, jobs/escalate.ts): a failed delivery brought it, or a step before it,
 * forward (`mayBringForward`: first round only). A promotion that never happened or a stalled job
 * gives 0, so nothing is held back for a lead that was never real (a clock behind the one that
 * planned the step counts its skew as lead: under a second where clocks are kept in sync).
 * Within the first round the next step keeps its own wait from this one (the people not yet asked
 * are hastened) and carries the lead (`next.aheadMs`: the next step's planned time is its due time
 * plus that). The start of a NEW round (level 1 again, with people already asked) waits the lead
 * back as well as its own wait, so it runs at its planned time — never before it, and never sooner
 * after this step than its own wait (a round of levels all at once still waits its minute): else a
 * level 1 at 0 minutes would follow a level 2 brought forward in the same instant, paging the first
 * round's people again seconds after the alarm. A repeat of the SAME level (the last level, its
 * rounds spent — with `repeat: 0`, straight after the first round) waits exactly its own interval
 * after this step ran: the people on it are due their next page that long after their last.
 */
export function decideStep(
  policy: EscalationPolicy,
  step: number,
  state: AlarmState,
  aheadMs = 0,
): StepDecision {
  if (state === 'resolved') return { kind: 'stop', reason: 'resolved' };
  if (state === 'acknowledged' && policy.condition === 'if-not-acknowledged')
    return { kind: 'stop', reason: 'acknowledged' };
  const n = policy.levels.length;
  const last = lastPlannedStep(policy);
  const level = step > last ? n - 1 : step % n;
  const round = Math.floor(Math.min(step, last) / n) + Math.max(0, step - last);
  const nextStep = step + 1;
  const ahead = Number.isFinite(aheadMs) ? Math.max(0, Math.round(aheadMs)) : 0;
  const wait = nextStep > last ? finalRepeatMs(policy) : waitBefore(policy, nextStep % n);
  let next: { step: number; delayMs: number; aheadMs: number };
  // The last level again: its own interval after it ran, whatever this step gained.
  if (nextStep > last) next = { step: nextStep, delayMs: wait, aheadMs: 0 };
  // The first round: hastened, the lead carried on.
  else if (mayBringForward(policy, nextStep)) next = { step: nextStep, delayMs: wait, aheadMs: ahead };
  // A new round (or a step within one): at its planned time.
  else next = { step: nextStep, delayMs: wait + ahead, aheadMs: 0 };
  return { kind: 'notify', level, round, targets: policy.levels[level]!.notify, next };
}

/**
 * Doorstep's own overdue-visit ladder, for a school whose policy gives none (no school's policy
 * contains it: Hampton's own ladder is in its pack, `config/policies/hampton.yaml`): the board at
 * once; +15 min a reminder to the visiting staff; +30 min the office is prompted to call the worker;
 * then the location; then leadership; then the board prompts "call the police" and leadership is
 * texted again. Like every ladder it never ends in silence (the last level, leadership's text with it,
 * repeats until the alarm is resolved — the visit's return resolves it): acknowledging says who is handling it, not that the worker is safe.
 */
export const DEFAULT_OVERDUE_VISIT_POLICY: EscalationPolicy = {
  condition: 'if-not-resolved',
  levels: [
    { afterMinutes: 0, notify: ['board'], prompt: 'Visit overdue: the staff should call the office' },
    {
      afterMinutes: 15,
      notify: ['board', 'sms:visiting-staff'],
      prompt: 'Reminder sent to the visiting staff to call the office',
    },
    { afterMinutes: 15, notify: ['board'], prompt: 'Call the visiting staff now' },
    { afterMinutes: 10, notify: ['board'], prompt: 'Call the visit location (the family)' },
    {
      afterMinutes: 10,
      notify: ['board', 'sms:senior-leadership'],
      prompt: 'Contact school leadership',
    },
    // The level that repeats (every 10 minutes) until the worker is back: leadership told each time,
    // never the board alone — an office nobody is in would leave a missing worker unwatched.
    {
      afterMinutes: 10,
      notify: ['board', 'sms:senior-leadership'],
      prompt: 'Call the police (999): a member of staff is missing',
    },
  ],
  repeat: 0,
  reescalateAfterMinutes: 15,
  source: "Doorstep's own default (no school policy gives this ladder)",
};

/** Doorstep's own missed check-in ladder: the staff and the board at once, then the office calls, then on-call leaders. */
export const DEFAULT_MISSED_CHECK_IN_POLICY: EscalationPolicy = {
  condition: 'if-not-acknowledged',
  levels: [
    {
      afterMinutes: 0,
      notify: ['board', 'sms:visiting-staff'],
      prompt: 'Check-in missed: call the visiting staff',
    },
    {
      afterMinutes: 5,
      notify: ['board', 'sms:on-call-leaders'],
      prompt: 'Still no check-in: on-call leaders told',
    },
  ],
  repeat: 2,
  reescalateAfterMinutes: 10,
};

/**
 * Who raised an alarm: a fob (its own event: SOS, a fall, its own missed check-in, …) or the visit
 * register (the visit watcher: overdue, a missed check-in, a silent fob).
 */
export type AlarmOrigin = 'fob' | 'register';

/**
 * The one resolver of which ladder runs for an alarm kind (ingest, the visit watcher, `doorstep check`
 * and the README all use it): the school's own for that kind (`sos`, `overdue-visit`,
 * `missed-check-in`, …; `_` and `-` alike — its config's, else its policy pack's); else, for an alarm
 * the visit register raised (overdue, missed check-in, silent fob), Doorstep's own default — a
 * school's `alarm` ladder is for device alarms only; else the school's `alarm`; else Doorstep's own
 * default for device alarms. An alarm a fob raised is a device alarm whatever its kind: a fob's own
 * `missed_check_in` follows the school's `missed-check-in` ladder if it gives one, else its `alarm`
 * ladder, as `timer_overrun` does — never the register's default, whose first text goes to the
 * wearer, the person who has just not answered.
 */
export function policyFor(
  policies: Readonly<Record<string, EscalationPolicy>>,
  type: string,
  origin: AlarmOrigin = 'register',
): EscalationPolicy {
  return (
    policies[type] ??
    policies[type.replace(/_/g, '-')] ??
    (origin === 'register' ? VISIT_DEFAULTS[type] : undefined) ??
    policies.alarm ??
    DEVICE_ALARM_DEFAULTS[type] ??
    DEFAULT_ALARM_POLICY
  );
}

/** Doorstep's own: a worker's fob has sent nothing for the school's set time — the same urgency as a missed check-in. */
export const DEFAULT_DEVICE_SILENT_POLICY: EscalationPolicy = {
  condition: 'if-not-acknowledged',
  levels: [
    {
      afterMinutes: 0,
      notify: ['board', 'sms:visiting-staff'],
      prompt: 'The worker’s fob has gone silent: call the visiting staff',
    },
    {
      afterMinutes: 5,
      notify: ['board', 'sms:on-call-leaders'],
      prompt: 'Still silent and no answer: on-call leaders told',
    },
  ],
  repeat: 2,
  reescalateAfterMinutes: 10,
};

/** Visit alarms: a school's `alarm` policy does not apply to them. */
const VISIT_DEFAULTS: Readonly<Record<string, EscalationPolicy>> = {
  overdue_visit: DEFAULT_OVERDUE_VISIT_POLICY,
  missed_check_in: DEFAULT_MISSED_CHECK_IN_POLICY,
  device_silent: DEFAULT_DEVICE_SILENT_POLICY,
};
/** Device alarm types with a default of their own, used when the school sets no `alarm` policy. */
const DEVICE_ALARM_DEFAULTS: Readonly<Record<string, EscalationPolicy>> = {};

/**
 * Every alarm kind's ladder for a school, as the resolver picks it (for `doorstep check`); the
 * silent-fob ladder only where the school watches for silent fobs.
 */
export function laddersOf(
  policies: Readonly<Record<string, EscalationPolicy>>,
  uses: { deviceSilent: boolean } = { deviceSilent: false },
) {
  return {
    // Device alarms without a ladder of their own (what `policyFor` falls back to for them) — a
    // fob's own missed check-in included, where the school gives no `missed-check-in` ladder.
    alarm: policies.alarm ?? DEFAULT_ALARM_POLICY,
    'overdue-visit': policyFor(policies, 'overdue_visit'),
    'missed-check-in': policyFor(policies, 'missed_check_in'),
    ...(uses.deviceSilent ? { 'device-silent': policyFor(policies, 'device_silent') } : {}),
    ...policies,
  };
}

/** What the board shows as the next step: its prompt (or targets) and when it is due. */
export function nextStepOf(
  policy: EscalationPolicy,
  step: number,
): { level: number; prompt: string; targets: string } | null {
  if (step < 0) return null;
  const index = step > lastPlannedStep(policy) ? policy.levels.length - 1 : step % policy.levels.length;
  const level = policy.levels[index]!;
  const targets = describeTargets(level.notify);
  return { level: index + 1, prompt: level.prompt ?? targets, targets };
}

/** A level's targets in plain words: `sms:senior-leadership` → "text senior leadership". */
export function describeTargets(targets: readonly string[]): string {
  const words = targets.map((t) => {
    const [channel, group] = t.split(':') as [string, string | undefined];
    const who = group ? group.replace(/-/g, ' ') : '';
    switch (channel) {
      case 'board':
        return 'alert the board';
      case 'sms':
        return `text ${who}`;
      case 'email':
        return `e-mail ${who}`;
      case 'call':
        return `ring ${who}`;
      case 'push':
        return `push to ${who}'s phones`;
      case 'teams':
        return 'post to Teams';
      case 'google-chat':
        return 'post to Google Chat';
      case 'webhook':
        return 'call the on-call webhook';
      default:
        return t;
    }
  });
  const text = words.join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The level a ladder step runs (steps go round the levels on a repeat, then the last one repeats). */
export function levelAt(policy: EscalationPolicy, step: number) {
  return step > lastPlannedStep(policy) ? policy.levels.at(-1)! : policy.levels[step % policy.levels.length]!;
}
