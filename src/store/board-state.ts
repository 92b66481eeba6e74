import {
  alarmWarning,
  BROUGHT_FORWARD,
  deliveryDetail,
  deliveryState,
} from '../domain/escalation/delivery.ts';
import { decideStep, nextStepOf } from '../domain/escalation/ladder.ts';
import { RESOLUTION_REASONS, type ResolutionReason } from '../domain/escalation/resolution.ts';
import type { RoutedPolicy } from '../domain/escalation/routing.ts';
import { ladderStalled } from '../domain/escalation/stalled.ts';
import { arrivedLate } from '../domain/fob/arrived-late.ts';
import { type BatteryReport, lowBattery } from '../domain/fob/battery.ts';
import { ACTION_DONE_TEXT, doneByRecording } from '../domain/triggers/actions.ts';
import { type Evidence, firstDayOf } from '../domain/triggers/finding.ts';
import type { Action } from '../domain/triggers/rules.ts';
import { initialsOf } from '../domain/visits/initials.ts';
import type { VisitRules } from '../domain/visits/rules.ts';
import { nextVisitCheck } from '../domain/visits/watch.ts';
import { FOB_BATTERY_OF_VISIT, isAlarmVisit } from './alarm-lookups.ts';
import { reachParams, withinReach } from './alarm-reach.ts';
import { isHelpAlarm } from './alarm-writer.ts';
import type { Queryable } from './db.ts';
import { ingestProblems } from './ingest-status.ts';
import { notificationDeliveries } from './notify.ts';
import { worksAt } from './users.ts';
import { type Address, formatAddress } from './visits.ts';

/**
 * How long a record may stay pending (written, not yet delivered) before the board's **Failed
 * deliveries** lists it, as a notice tried and not sent is: an hour, in SQL.
 */
const RECORD_PENDING_BOUND = `interval '1 hour'`;

/**
 * How many lines of each kind the board's **Failed deliveries** is sent: notices to named people,
 * failed records and records not delivered yet each have their own (none pushes another's out — a
 * CPOMS outage's pending records never hide a notice that failed), and the rest of each are counted
 * (`failedNotShown`): the board says how many more, never leaves them out unsaid.
 */
export const BOARD_FAILED_EACH = 50;

/** How long ago `at` was, in words (`under a minute`, `25 min`, `3 h 20 min`, `3 days`), in SQL. */
const AGO = (at: string) => `(SELECT CASE WHEN w >= interval '2 days' THEN extract(day FROM w)::int || ' days'
                                  WHEN w < interval '1 minute' THEN 'under a minute'
                                  WHEN w < interval '1 hour' THEN extract(minute FROM w)::int || ' min'
                                  ELSE (extract(day FROM w)::int * 24 + extract(hour FROM w)::int) || ' h '
                                       || extract(minute FROM w)::int || ' min' END
                       FROM (SELECT now() - ${at} AS w) age)`;

/**
 * Why a record pending an hour after it was written is not delivered, from what is known of it: how
 * long since it was written; its tries (counted afresh by a Retry) and last error, or that it was
 * never tried (the workers not running); and, one put back in line by Retry (`retriedAgo`: how long
 * ago, by its audit; null when not retried), that it failed and was put back — never "never tried"
 * of a record tried a hundred times before the Retry.
 */
function pendingRecordSaid(r: {
  written_ago: string;
  attempts: number;
  last_error: string | null;
  retried: boolean;
  retried_ago: string | null;
  retried_over_an_hour: boolean | null;
}): string {
  const written = `not delivered in the ${r.written_ago} since it was written`;
  const last = `last: ${r.last_error ?? 'no reason kept'}`;
  if (!r.retried)
    return `${written}: ${
      r.attempts === 0
        ? 'never tried (are the workers running?)'
        : `still being tried, ${r.attempts} ${r.attempts === 1 ? 'try' : 'tries'} so far; ${last}`
    }`;
  const back = `failed, then put back in line by Retry${r.retried_ago ? ` ${r.retried_ago} ago` : ''}`;
  if (r.attempts > 0)
    return `${written}; ${back}; still being tried, ${r.attempts} ${r.attempts === 1 ? 'try' : 'tries'} since; ${last}`;
  return `${written}; ${back}: ${
    r.retried_over_an_hour ? 'not tried since (are the workers running?)' : 'not tried again yet'
  }`;
}

/** How many alarm cards the board is sent (the rest are counted: `alarmsOpen`). */
export const BOARD_ALARMS = 200;

const name = (f: unknown, s: unknown) => [f, s].filter(Boolean).join(' ') || null;

