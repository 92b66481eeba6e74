import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { acknowledgeAlarm, resolveAlarm } from '../../alarms/commands.ts';
import { raiseFobDrill } from '../../alarms/fob-drill.ts';
import { alarmReach, noLongerConfigured, orphansTo, schoolOrFallback } from '../../config/school-of.ts';
import { londonDate } from '../../domain/attendance/dates.ts';
import { BOARD_EVENT_TYPES } from '../../domain/board-events.ts';
import { VISITING_STAFF } from '../../domain/escalation/ladder.ts';
import { groupsWithNoOneToPhone, peopleToPhone } from '../../domain/escalation/phone-yourself.ts';
import { PERSON_RESOLUTION_REASONS, RESOLUTION_REASONS } from '../../domain/escalation/resolution.ts';
import { doorstepError } from '../../errors.ts';
import { OFFICE_STAFF } from '../../notify/push-channel.ts';
import { queueAfterCommit } from '../../queue/after-commit.ts';
import { alarmSchoolId, alarmSubjects, alarmsAbout, isAlarmSubject } from '../../store/alarm-lookups.ts';
import { alarmsUnacknowledgedAt, boardState } from '../../store/board-state.ts';
import { openFollowUps } from '../../store/follow-ups.ts';
import { fobFeedStatus } from '../../store/ingest-status.ts';
import { recordsFailedBySink } from '../../store/outbox.ts';
import type { User } from '../../store/users.ts';
import { visitsAwaitingAuthorisation } from '../../store/visit-queries.ts';
import { ACTION_NOTE_MAX, recordTriggerAction } from '../../triggers/action-done.ts';
import { userMaySeeSchool } from '../../visits/access.ts';
import { completeFollowUp } from '../../visits/follow-ups.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';

const BOARD_ROLES = ['office', 'safeguarding'] as const;

/**
 * The unacknowledged alarms of the user's schools other than `schoolId`, with each school's name. The
 * alarms of a school the config no longer holds count as the `orphansTo` school's, whose board holds them.
 */
async function alarmsElsewhere(deps: WebDeps, user: User, schoolId: string) {
  const others = deps.config.schools.filter((s) => s.id !== schoolId && userMaySeeSchool(user, s.id));
  const open = await alarmsUnacknowledgedAt(
    deps.db,
    others.map((s) => s.id),
    { to: orphansTo(deps.config).id, configured: deps.config.schools.map((s) => s.id) },
  );
  return others.flatMap((s) => {
    const o = open.find((x) => x.schoolId === s.id);
    return o ? [{ ...o, schoolName: s.name }] : [];
  });
}

