import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { pushOptedIn } from '../../checks/push-reach.ts';
import { reachesAPerson } from '../../checks/reachability.ts';
import { findSchool } from '../../config/school-of.ts';
import { londonDate } from '../../domain/attendance/dates.ts';
import { holdsRole } from '../../domain/roles.ts';
import { type Evidence, firstDayOf } from '../../domain/triggers/finding.ts';
import {
  allowedActions,
  decide,
  helpAfterBack,
  isOut,
  mayNameLead,
  onVisit,
  type VisitAction,
} from '../../domain/visits/lifecycle.ts';
import { ownReturnTimeClosed, ownReturnTimeLatest } from '../../domain/visits/return-time.ts';
import { FAMILY_NOTICE_METHODS, flagMinimum, higherRisk } from '../../domain/visits/rules.ts';
import { nextVisitCheck } from '../../domain/visits/watch.ts';
import { doorstepError } from '../../errors.ts';
import { sinksFor } from '../../records/record-outbox.ts';
import { addressFlagsFor } from '../../store/address-flags.ts';
import { visitFobBatteryLow } from '../../store/alarm-lookups.ts';
import { openAlarmsOfVisit } from '../../store/alarm-state.ts';
import { triggerOfVisit, triggerTitlesOf } from '../../store/pupil-page.ts';
import { pupilContacts, pupilNames, pupilSummary } from '../../store/pupils.ts';
import { type User, userById, usersOfSchool } from '../../store/users.ts';
import { lastConfirmedByOthers, lastConfirmedByOthersOf } from '../../store/visit-queries.ts';
import { checkInsOf, getVisit, lifecycleOf, visitsOfSchool } from '../../store/visits.ts';
import { actorOf, mayActOnVisit, mayHandleVisit, seesEveryVisit } from '../../visits/access.ts';
import { newTimeSendsBack } from '../../visits/appointment.ts';
import { closedDayWords } from '../../visits/closed-day.ts';
import { approveCommute } from '../../visits/commute.ts';
import { raiseConcern } from '../../visits/concern.ts';
import { departureCheck, departVisit } from '../../visits/departure.ts';
import { exemptionsFor, exemptionsShown, familyTextFor, tellFamily } from '../../visits/family-notice.ts';
import { goOnVisit, notGoing } from '../../visits/going.ts';
import { approveOutOfHours } from '../../visits/out-of-hours.ts';
import {
  cancelParentLate,
  cancelVisit,
  followUpDone,
  recordNoAnswer,
  recordOutcome,
} from '../../visits/outcome.ts';
import {
  seesPupilDetails,
  visitPupilFor,
  visitReasonFor,
  visitShownTo,
} from '../../visits/pupil-details-for.ts';
import { assessRisk, authoriseVisit, requestVisit, signDayList } from '../../visits/request.ts';
import { changeVisitDate } from '../../visits/reschedule.ts';
import { resumeWatch } from '../../visits/resume-watch.ts';
import { riskRefusalFor } from '../../visits/risk-refusal.ts';
import { visitReachFacts, visitWatch, watchNow } from '../../visits/watch-reach.ts';
import {
  arriveVisit,
  askForHelp,
  checkInVisit,
  helpPosition,
  recordParentRunningLate,
  returnVisit,
  revealSafeWord,
  runningLate,
} from '../../visits/while-out.ts';
import type { Access } from '../access.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';
import { pupilUrlFor } from './pupil-page.ts';
import {
  departure,
  departureDraft,
  idParam,
  isoDate,
  late,
  outcome,
  phonePosition,
  recordedAt,
  request,
  risk,
  signList,
} from './visit-inputs.ts';

const STAFF = ['office', 'safeguarding', 'visiting-staff'] as const;
/** A page's id for one press of a button that must act once (help, a concern), the same on every retry. */
const PRESS_ID = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, { error: 'expected 8-64 letters, digits, _ or -' });