/**
 * The level last sent of an alarm whose next step is `step` (steps sent so far), as the ladder
 * numbers it: step k ran level `k mod levels` (the last level once the rounds are spent); with its
 * words to the office (`prompt`: what to do now — null when the level gives none). `broughtForward`:
 * it ran before its time because messages of the level before it did not get through (`failed`: their
 * targets), null when it ran at its time.
 */
function levelSent(
  policy: RoutedPolicy,
  step: number,
  broughtForward: { failed: string[] } | null,
): {
  level: number;
  of: number;
  round: number;
  prompt: string | null;
  broughtForward: { failed: string[] } | null;
} | null {
  if (step <= 0) return null;
  const last = decideStep(policy, step - 1, 'open');
  if (last.kind !== 'notify') return null;
  return {
    level: last.level + 1,
    of: policy.levels.length,
    round: last.round + 1,
    prompt: policy.levels[last.level]?.prompt ?? null,
    broughtForward,
  };
}

/**
 * Everything the office board shows for one school, in one read: open and acknowledged alarms
 * (open first) with who, device, where, escalation level and the next step; visits out and today's;
 * open triggers no visit has been asked for yet; failed deliveries. For signed-in staff only.
 * `configured` — given for the `orphansTo` school's board: the config's school ids — brings in the
 * alarms not resolved at any school not among them (removed, or its id renamed), for this board to take.
 */