/** The office board's data and its two actions on an alarm. */
export function registerBoardApi(app: FastifyInstance, deps: WebDeps): void {
  app.get<{ Querystring: { school?: string } }>(
    '/api/board',
    { config: { access: BOARD_ROLES } },
    async (req) => {
      const school = schoolParam(deps, req, req.query.school);
      const now = deps.now();
      // The `orphansTo` school's board also holds the alarms of schools the config no longer holds.
      const state = await boardState(
        deps.db,
        school.id,
        londonDate(now),
        now,
        deps.rulesFor(school.id),
        alarmReach(deps.config, school.id).configured,
      );
      const today = londonDate(now);
      const rules = deps.rulesFor(school.id);
      // The fob feeds as the data page reads them too (one function, one answer).
      const fobFeeds = await fobFeedStatus(deps.db, school, now);
      // The alarms about the one looking (its wearer, a person on its visit): not theirs to take or close.
      const about = await alarmsAbout(
        deps.db,
        state.alarms.map((a) => a.id),
        userOf(req),
      );
      return {
        ...state,
        /**
         * The London date these lists are for ("Today's visits", "Resolved today"): the board's
         * toolbar says it, so a board open over midnight turns its date with its lists.
         */
        day: today,
        alarms: await Promise.all(
          state.alarms.map(async (a) => {
            const unheard = a.warning === 'no-one-reached' || a.warning === 'ladder-stalled';
            // Every message failed: the groups they went to, and the next step's when it is overdue
            // too (the card says to phone them); the ladder stalled: its next step's.
            const next = a.nextStep?.overdue ? a.nextStep.notify : [];
            const targets = !unheard
              ? []
              : a.warning === 'ladder-stalled'
                ? (a.nextStep?.notify ?? [])
                : [...new Set([...a.notifications.map((n) => n.target), ...next])];
            return {
              ...a,
              /**
               * An alarm of a school the config no longer holds, on this (`trust.orphansTo`) school's
               * board: its card says so — "hampton, a school no longer in the configuration". Else null.
               */
              noLongerConfigured: a.schoolId === school.id ? null : noLongerConfigured(a.schoolId),
              aboutYou: about.has(a.id),
              /**
               * The people the office phones itself, with their numbers: every message failed — those
               * it went to; the ladder stalled — the next step's people, whom no one is paging. Never a
               * person the alarm is about (looked up as the channels do: the wearer, the people on its
               * visit, the phone the worker left with).
               */
              phoneThem: unheard
                ? await alarmSubjects(deps.db, a.id).then((about) =>
                    peopleToPhone(targets, school.contacts, about.phones, about.emails),
                  )
                : [],
              /**
               * Those groups that give no one to phone (not in the config, empty, or no one in them
               * with a phone number): the card says so — "no contacts with a phone number are
               * configured for on-call-leaders" — and what the office does instead, rather than
               * telling it to phone people it cannot list.
               */
              phoneNoOneIn: unheard
                ? groupsWithNoOneToPhone(targets, school.contacts, [VISITING_STAFF, OFFICE_STAFF])
                : [],
            };
          }),
        ),
        /**
         * The user's other schools with an unacknowledged alarm (one board is watched at a time): the
         * board says "ALARM at …" over everything, with the way to that school's board, and sounds.
         */
        elsewhere: await alarmsElsewhere(deps, userOf(req), school.id),
        fobFeeds,
        /** Fob feeds that are not arriving: the board says alarms from this school may not reach it. */
        ingest: fobFeeds?.down ?? [],
        /**
         * The school's records that failed to reach their sink and wait for a person, per sink (all
         * counted): the board's top says so — the data manager retries or dismisses them.
         */
        recordsFailed: await recordsFailedBySink(deps.db, school.id),
        /** Visits waiting for the policy's authorisers (where the policy asks for authorisation). */
        awaitingAuthorisation: rules.authorisation.required
          ? {
              by: rules.authorisation.by,
              // A visit whose day has passed is not authorised until it is moved: the board says so.
              visits: (await visitsAwaitingAuthorisation(deps.db, school.id)).map((v) => ({
                ...v,
                dayPassed: v.plannedFor < today,
              })),
            }
          : null,
        /** Follow-up actions from outcomes, not yet done (soonest due first; `overdue` past their date). */
        followUps: (await openFollowUps(deps.db, school.id)).map((f) => ({
          ...f,
          overdue: f.dueOn !== null && f.dueOn < today,
        })),
        /**
         * When the broker last sent anything on the school's MQTT feeds and whether that is past
         * `fobs.brokerSilenceSeconds` (null: the school has no MQTT feed).
         */
        broker: fobFeeds?.broker ?? null,
        /** The school's fobs, for an admin's "Send a test alarm" (device ids only). */
        drillDevices: school.fobs.devices.map((d) => d.deviceId),
        eventTypes: BOARD_EVENT_TYPES,
        resolutionReasons: PERSON_RESOLUTION_REASONS.map((value) => ({
          value,
          label: RESOLUTION_REASONS[value],
        })),
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/follow-ups/:id/done',
    { config: { access: BOARD_ROLES } },
    async (req) => {
      const { id } = parseInput(
        z.strictObject({ id: z.string().regex(/^\d+$/, { error: 'expected a follow-up id' }) }),
        req.params,
      );
      const { note } = parseInput(z.strictObject({ note: z.string().max(1000) }), req.body);
      await completeFollowUp(deps, userOf(req), id, note);
      return { ok: true };
    },
  );

  /** A trigger's action that is not a visit (a phone call home, a meeting …) recorded done. */
  app.post<{ Params: { id: string } }>(
    '/api/triggers/:id/action-done',
    { config: { access: BOARD_ROLES } },
    async (req) => {
      const { id } = parseInput(
        z.strictObject({ id: z.string().regex(/^\d{1,18}$/, { error: 'expected a trigger id' }) }),
        req.params,
      );
      const body = parseInput(
        z.strictObject({
          school: z.string().max(100),
          note: z.string().max(ACTION_NOTE_MAX, { error: `expected at most ${ACTION_NOTE_MAX} characters` }),
          doneOn: z.string().max(10).optional(),
        }),
        req.body,
      );
      const school = schoolParam(deps, req, body.school);
      const r = await recordTriggerAction(deps, userOf(req), {
        schoolId: school.id,
        episodeId: id,
        note: body.note,
        doneOn: body.doneOn || undefined,
      });
      return { ok: true, already: r.already };
    },
  );

  /** The board events the stream sends: the page listens for exactly these. */
  app.get('/api/board/event-types', { config: { access: BOARD_ROLES } }, async () => ({
    eventTypes: BOARD_EVENT_TYPES,
  }));

  const alarmSchool = async (req: { user: import('../../store/users.ts').User | null }, id: string) => {
    const schoolId = await alarmSchoolId(deps.db, id);
    // Another school's alarm is answered as none (its existence is not theirs to know: ids are counted).
    // One of a school the config no longer holds is the `orphansTo` school's to take.
    if (
      !schoolId ||
      !req.user ||
      !userMaySeeSchool(req.user, schoolOrFallback(deps.config, schoolId).school.id)
    )
      throw doorstepError('NOT_FOUND', `no alarm ${id}`);
    // As from a phone (src/alarms/phone-person.ts): whoever holds the device or account of the person
    // in trouble must not be able to stand their alarm down.
    if (await isAlarmSubject(deps.db, id, req.user))
      throw doorstepError(
        'FORBIDDEN',
        'this alarm is about you (its wearer, or a person on its visit): someone else in the office takes and closes it',
      );
    return schoolId;
  };
  const idParam = z.strictObject({ id: z.string().regex(/^\d+$/, { error: 'expected an alarm id' }) });

  app.post<{ Params: { id: string } }>(
    '/api/alarms/:id/acknowledge',
    { config: { access: BOARD_ROLES } },
    async (req) => {
      const { id } = parseInput(idParam, req.params);
      await alarmSchool(req, id);
      const outcome = await acknowledgeAlarm(deps.db, id, `user:${userOf(req).id}`, deps.now(), deps);
      return { outcome };
    },
  );

  const resolution = z.strictObject({
    // Absent: a TEST alarm is resolved as `test`; any other alarm is refused naming `reason`.
    reason: z
      .enum(PERSON_RESOLUTION_REASONS, {
        error: `expected one of ${PERSON_RESOLUTION_REASONS.join(', ')}`,
      })
      .optional(),
    note: z.string().max(2000).optional(),
  });
  app.post<{ Params: { id: string } }>(
    '/api/alarms/:id/resolve',
    { config: { access: BOARD_ROLES } },
    async (req) => {
      const { id } = parseInput(idParam, req.params);
      const body = parseInput(resolution, req.body);
      await alarmSchool(req, id);
      const outcome = await resolveAlarm(
        deps.db,
        deps.config,
        id,
        `user:${userOf(req).id}`,
        body.reason ?? null,
        body.note?.trim() || null,
        deps.now(),
        deps,
      );
      if (outcome === 'resolved')
        await queueAfterCommit(() => deps.producer?.enqueue('relay-outbox', { reason: 'after-write' }));
      return { outcome };
    },
  );

  /**
   * A fob drill: an admin raises a TEST alarm for one of the school's fobs, which runs that fob's
   * whole ladder (src/alarms/fob-drill.ts). Audited by the alarm writer (`alarm.raised`, test).
   */
  app.post('/api/alarms/test', { config: { access: ['admin'] } }, async (req, reply) => {
    const body = parseInput(
      z.strictObject({
        school: z.string().min(1).max(64),
        device: z.string().min(1, { error: 'expected a device id' }).max(128),
      }),
      req.body,
    );
    const school = schoolParam(deps, req, body.school);
    const r = await raiseFobDrill(deps, school, body.device, `user:${userOf(req).id}`, deps.now());
    return reply.code(201).send(r);
  });
}