/** The visit register: list, detail, and each step from request to outcome. */
export function registerVisitsApi(app: FastifyInstance, deps: WebDeps): void {
  /**
   * The visit a step is taken on. Someone else's is not found, not forbidden: its existence is not
   * theirs to know. A step taken for the worker out (`action`, `actsForWorkerOut`) on the visit of a
   * school the config no longer holds is open to the `orphansTo` school's people too (`mayActOnVisit`,
   * as `must` allows it); its page and every other step stay its own school's (`mayHandleVisit`).
   */
  const visitFor = async (req: Parameters<typeof userOf>[0], visitId: string, action?: VisitAction) => {
    const v = await getVisit(deps.db, visitId);
    const user = userOf(req);
    if (!v || !(action ? mayActOnVisit(deps.config, user, v, action) : mayHandleVisit(user, v)))
      throw doorstepError('NOT_FOUND', `no visit ${visitId}`);
    return v;
  };
  /**
   * The lifecycle's step a route takes for the worker out (for `visitFor`; the arrival and the
   * check-in are the worker's own or recorded for them, both such steps). Other routes: none.
   */
  const forWorkerOut: Readonly<Partial<Record<string, VisitAction>>> = {
    arrive: 'arrive',
    'check-in': 'check-in',
    'running-late': 'running-late',
    help: 'help',
    'help-position': 'help',
    'back-safe': 'back-safe',
    return: 'back-safe',
    'resume-watch': 'resume-watch',
  };

  const triggerSummary = (t: Awaited<ReturnType<typeof triggerOfVisit>>) =>
    t
      ? {
          title: t.title,
          explanation: t.explanation,
          status: t.status,
          openedOn: t.opened_on,
          firstDay: firstDayOf(t.evidence as Evidence),
        }
      : null;

  app.get<{ Querystring: { school?: string; date?: string; mine?: string } }>(
    '/api/visits',
    { config: { access: STAFF } },
    async (req) => {
      const school = schoolParam(deps, req, req.query.school);
      const date = req.query.date ? parseInput(isoDate, req.query.date, 'date') : londonDate(deps.now());
      const user = userOf(req);
      const onlyMine = !seesEveryVisit(user) || req.query.mine === '1';
      // Visiting staff see theirs and the visits nobody leads yet, which they may take and go on.
      const visits = await visitsOfSchool(deps.db, school.id, {
        date,
        ...(onlyMine ? { userId: user.id, orUnled: user.roles.includes('visiting-staff') } : {}),
      });
      const pupils = await pupilNames(
        deps.db,
        school.id,
        visits.map((v) => v.pupilMisId),
      );
      const rules = deps.rulesFor(school.id);
      // A reason taken from a trigger is told only to those who see the pupil's details (visitReasonFor).
      const titles = await triggerTitlesOf(
        deps.db,
        school.id,
        visits.flatMap((v) =>
          v.triggerEpisodeId && !seesPupilDetails(user, v, rules) ? [v.triggerEpisodeId] : [],
        ),
      );
      // Who last confirmed the workers out, for whether their own new return time is closed.
      const confirmed = await lastConfirmedByOthersOf(
        deps.db,
        visits.filter((v) => isOut(v)).map((v) => v.id),
      );
      return {
        date,
        rules: { authorisation: rules.authorisation, pairs: rules.pairs },
        visits: visits.map((v) => {
          const p = pupils.find((x) => x.mis_id === v.pupilMisId);
          return {
            id: v.id,
            version: v.version,
            status: v.status,
            pupilName: p ? `${p.forename ?? ''} ${p.surname ?? ''}`.trim() : v.pupilMisId,
            reason: visitReasonFor(
              seesPupilDetails(user, v, rules),
              v,
              v.triggerEpisodeId ? titles.get(v.triggerEpisodeId) : undefined,
            ),
            plannedFor: v.plannedFor,
            riskLevel: v.riskLevel,
            estimatedArrivalAt: v.estimatedArrivalAt?.toISOString() ?? null,
            /** "I have arrived" said: the register's status reads "arrived" (statusLabel), not "departed". */
            arrivedAt: v.arrivedAt?.toISOString() ?? null,
            expectedReturnAt: v.expectedReturnAt?.toISOString() ?? null,
            returnedAt: v.returnedAt?.toISOString() ?? null,
            out: isOut(v),
            /** What this user may do to it now (the lifecycle's answer; the pages offer exactly these). */
            actions: allowedActions(
              lifecycleOf(v, deps.now(), confirmed.get(v.id) ?? null),
              actorOf(user),
              rules,
            ),
          };
        }),
      };
    },
  );

  app.get<{ Params: { id: string } }>('/api/visits/:id', { config: { access: STAFF } }, async (req) => {
    const v = await visitFor(req, parseInput(idParam, req.params).id);
    const rules = deps.rulesFor(v.schoolId);
    const pupil = await pupilSummary(deps.db, v.schoolId, v.pupilMisId);
    const contacts = await pupilContacts(deps.db, v.schoolId, v.pupilMisId);
    const staffAll = await usersOfSchool(deps.db, v.schoolId);
    const now = deps.now();
    const user = userOf(req);
    const flags = await addressFlagsFor(deps.db, v.schoolId, v.address);
    const school = findSchool(deps.config, v.schoolId);
    // Out, or back safe recently enough to say "I am still out": the last time someone other than
    // the workers confirmed them (the departure at least).
    const confirmedAt =
      isOut(v) || lifecycleOf(v, now).recentlyBack
        ? ((await lastConfirmedByOthers(deps.db, v.id)) ?? v.departedAt)
        : null;
    const lifecycle = lifecycleOf(v, now, confirmedAt);
    const onIt = onVisit(user, v);
    const backSafeBy = v.backSafeBy?.startsWith('user:')
      ? await userById(deps.db, v.backSafeBy.slice('user:'.length))
      : undefined;
    const lateNoticeBy = v.parentLateNoticeBy?.startsWith('user:')
      ? await userById(deps.db, v.parentLateNoticeBy.slice('user:'.length))
      : undefined;
    const seen = visitPupilFor(user, v, rules, pupil, contacts);
    // How many turned alarms on a device, per push group: whether a push reaches a person.
    const optedIn = school ? await pushOptedIn(deps.db, school) : new Map<string, number>();
    const actions = allowedActions(lifecycle, actorOf(user), rules);
    const effectiveRisk = higherRisk(v.riskLevel, flagMinimum(flags));
    const beforeLeaving = v.status === 'requested' || v.status === 'authorised';
    const trigger = v.triggerEpisodeId
      ? await triggerOfVisit(deps.db, v.schoolId, v.triggerEpisodeId)
      : undefined;
    return {
      /**
       * The server's time this answer was decided at: the page keeps how far the phone's clock is off
       * it (app.js `serverNow`) and compares every time it decides by — a return time just passed or
       * past the worker's own bound, the wait at the door — against the server's clock, never the
       * phone's own, which may be minutes off.
       */
      serverNow: now.toISOString(),
      // The visit's fields as this person is shown them (VISIT_FIELDS, visitShownTo): never the safe
      // word (the office reveals it with one audited click); to those the pupil's details are withheld
      // from, not its trigger's words in the reason, the outcome's details, the worker's phone or vehicle.
      visit: visitShownTo(user, v, rules, trigger?.title),
      out: isOut(v),
      actions,
      /**
       * Out (or back safe, while "I am still out" is allowed), for the people on the visit: the latest
       * new return time they may set themselves (4 hours after someone else last confirmed them;
       * runningLateProblem). The page caps its time at it, and once it has come (`running-late` no
       * longer in `actions`) tells them to phone the office; "I am still out" then asks no time.
       */
      lateSelfUntil: confirmedAt && onIt ? ownReturnTimeLatest(confirmedAt).toISOString() : null,
      /**
       * That latest time has come (ownReturnTimeClosed, as "I am still out" decides it): the page asks
       * no return time for "I am still out" — the overdue alarm is raised at once — and before it, one.
       * The server's word, never the phone's clock: a phone ahead of it asked none the server then
       * refused without; one behind it asked for a time and refused every one past the bound.
       */
      lateSelfClosed: confirmedAt && onIt ? ownReturnTimeClosed(confirmedAt, now) : false,
      /**
       * Back safe: who said it and whether it was this person — said by someone else, the phone page
       * tells the people on the visit so at the top, with "I am still out" while it is allowed. `help`:
       * whether "I need help" is still at the top of the page for the time since (`open`), and until
       * when (helpAfterBack); the page keeps no time of its own.
       */
      backSafe: v.returnedAt
        ? {
            at: v.returnedAt.toISOString(),
            byName: backSafeBy?.displayName ?? null,
            byMe: v.backSafeBy === `user:${user.id}`,
            help: helpAfterBack(v.returnedAt, now),
          }
        : null,
      /**
       * Thames View 3.5: the parent/carer said they are running late — when, and who recorded it (the
       * page's wait at the door is then 3.5's: do not go in until they arrive, cancelled past the limit).
       */
      parentLateNotice: v.parentLateNoticeAt
        ? { at: v.parentLateNoticeAt.toISOString(), byName: lateNoticeBy?.displayName ?? null }
        : null,
      /** Its planned day has gone by: the page says it must be moved before anything else. */
      dayPassed: lifecycle.dayPassed,
      /** Why its planned day is no school day ("a weekend"), or null: the page says so by the date. */
      plannedDayClosed: school ? closedDayWords(school, v.plannedFor) : null,
      /**
       * Its alarms not yet resolved: the phone page tells the worker what the office sees. An "I need
       * help" says who pressed it (`pressedBy`): the partner's phone names the lead's alarm as theirs.
       */
      alarms: (await openAlarmsOfVisit(deps.db, v.id)).map(({ pressedByUserId: by, ...a }) => {
        if (!by) return a;
        const name = staffAll.find((x) => x.id === by)?.displayName ?? null;
        return { ...a, pressedBy: { me: by === user.id, name } };
      }),
      /** When the watcher next raises something unless the worker checks in or is back. */
      nextAlarmAt: nextVisitCheck(v, rules, now)?.toISOString() ?? null,
      /** The fob the worker is out with reported a low battery: the page says so (its SOS may not last). */
      fobBatteryLow: await visitFobBatteryLow(deps.db, v.id),
      partnerName: staffAll.find((x) => x.id === v.partnerUserId)?.displayName ?? null,
      leadName: staffAll.find((x) => x.id === v.leadUserId)?.displayName ?? null,
      /**
       * Who the worker can phone now, and what the button says (the on-call number out of hours); and
       * whether an alarm the watcher may still raise — the overdue return, a missed check-in, a silent
       * fob, until they are overdue and once overdue until the next check-in and one more interval,
       * each on the ladder of the moment the watcher raises it (`watchNow`) — would be on the office's
       * screen alone (`watchOnlyOnBoard`): the page then never says the office knows or watches, but
       * whom to phone. Decided again on every read, from now. A first level whose targets reach no
       * person (`reachesAPerson`: an SMS group with no SMS channel, a push nobody turned on, a group
       * or browser whose only person is someone on this visit, whom no alarm message goes to) is the
       * screen alone.
       */
      ...(school
        ? watchNow(school, now, visitWatch(school, rules, v, now), await visitReachFacts(deps.db, school, v))
        : { watchOnlyOnBoard: false, office: null }),
      // The pupil and the family's contacts: visiting staff get the pupil's safeguarding details only
      // on a visit they go on that is cleared to go (`pupilDetailsWithheld` says when they did not).
      ...seen,
      /**
       * Withheld: whether they would be shown now were this person going on it (the visit is cleared
       * to go) — the page then says "I'll go on this visit" shows them at once, else once it is cleared.
       */
      pupilDetailsIfGoing: seen.pupilDetailsWithheld
        ? v.leadUserId === null && seesPupilDetails(user, { ...v, leadUserId: user.id }, rules)
        : null,
      /**
       * Nobody leads it, and this person (visiting staff) would take it: whether they could leave on
       * it once they say they are going. Until then the departure is not theirs (`depart`): the page's
       * "Leaving now" says to say "I'll go on this visit" first, not the departure form.
       */
      departsIfGoing:
        actions.includes('go-on-visit') &&
        !mayNameLead(actorOf(user)) &&
        decide('depart', { ...lifecycle, leadUserId: user.id }, actorOf(user), rules).ok,
      addressFlags: flags,
      /** The level departure is checked against: the assessed (or proposed) one, raised by any address flag. */
      effectiveRisk,
      /**
       * Before leaving, the policy says no visit at this risk level (`refuseAtRisk`): the page offers
       * no leaving form but the policy's words and what to do instead (riskRefusalFor); else null.
       */
      riskRefusal: beforeLeaving ? riskRefusalFor(rules, v.riskLevel, effectiveRisk, actions) : null,
      checkIns: await checkInsOf(deps.db, v.id),
      rules,
      // Who may go: every active member of the visiting staff of the school, the signed-in person
      // included when they are one — the lead of a visit nobody leads yet and the partner are chosen
      // from these (the register refuses anyone else).
      staff: staffAll
        .filter((s) => s.roles.includes('visiting-staff'))
        .map((s) => ({ id: s.id, displayName: s.displayName })),
      me: { phone: user.phone ?? null },
      /** Whether this person may name who goes on a visit nobody leads (else they go themselves). */
      mayNameLead: mayNameLead(actorOf(user)),
      /** Where the outcome's record goes: the page says "on its way" only when it really is sent. */
      outcomeRecordsTo: school ? sinksFor(school, 'visit_outcome') : [],
      /**
       * Whether someone is told of a concern the outcome records (its `notices.concern`): a target
       * that reaches a person, judged as the ladders are (`reachesAPerson`) — a named group whose
       * channel is not configured tells no one, and the page then says to phone the DSL now.
       */
      concernsTold: school
        ? school.notices.concern.some((t) => reachesAPerson(school, t, { pushOptedIn: optedIn }))
        : false,
      /**
       * What leaving now would be refused for (and warned of), as the departure form starts (the
       * lead as it would be, no partner, no return time yet): the same checks leaving runs. The form
       * asks `POST /api/visits/:id/departure-check` again as it is filled in.
       */
      findings: beforeLeaving ? await departureCheck(deps, user, v.id, {}) : [],
      school: { id: v.schoolId, name: school?.name },
      /**
       * The policy's exemptions from telling the family first, each with whether it applies to this
       * pupil now and why; to those the pupil's details are withheld from, only whether one applies
       * (`exemptionsShown`): which, and why, names what fired or that the child is missing education.
       */
      familyExemptions: rules.familyNotice
        ? exemptionsShown(!seen.pupilDetailsWithheld, await exemptionsFor(deps.db, rules, v, now))
        : [],
      /** A new appointment time would send the visit back to be authorised and assessed (King's `risk.timing`). */
      appointmentSendsBack: newTimeSendsBack(deps, user, v),
      /**
       * Where the pack names a text for the family: whether Doorstep can send it (the school has an
       * SMS channel), and the school's words for it, for staff who text from a school phone instead.
       */
      familyText:
        rules.familyNotice?.methods.includes('sms') && school
          ? { doorstepSends: Boolean(school.channels.sms), text: familyTextFor(school, v.plannedFor) }
          : null,
      /** The pupil page (attendance calendar, triggers and their evidence, visits), for office and safeguarding. */
      pupilUrl: pupilUrlFor(user, v.schoolId, v.pupilMisId),
      /**
       * The trigger the visit was asked for from: what fired and why, for whoever authorises it. Never
       * to those the pupil's details are withheld from: its title and explanation can name the flags
       * ("Absence of a vulnerable pupil", "there is a safeguarding concern").
       */
      trigger: seen.pupilDetailsWithheld ? null : triggerSummary(trigger),
      /** The pupil's chronology, for those who may read it (safeguarding). */
      chronologyUrl: holdsRole(user, 'safeguarding')
        ? `/pupils/${encodeURIComponent(v.pupilMisId)}/chronology?school=${encodeURIComponent(v.schoolId)}`
        : null,
    };
  });

  app.post('/api/visits', { config: { access: STAFF } }, async (req, reply) => {
    const body = parseInput(request, req.body);
    const visitId = await requestVisit(deps, userOf(req), { ...body, schoolId: body.school });
    return reply.code(201).send({ id: visitId });
  });

  /** One step of a visit: the id checked, the visit found in the user's schools, the body parsed, then `run`. */
  // `answer`: what of the step's result the page is told (nothing, unless a step names it).
  const step = <S extends z.ZodType, R>(
    name: string,
    access: Access,
    body: S,
    run: (user: User, visitId: string, input: z.output<S>) => Promise<R>,
    answer?: (result: R) => Record<string, unknown>,
  ) =>
    app.post<{ Params: { id: string } }>(`/api/visits/:id/${name}`, { config: { access } }, async (req) => {
      const { id: visitId } = parseInput(idParam, req.params);
      await visitFor(req, visitId, forWorkerOut[name]);
      const result = await run(userOf(req), visitId, parseInput(body, req.body));
      return { ok: true, ...answer?.(result) };
    });

  // Who may authorise or assess is the pack's (the lifecycle checks roles and positions).
  step(
    'authorise',
    STAFF,
    z.strictObject({
      note: z.string().max(500).optional(),
      outOfHours: z.boolean().optional(),
      risk: risk.optional(),
    }),
    (user, id, b) => authoriseVisit(deps, user, id, b.note, b.outOfHours ?? false, b.risk),
  );
  step('assess-risk', STAFF, risk, (user, id, b) => assessRisk(deps, user, id, b));
  // "I'll go on this visit", before the departure form (the office names who goes: `leadUserId`),
  // and "I am not going after all". Who may is the departure form's "who is going" (`leadOf`).
  step(
    'go-on-visit',
    STAFF,
    z.strictObject({ leadUserId: departure.shape.leadUserId }),
    (user, id, b) => goOnVisit(deps, user, id, b.leadUserId),
    (r) => r,
  );
  step('not-going', STAFF, z.strictObject({}), (user, id) => notGoing(deps, user, id));
  step(
    'date',
    STAFF,
    z.strictObject({ date: isoDate, closedDayConfirmed: z.boolean().optional() }),
    (user, id, b) => changeVisitDate(deps, user, id, b.date, b.closedDayConfirmed),
  );
  step(
    'approve-out-of-hours',
    STAFF,
    z.strictObject({ reason: z.string().trim().min(1, { error: 'expected why' }).max(500) }),
    (user, id, b) => approveOutOfHours(deps, user, id, b.reason),
  );
  step('approve-commute', STAFF, z.strictObject({ note: z.string().max(500).optional() }), (user, id, b) =>
    approveCommute(deps, user, id, b.note),
  );
  // Route access is the coarse door; the visit lifecycle decides who may do what, from which state.
  /**
   * What the page says once a departure or a new return time is recorded: whether the watch, from now
   * (`watchNow`: until the worker is overdue, or past it the next check-in), may be on the office's
   * screen alone, and whom to phone — decided at that moment, by the server, for the return time just set.
   */
  const watchOf = async (visitId: string) => {
    const v = await getVisit(deps.db, visitId);
    const school = v && findSchool(deps.config, v.schoolId);
    const now = deps.now();
    return school
      ? watchNow(
          school,
          now,
          visitWatch(school, deps.rulesFor(v.schoolId), v, now),
          await visitReachFacts(deps.db, school, v),
        )
      : { watchOnlyOnBoard: false, office: null };
  };
  step(
    'depart',
    STAFF,
    departure,
    async (user, id, d) => {
      await departVisit(deps, user, id, {
        ...d,
        expectedReturnAt: new Date(d.expectedReturnAt),
        estimatedArrivalAt: d.estimatedArrivalAt ? new Date(d.estimatedArrivalAt) : undefined,
      });
      return watchOf(id);
    },
    (w) => w,
  );
  /** The departure form as filled in so far: what leaving would be refused for, from the same checks. */
  app.post<{ Params: { id: string } }>(
    '/api/visits/:id/departure-check',
    { config: { access: STAFF } },
    async (req) => {
      const { id: visitId } = parseInput(idParam, req.params);
      await visitFor(req, visitId);
      const d = parseInput(departureDraft, req.body);
      return {
        findings: await departureCheck(deps, userOf(req), visitId, {
          ...d,
          expectedReturnAt: d.expectedReturnAt ? new Date(d.expectedReturnAt) : undefined,
          estimatedArrivalAt: d.estimatedArrivalAt ? new Date(d.estimatedArrivalAt) : undefined,
        }),
      };
    },
  );
  step('arrive', STAFF, z.strictObject({}), (user, id) => arriveVisit(deps, user, id));
  step('check-in', STAFF, z.strictObject({}), (user, id) => checkInVisit(deps, user, id));
  step(
    'running-late',
    STAFF,
    late,
    async (user, id, b) => {
      await runningLate(deps, user, id, new Date(b.expectedReturnAt), b.reason);
      return watchOf(id);
    },
    (w) => w,
  );
  // Back safe: the worker, or the office after speaking to them. (`return` is its older name.)
  for (const name of ['back-safe', 'return'])
    step(name, STAFF, z.strictObject({}), (user, id) => returnVisit(deps, user, id));
  // "I am still out" / "Still out — watch again": back safe said by mistake, the watch starts again.
  // The return time may be left out only where the worker's own is closed (watched as overdue now).
  step(
    'resume-watch',
    STAFF,
    z.strictObject({
      expectedReturnAt: z.iso
        .datetime({ offset: true, error: 'expected the time they expect to be back (ISO 8601)' })
        .optional(),
    }),
    (user, id, b) => resumeWatch(deps, user, id, b.expectedReturnAt ? new Date(b.expectedReturnAt) : null),
    (r) => ({
      expectedReturnAt: r.expectedReturnAt.toISOString(),
      overdueNow: r.overdueNow,
      onlyOnBoard: r.onlyOnBoard,
    }),
  );
  step('outcome', STAFF, outcome, (user, id, o) => recordOutcome(deps, user, id, o));
  // Thames View 3.5: the parent/carer said they are running late (before 3.4's wait is over).
  step('parent-running-late', STAFF, z.strictObject({}), (user, id) =>
    recordParentRunningLate(deps, user, id),
  );
  // Thames View 3.4 / 3.5: allowed by the lifecycle only once the pack's wait at the door is over.
  step('no-answer', STAFF, z.strictObject({ slipLeft: z.boolean().optional() }), (user, id, b) =>
    recordNoAnswer(deps, user, id, b.slipLeft === true),
  );
  step('parent-late-cancel', STAFF, z.strictObject({}), (user, id) => cancelParentLate(deps, user, id));
  step(
    'family-notice',
    STAFF,
    z.strictObject({
      method: z.enum(FAMILY_NOTICE_METHODS).optional(),
      /** A text: sent by Doorstep (the school's SMS channel), or by staff from a school phone. */
      sentBy: z.enum(['doorstep', 'staff']).optional(),
      exemption: z.string().max(50).optional(),
      note: z.string().max(500).optional(),
      /** When the record the page showed was made (null: none): a new one replaces it (409 if another came since). */
      replaces: recordedAt,
    }),
    (user, id, b) => tellFamily(deps, user, id, b),
  );
  step(
    'concern',
    STAFF,
    z.strictObject({
      concern: z.string().trim().min(1, { error: 'expected the concern' }).max(4000),
      /** About the child (the default), or an incident of aggression, violence or threat towards staff. */
      about: z.enum(['child', 'incident']).default('child'),
      /** The page's id for this concern, the same on every retry (a lost answer never records twice). */
      sendId: PRESS_ID.optional(),
    }),
    (user, id, b) => raiseConcern(deps, user, id, b.concern, b.about, b.sendId),
    // The page says what really happened: how many people are being told, and whether the record
    // goes to the school's records system or is held (records in preview).
    (r) => ({ notified: r.notified, recordsInPreview: r.recordsInPreview }),
  );
  step(
    'follow-up-done',
    ['safeguarding'],
    z.strictObject({ note: z.string().trim().min(1, { error: 'expected what was done' }).max(1000) }),
    (user, id, b) => followUpDone(deps, user, id, b.note),
  );
  step(
    'help',
    ['visiting-staff', 'office', 'safeguarding'],
    z.strictObject({
      location: phonePosition.nullable().optional(),
      /** The page's id for this press, the same on every retry (a lost answer never raises twice). */
      pressId: PRESS_ID.optional(),
    }),
    (user, id, b) => askForHelp(deps, user, id, b.location ?? null, b.pressId),
    (alarmId) => ({ alarmId }),
  );
  step(
    'help-position',
    ['visiting-staff', 'office', 'safeguarding'],
    z.strictObject({
      alarmId: z.string().regex(/^[0-9]{1,18}$/, { error: 'expected an alarm id' }),
      location: phonePosition,
    }),
    (user, id, b) => helpPosition(deps, user, id, b.alarmId, b.location),
  );
  app.post<{ Params: { id: string } }>(
    '/api/visits/:id/safe-word',
    { config: { access: ['office', 'safeguarding'] } },
    async (req, reply) => {
      const { id: visitId } = parseInput(idParam, req.params);
      await visitFor(req, visitId, 'reveal-safe-word');
      const safeWord = await revealSafeWord(deps, userOf(req), visitId);
      return reply.header('cache-control', 'no-store').send({ safeWord });
    },
  );
  step(
    'cancel',
    STAFF,
    z.strictObject({ reason: z.string().min(1, { error: 'expected a reason' }).max(500) }),
    (user, id, b) => cancelVisit(deps, user, id, b.reason),
  );

  app.post('/api/visits/sign-list', { config: { access: STAFF } }, async (req) => {
    const body = parseInput(signList, req.body);
    const school = schoolParam(deps, req, body.school);
    return signDayList(deps, userOf(req), school.id, body.date, body.visits);
  });
}