export async function boardState(
  db: Queryable,
  schoolId: string,
  today: string,
  now: Date,
  rules: VisitRules,
  configured: readonly string[] | null = null,
) {
  const reach = { schoolId, configured };
  const alarms = await db.query<Record<string, unknown>>(
    `SELECT a.id, a.school_id, a.type, a.status, a.raised_at, a.device_id, a.staff_id, a.unknown_device, a.escalation_step, a.created_at, ${isHelpAlarm('a')} AS from_phone,
            a.next_step_at, a.policy, a.acknowledged_at, a.acknowledged_via, v.id AS visit_id, a.trust_issue, a.reopened, a.test, COALESCE(e.location, a.location) AS location, e.battery_percent, e.received_at,
            u.display_name AS staff_name, COALESCE(v.worker_phone, u.phone) AS staff_phone,
            ack.display_name AS acknowledged_by_name,
            v.address AS visit_address, v.expected_return_at, p.forename, p.surname,
            -- A check-in made from the phone page by a person on the visit (never the office's, nor a
            -- missed check-in's resolution), for a watcher's alarm only: an SOS is not answered by a tap.
            CASE WHEN a.type IN ('overdue_visit', 'missed_check_in')
                 THEN (SELECT max(c.at) FROM visit_check_ins c WHERE c.visit_id = v.id AND c.source = 'phone') END
              AS visit_check_in_at,
            -- Back safe said after the alarm by a person on its visit (never the office's for them).
            CASE WHEN v.returned_at > a.raised_at
                      AND v.back_safe_by IN ('user:' || v.lead_user_id, 'user:' || v.partner_user_id)
                 THEN v.returned_at END AS visit_back_safe_at,
            -- The level last sent was brought forward: a message of the level before it not delivered
            -- moved the ladder on (its timeline says so) after that level ran and before this one did.
            a.escalation_step >= 2 AND EXISTS (
              SELECT 1 FROM alarm_timeline t WHERE t.alarm_id = a.id AND right(t.event, length($2)) = $2
                AND t.at >= (SELECT min(n.created_at) FROM notifications n WHERE n.alarm_id = a.id AND n.step = a.escalation_step - 2)
                AND t.at <= (SELECT min(n.created_at) FROM notifications n WHERE n.alarm_id = a.id AND n.step = a.escalation_step - 1)
            ) AS level_brought_forward,
            pa.display_name AS partner_name, pa.phone AS partner_phone,
            -- The device's latest battery report (a LOW_BATTERY after the alarm shows here).
            (SELECT jsonb_build_object('percent', b.battery_percent, 'at', b.received_at, 'low', b.type = 'low_battery')
               FROM fob_events b WHERE b.school_id = a.school_id AND b.device_id = a.device_id
                 AND b.battery_percent IS NOT NULL ORDER BY b.received_at DESC LIMIT 1) AS battery
     FROM alarms a
       LEFT JOIN fob_events e ON e.id = a.fob_event_id
       LEFT JOIN users u ON u.staff_id = a.staff_id AND ${worksAt('u', 'a.school_id')}
       LEFT JOIN users ack ON 'user:' || ack.id = a.acknowledged_by
       -- Its visit: the one it is tied to, or (a fob alarm the visit watcher has not tied yet) the
       -- visit its wearer is out on now, so the card shows where they are from the first second.
       LEFT JOIN LATERAL (SELECT * FROM visits v WHERE ${isAlarmVisit('a', 'v')}
                           ORDER BY (v.id = a.visit_id) IS TRUE DESC, v.departed_at DESC LIMIT 1) v ON true
       LEFT JOIN users pa ON pa.id = v.partner_user_id
       LEFT JOIN pupils p ON p.school_id = v.school_id AND p.mis_id = v.pupil_mis_id
     WHERE ${withinReach('a', reach, 1, 3)} AND a.status <> 'resolved'
     -- Every real alarm before any TEST one (a fob drill is never read before a real SOS); then
     -- unacknowledged first; then by severity (a person in danger before an overdue visit before a
     -- device fault); then the longest waiting first.
     ORDER BY a.test ASC, (a.status = 'open') DESC,
       CASE WHEN a.type IN ('sos', 'duress', 'silent', 'fall', 'non_movement', 'timer_overrun') THEN 0
            WHEN a.type IN ('overdue_visit', 'missed_check_in', 'device_silent') THEN 1 ELSE 2 END,
       a.raised_at ASC LIMIT ${BOARD_ALARMS}`,
    [schoolId, BROUGHT_FORWARD, ...reachParams(reach)],
  );
  const visits = await db.query<Record<string, unknown>>(
    `SELECT v.id, v.status, v.reason, v.address, v.planned_for, v.departed_at, v.returned_at, v.arrived_at, v.expected_return_at,
            v.estimated_arrival_at,
            v.last_check_in_at, v.check_in_minutes, v.risk_level, p.forename, p.surname,
            l.display_name AS lead_name, COALESCE(v.worker_phone, l.phone) AS lead_phone, pa.display_name AS partner_name,
            pa.phone AS partner_phone, v.fob_device_id,
            -- Thames View 3.5: the parent's warning that they are running late, and who recorded it.
            v.parent_late_notice_at, nb.display_name AS parent_late_notice_by_name,
            -- The fob the worker left with: its latest battery report since they left, while they are out.
            ${FOB_BATTERY_OF_VISIT} AS fob_battery,
            (SELECT c.phone FROM pupil_contacts c WHERE c.school_id = v.school_id AND c.pupil_mis_id = v.pupil_mis_id
               AND c.phone IS NOT NULL ORDER BY c.priority LIMIT 1) AS family_phone
     FROM visits v
       LEFT JOIN pupils p ON p.school_id = v.school_id AND p.mis_id = v.pupil_mis_id
       LEFT JOIN users l ON l.id = v.lead_user_id
       LEFT JOIN users pa ON pa.id = v.partner_user_id
       LEFT JOIN users nb ON 'user:' || nb.id = v.parent_late_notice_by
     WHERE v.school_id = $1 AND (v.planned_for = $2::date OR (v.departed_at IS NOT NULL AND v.returned_at IS NULL))
     ORDER BY v.expected_return_at NULLS LAST, v.id`,
    [schoolId, today],
  );
  const triggers = await db.query<Record<string, unknown>>(
    `SELECT t.id, t.pupil_mis_id, t.title, t.action, t.role, t.opened_on, t.evidence, p.forename, p.surname
     FROM trigger_episodes t LEFT JOIN pupils p ON p.school_id = t.school_id AND p.mis_id = t.pupil_mis_id
     WHERE t.school_id = $1 AND t.status = 'open' AND p.hidden_at IS NULL -- leavers past the shown period
       -- Its action as it stands not recorded done (a call recorded, the episode since risen to a visit: shown)
       AND NOT EXISTS (SELECT 1 FROM trigger_actions a WHERE a.episode_id = t.id AND a.action = t.action)
       AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.trigger_episode_id = t.id AND v.status <> 'cancelled')
     ORDER BY t.opened_on, t.id LIMIT 100`,
    [schoolId],
  );
  // Resolved alarms stay viewable for the rest of the (London) day, with their timelines.
  const resolved = await db.query<Record<string, unknown>>(
    `SELECT a.id, a.type, a.test, a.raised_at, a.resolved_at, a.resolution_reason, a.resolution_note, a.device_id, ${isHelpAlarm('a')} AS from_phone,
            u.display_name AS staff_name,
            (SELECT jsonb_agg(jsonb_build_object('at', t.at, 'event', t.event) ORDER BY t.at, t.id)
               FROM alarm_timeline t WHERE t.alarm_id = a.id) AS timeline
     FROM alarms a LEFT JOIN users u ON u.staff_id = a.staff_id AND ${worksAt('u', 'a.school_id')}
     WHERE a.school_id = $1 AND a.status = 'resolved'
       AND a.resolved_at >= ($2::date::timestamp AT TIME ZONE 'Europe/London')
     ORDER BY a.resolved_at DESC LIMIT 100`,
    [schoolId, today],
  );
  // Children not seen on a completed visit stay in view until the safeguarding team records the follow-up.
  const followUp = await db.query<Record<string, unknown>>(
    `SELECT v.id, v.pupil_mis_id, v.completed_at, p.forename, p.surname
     FROM visits v LEFT JOIN pupils p ON p.school_id = v.school_id AND p.mis_id = v.pupil_mis_id
     WHERE v.school_id = $1 AND v.status = 'completed' AND (v.outcome->>'childSeen')::boolean IS NOT TRUE
       AND v.follow_up_done_at IS NULL
     ORDER BY v.completed_at LIMIT 100`,
    [schoolId],
  );
  // Notices to named people (a concern, a child not seen, a visit record) that failed for good or
  // have been tried and not sent for an hour (a job lost mid-try): nobody else would know. Failed
  // record deliveries. And records still not delivered an hour after they were written (a sink
  // answering "come back later" each time waits up to 100 of them, hours or days, before its record
  // is failed: meanwhile a CPOMS record has not landed and nobody else would know). Each kind with
  // its own BOARD_FAILED_EACH lines and its whole count: a morning of pending records never pushes a
  // notice that failed off the board, and what is cut is said. A notification's failure is listed
  // too (beside its alarm's card).
  const notices = await db.query<Record<string, unknown>>(
    `SELECT id::text AS id, kind || ':' || target AS detail, status,
            CASE WHEN status = 'failed' THEN last_error
                 ELSE 'not sent after ' || attempts || ' tries in over an hour' || COALESCE(': ' || last_error, '') END
              AS last_error,
            created_at AS at, visit_id::text AS visit_id, count(*) OVER ()::int AS total
     FROM notices WHERE school_id = $1
       AND (status = 'failed' OR (status = 'pending' AND attempts > 0 AND created_at < now() - interval '1 hour'))
     ORDER BY created_at DESC, id DESC LIMIT ${BOARD_FAILED_EACH}`,
    [schoolId],
  );
  const recordsFailed = await db.query<Record<string, unknown>>(
    `SELECT id::text AS id, kind AS detail, last_error, updated_at AS at, count(*) OVER ()::int AS total
     FROM outbox WHERE school_id = $1 AND status = 'failed'
     ORDER BY updated_at DESC, id DESC LIMIT ${BOARD_FAILED_EACH}`,
    [schoolId],
  );
  // The longest waiting first (the nearest to failing). One put back in line by Retry (a new
  // generation) was failed: when it was put back is its audit's `record.retry`.
  const recordsPending = await db.query<{
    id: string;
    detail: string;
    attempts: number;
    last_error: string | null;
    written_ago: string;
    retried: boolean;
    retried_at: Date | null;
    retried_ago: string | null;
    retried_over_an_hour: boolean | null;
    created_at: Date;
    total: number;
  }>(
    `SELECT o.id, o.detail, o.attempts, o.last_error, ${AGO('o.created_at')} AS written_ago,
            o.generation > 0 AS retried, r.at AS retried_at, ${AGO('r.at')} AS retried_ago,
            r.at < now() - ${RECORD_PENDING_BOUND} AS retried_over_an_hour, o.created_at, o.total
     FROM (SELECT id::text AS id, kind AS detail, attempts, last_error, generation, created_at,
                  count(*) OVER ()::int AS total
           FROM outbox WHERE school_id = $1 AND status = 'pending'
             AND created_at < now() - ${RECORD_PENDING_BOUND}
           ORDER BY created_at, id LIMIT ${BOARD_FAILED_EACH}) o
       LEFT JOIN LATERAL (SELECT max(a.at) AS at FROM audit_entries a
                           WHERE o.generation > 0 AND a.entity_type = 'outbox' AND a.entity_id = o.id
                             AND a.action = 'record.retry') r ON true
     ORDER BY o.created_at, o.id`,
    [schoolId],
  );
  const notShown = (rows: { total?: unknown }[]) => Math.max(0, Number(rows[0]?.total ?? 0) - rows.length);
  // Every notification of the alarms shown: who was told, by what, when, and whether it arrived.
  const sent = await notificationDeliveries(
    db,
    alarms.rows.map((r) => String(r.id)),
  );
  const notificationsOf = (alarmId: string) =>
    sent
      .filter((n) => n.alarmId === alarmId)
      .map((n) => ({
        step: n.step,
        target: n.target,
        status: n.status,
        at: n.at.toISOString(),
        error: n.error,
        /** sending, sent (not confirmed), delivered, partly-failed or failed (src/domain/escalation/delivery.ts). */
        delivery: deliveryState(n),
        /** The same for people, with the provider's counts and error codes. */
        deliveryText: deliveryDetail(n),
      }));
  // Every alarm not resolved, counted whole: the cards are the first BOARD_ALARMS, and the board says
  // how many more there are rather than hide one (a flood of junk must not bury a real alarm unsaid).
  const open = await db.query<{ all: number; unacked: number }>(
    `SELECT count(*)::int AS all, (count(*) FILTER (WHERE status = 'open'))::int AS unacked
     FROM alarms a WHERE ${withinReach('a', reach, 1, 2)} AND status <> 'resolved'`,
    [schoolId, ...reachParams(reach)],
  );
  return {
    now: now.toISOString(),
    /** Alarms not resolved, and of them not acknowledged — all of them, not only the cards sent. */
    alarmsOpen: { all: open.rows[0]!.all, unacknowledged: open.rows[0]!.unacked },
    /** Fob feeds that are not arriving: the board says alarms from this school may not reach it. */
    ingest: await ingestProblems(db, schoolId),
    alarms: alarms.rows.map((r) => {
      const policy = r.policy as RoutedPolicy | null;
      const step = r.escalation_step as number;
      // An acknowledgement pauses a ladder that runs while unacknowledged from that moment, though its
      // next step's job only finds out at its time: the card says paused at once, never a next step
      // that will not be sent.
      const paused = step < 0 || (r.status === 'acknowledged' && policy?.condition !== 'if-not-resolved');
      const next = policy && !paused ? nextStepOf(policy, step) : null;
      // Its next step minutes overdue, or its first step never taken: nobody is being paged.
      const stalled =
        !paused &&
        ladderStalled(
          {
            status: r.status as string,
            step,
            nextStepAt: r.next_step_at ? new Date(r.next_step_at as string) : null,
            createdAt: new Date(r.created_at as string),
          },
          now,
        );
      return {
        id: String(r.id),
        /** Its school: another's only on the `orphansTo` school's board (a school no longer configured). */
        schoolId: r.school_id as string,
        type: r.type as string,
        /** A TEST alarm (a fob drill): the card says so; resolving defaults to `test`. */
        test: r.test === true,
        /** Raised by "I need help" on the phone page, not by a fob: the card says which. */
        fromPhone: r.from_phone === true,
        status: r.status as string,
        raisedAt: new Date(r.raised_at as string).toISOString(),
        /**
         * When it reached Doorstep, if a minute or more after the press it is raised at (a fob out of
         * signal that sent it later): the card says the office heard of it late. Null otherwise.
         */
        arrivedAt:
          arrivedLate(
            new Date(r.raised_at as string),
            r.received_at ? new Date(r.received_at as string) : null,
          )?.toISOString() ?? null,
        deviceId: r.device_id,
        staffId: r.staff_id,
        staffName: r.staff_name ?? null,
        staffPhone: r.staff_phone ?? null,
        partnerName: r.partner_name ?? null,
        partnerPhone: r.partner_phone ?? null,
        /** Who was told of it, by what, when, and whether it was delivered. */
        notifications: notificationsOf(String(r.id)),
        /** The device's latest battery report: percent, when, and whether it was a low-battery event. */
        latestBattery: r.battery ?? null,
        unknownDevice: r.unknown_device,
        /** Why the device's identity or signature did not verify (the alarm was raised anyway). */
        trustIssue: (r.trust_issue as string | null) ?? null,
        location: r.location ?? null,
        battery: r.battery_percent ?? null,
        visitId: r.visit_id === null ? null : String(r.visit_id),
        visitAddress: r.visit_address ? formatAddress(r.visit_address as Address) : null,
        /**
         * The worker checked in from the phone page after a watcher's alarm (overdue, missed check-in)
         * was raised — "I am safe" on an overdue visit: the card says so, for the office to call and close it.
         */
        checkedInSince:
          r.visit_check_in_at && new Date(r.visit_check_in_at as string) > new Date(r.raised_at as string)
            ? new Date(r.visit_check_in_at as string).toISOString()
            : null,
        /**
         * A person on its visit said back safe from the phone after this alarm was raised ("I need
         * help", then "Back safe"): the card says so, for the office to call them — it neither closes
         * nor takes the alarm (a back-safe press may be forced). Null otherwise.
         */
        backSafeSince: r.visit_back_safe_at ? new Date(r.visit_back_safe_at as string).toISOString() : null,
        /**
         * The pupil of its visit. An alarm at a school the config no longer holds, on the board of the
         * school that takes it: their initials only ("A.O."), as a notice names them — their name is
         * not that school's staff's to read; the address and phones stay, to send help.
         */
        pupilName:
          r.school_id === schoolId
            ? name(r.forename, r.surname)
            : initialsOf({ forename: r.forename as string | null, surname: r.surname as string | null }) ||
              null,
        /** The ladder's next step to run (the steps sent so far); null while paused (acknowledged). */
        level: paused ? null : step,
        /**
         * The level last sent, numbered within the ladder (1…levels), the ladder's length, and the
         * round (1: its first run; repeats and the last level's reminders after): "level 3" is never
         * said of a 2-level ladder.
         */
        levelSent: policy
          ? levelSent(
              policy,
              step,
              r.level_brought_forward === true
                ? {
                    failed: [
                      ...new Set(
                        sent
                          .filter(
                            (n) =>
                              n.alarmId === String(r.id) &&
                              n.step === step - 2 &&
                              ['failed', 'partly-failed'].includes(deliveryState(n)),
                          )
                          .map((n) => n.target),
                      ),
                    ],
                  }
                : null,
            )
          : null,
        /**
         * Which ladder it follows by time: school-hours, out-of-hours, weekend or holiday (null: raised
         * before routing, or the school's own ladder, which the period's ladders did not replace).
         */
        ladderPeriod: policy?.byPeriod === false ? null : (policy?.period ?? null),
        /**
         * Whose ladder it follows, when a period's: out-of-hours, weekend or holiday — at a weekend
         * with no weekend ladder for its kind, the out-of-hours one. Null: the school's own, or not
         * recorded (an alarm raised before this was kept; out of hours it can only be out of hours').
         */
        ladderUsed:
          policy?.byPeriod === false
            ? null
            : (policy?.ladderOf ?? (policy?.period === 'out-of-hours' ? 'out-of-hours' : null)),
        /**
         * What the card warns of: no one reached (every message failed), the ladder stalled (no one is
         * being paged: its next step minutes overdue, or its first never taken), or no one has responded.
         */
        warning: alarmWarning({
          status: r.status as string,
          step,
          reopened: (r.reopened as number) > 0,
          notifications: sent.filter((n) => n.alarmId === String(r.id)),
          stalled,
          runs: policy !== null && !paused,
        }),
        /** When an acknowledged alarm opens again if it is still not resolved (its acknowledgement timeout). */
        reopensAt:
          r.status === 'acknowledged' && r.acknowledged_at && policy?.reescalateAfterMinutes
            ? new Date(
                new Date(r.acknowledged_at as string).getTime() + policy.reescalateAfterMinutes * 60_000,
              ).toISOString()
            : null,
        /**
         * The step the ladder takes next and when (a first step never taken: due when the alarm was
         * written); `overdue` when the ladder has stalled there — the card says it was not sent.
         */
        nextStep:
          next && (r.next_step_at || stalled)
            ? {
                ...next,
                /** Its level's targets as the ladder names them (`sms:senior-leadership`): whom to phone when stalled. */
                notify: policy!.levels[next.level - 1]?.notify ?? [],
                dueAt: new Date((r.next_step_at ?? r.created_at) as string).toISOString(),
                overdue: stalled,
              }
            : null,
        acknowledgedBy: r.acknowledged_by_name ?? null,
        acknowledgedVia: (r.acknowledged_via as string | null) ?? null,
        acknowledgedAt: r.acknowledged_at ? new Date(r.acknowledged_at as string).toISOString() : null,
      };
    }),
    visits: visits.rows.map((r) => {
      const expected = r.expected_return_at ? new Date(r.expected_return_at as string) : null;
      const next = nextVisitCheck(
        {
          id: String(r.id),
          status: r.status as string,
          departedAt: r.departed_at ? new Date(r.departed_at as string) : null,
          returnedAt: r.returned_at ? new Date(r.returned_at as string) : null,
          arrivedAt: r.arrived_at ? new Date(r.arrived_at as string) : null,
          expectedReturnAt: expected,
          lastCheckInAt: r.last_check_in_at ? new Date(r.last_check_in_at as string) : null,
          checkInMinutes: (r.check_in_minutes as number | null) ?? null,
        },
        rules,
        now,
      );
      return {
        id: String(r.id),
        status: r.status as string,
        reason: r.reason as string,
        address: formatAddress(r.address as Address),
        pupilName: name(r.forename, r.surname),
        lead: r.lead_name ?? null,
        partner: r.partner_name ?? null,
        /** Numbers the office needs when the ladder says "call the worker" / "call the location". */
        phones: {
          lead: r.lead_phone ?? null,
          partner: r.partner_phone ?? null,
          family: r.family_phone ?? null,
        },
        riskLevel: r.risk_level,
        departedAt: r.departed_at ? new Date(r.departed_at as string).toISOString() : null,
        /** When the worker said they had arrived at the door (the card says so while they are out). */
        arrivedAt: r.arrived_at ? new Date(r.arrived_at as string).toISOString() : null,
        /** The arrival the worker estimated when leaving, until they record arriving. */
        estimatedArrivalAt:
          r.estimated_arrival_at && !r.arrived_at
            ? new Date(r.estimated_arrival_at as string).toISOString()
            : null,
        /**
         * That estimate has passed and no arrival is recorded: the card stops saying "arriving
         * about" a time gone by (no alarm hangs on it: the policy names none).
         */
        arrivalPassed:
          r.departed_at !== null &&
          r.returned_at === null &&
          !r.arrived_at &&
          r.estimated_arrival_at !== null &&
          new Date(r.estimated_arrival_at as string) < now,
        expectedReturnAt: expected?.toISOString() ?? null,
        /** When the worker came back (the card says "back at", not a "back by" already past). */
        returnedAt: r.returned_at ? new Date(r.returned_at as string).toISOString() : null,
        lastCheckInAt: r.last_check_in_at ? new Date(r.last_check_in_at as string).toISOString() : null,
        /**
         * Thames View 3.5: the parent/carer said they are running late — when, who recorded it (their
         * name) and the pack's lateness limit: the card says not to go in until they arrive, and that
         * the visit is cancelled past the limit. Null: no such warning (3.4's wait applies).
         */
        parentLateNotice: r.parent_late_notice_at
          ? {
              at: new Date(r.parent_late_notice_at as string).toISOString(),
              by: (r.parent_late_notice_by_name as string | null) ?? null,
              cancelAfterMinutes: rules.appointments?.lateCancelAfterMinutes ?? null,
            }
          : null,
        out: r.departed_at !== null && r.returned_at === null,
        overdue: r.departed_at !== null && r.returned_at === null && expected !== null && expected < now,
        /** When the watcher next raises something for this visit unless the worker checks in or returns. */
        alarmDueAt: next?.toISOString() ?? null,
        /**
         * The fob the worker is out with has reported a low battery (its low-battery event, or
         * `FOB_BATTERY_LOW` % or less) since leaving: its SOS may not last the visit — ask them to
         * check in by phone. Null: nothing low reported.
         */
        fobBatteryLow: lowBattery(r.fob_battery as BatteryReport | null),
      };
    }),
    triggers: triggers.rows.map((r) => ({
      id: String(r.id),
      pupilMisId: r.pupil_mis_id,
      pupilName: name(r.forename, r.surname),
      title: r.title,
      action: r.action,
      role: r.role,
      openedOn: String(r.opened_on instanceof Date ? (r.opened_on as Date).toISOString() : r.opened_on).slice(
        0,
        10,
      ),
      /** The first day the trigger counted (e.g. of the absence), when it has one. */
      firstDay: firstDayOf(r.evidence as Evidence | null),
      /**
       * Its action is done by recording it (a phone call, a meeting, the LA told …), not by a visit:
       * the board offers "Record it done" beside "Request a visit".
       */
      recordable: doneByRecording(String(r.action)),
      /** The action done, in words (the record's title): "Phone call home made". */
      doneText: doneByRecording(String(r.action)) ? ACTION_DONE_TEXT[r.action as Action] : null,
    })),
    resolvedToday: resolved.rows.map((r) => ({
      id: String(r.id),
      type: r.type as string,
      test: r.test === true,
      fromPhone: r.from_phone === true,
      staffName: (r.staff_name as string | null) ?? null,
      deviceId: (r.device_id as string | null) ?? null,
      raisedAt: new Date(r.raised_at as string).toISOString(),
      resolvedAt: new Date(r.resolved_at as string).toISOString(),
      reason: r.resolution_reason as string,
      /** The reason in the words the person chose it by ("the worker is safe: the office spoke to them"). */
      reasonText: RESOLUTION_REASONS[r.resolution_reason as ResolutionReason] ?? null,
      note: (r.resolution_note as string | null) ?? null,
      timeline: ((r.timeline as { at: string; event: string }[] | null) ?? []).map((t) => ({
        at: new Date(t.at).toISOString(),
        event: t.event,
      })),
    })),
    needsFollowUp: followUp.rows.map((r) => ({
      visitId: String(r.id),
      pupilMisId: r.pupil_mis_id as string,
      pupilName: name(r.forename, r.surname),
      completedAt: new Date(r.completed_at as string).toISOString(),
    })),
    failed: [
      ...notices.rows.map((r) => ({
        what: 'notice',
        id: r.id as string,
        detail: r.detail as string,
        error: (r.last_error as string | null) ?? null,
        at: new Date(r.at as string).toISOString(),
        alarmId: null as string | null,
        /** Not failed: still being tried (a notice stuck an hour; a record not delivered yet). */
        pending: r.status !== 'failed',
        ...(r.visit_id ? { visitId: r.visit_id as string } : {}),
      })),
      ...recordsFailed.rows.map((r) => ({
        what: 'record',
        id: r.id as string,
        detail: r.detail as string,
        error: (r.last_error as string | null) ?? null,
        at: new Date(r.at as string).toISOString(),
        alarmId: null as string | null,
        pending: false,
      })),
      // At when it was put back in line by Retry, if it was; else when it was written.
      ...recordsPending.rows.map((r) => ({
        what: 'record',
        id: r.id,
        detail: r.detail,
        error: pendingRecordSaid(r),
        at: new Date(r.retried_at ?? r.created_at).toISOString(),
        alarmId: null as string | null,
        pending: true,
      })),
      // The alarms' notifications that did not get through (all or some of their people).
      ...sent
        .filter((n) => ['failed', 'partly-failed'].includes(deliveryState(n)))
        .map((n) => ({
          what: 'notification',
          id: n.id,
          detail: n.target,
          error: deliveryDetail(n),
          at: n.at.toISOString(),
          alarmId: n.alarmId,
          pending: false,
        })),
    ].sort((a, b) => b.at.localeCompare(a.at)),
    /**
     * How many more of each kind of **Failed deliveries** there are than the board was sent
     * (BOARD_FAILED_EACH of each): the board says "and N more", never leaves them out unsaid.
     */
    failedNotShown: {
      notices: notShown(notices.rows),
      records: notShown(recordsFailed.rows),
      pending: notShown(recordsPending.rows),
    },
  };
}

/** How many unacknowledged alarms' ids `alarmsUnacknowledgedAt` sends per school (the rest counted). */
const ELSEWHERE_IDS = 50;

/**
 * The unacknowledged alarms of other schools (a person of several schools watches one board at a
 * time): per school with any, how many and the ids of the first ELSEWHERE_IDS, oldest first. A fob
 * drill (TEST) is left out: it runs its own school's ladder and is no alarm to the other boards.
 * `orphans` — the school that takes the alarms of the schools the config no longer holds (`to`, the
 * `trust.orphansTo` school) and the config's school ids: when `to` is among `schoolIds`, those alarms
 * are counted as its own (its board shows them for someone to take).
 */
export async function alarmsUnacknowledgedAt(
  db: Queryable,
  schoolIds: readonly string[],
  orphans: { to: string; configured: readonly string[] } | null = null,
): Promise<{ schoolId: string; unacknowledged: number; alarmIds: string[] }[]> {
  if (schoolIds.length === 0) return [];
  const taking = orphans && schoolIds.includes(orphans.to) ? orphans : null;
  const { rows } = await db.query<{ school_id: string; n: number; ids: string[] }>(
    taking
      ? `SELECT school_id, count(*)::int AS n, (array_agg(id::text ORDER BY raised_at, id))[1:${ELSEWHERE_IDS}] AS ids
         FROM (SELECT CASE WHEN a.school_id = ANY($1) THEN a.school_id ELSE $2 END AS school_id, a.id, a.raised_at
               FROM alarms a WHERE (a.school_id = ANY($1) OR a.school_id <> ALL($3::text[]))
                 AND a.status = 'open' AND NOT a.test) x
         GROUP BY school_id`
      : `SELECT school_id, count(*)::int AS n, (array_agg(id::text ORDER BY raised_at, id))[1:${ELSEWHERE_IDS}] AS ids
     FROM alarms WHERE school_id = ANY($1) AND status = 'open' AND NOT test
     GROUP BY school_id`,
    taking ? [[...schoolIds], taking.to, [...taking.configured]] : [[...schoolIds]],
  );
  return rows.map((r) => ({ schoolId: r.school_id, unacknowledged: r.n, alarmIds: r.ids }));
}
