// The visit page's return times and the words of its "Back safe" question (no DOM: the tests import
// this module on its own). A time picked in a form is read on the London clock as its next
// occurrence, and accepted only within the next 4 hours (the server's bound): 00:30 picked at 23:30
// is tonight's, half past midnight; 11:00 picked at 11:05 is refused here, with a message — never
// "11:00 tomorrow". "Now" is the server's (`serverNow`), never the phone's own clock: the server
// decides by its clock, and a phone minutes ahead of it refused times it takes (one behind, the reverse).

import { serverNow } from './app.js';

const london = (options) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', ...options });
const clock = london({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const day = london({ weekday: 'short', day: 'numeric', month: 'short' });
const dateOf = (d) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(d);

/** How far ahead a return may be set (the server's `MAX_RETURN_AHEAD_MINUTES`, which decides). */
export const MAX_AHEAD_MINUTES = 240;

/** The London date `days` after `iso` (YYYY-MM-DD), by the calendar. */
const dayAfter = (iso, days) => {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
};

/**
 * Every instant at which the London clock reads `hh:mm` on the London date `iso`: one on most days,
 * none in the hour the clocks skip (March), two in the hour they repeat (October). Counted from the
 * clock, never as minutes added to now: across a clock change those are an hour out.
 */
function londonInstants(iso, hh, mm) {
  const [y, m, d] = iso.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const label = `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
  const out = [];
  // London is UTC+1 (summer time) or UTC+0: the wall time minus each offset, kept when it reads back.
  for (const offsetMinutes of [60, 0]) {
    const at = new Date(wall - offsetMinutes * 60_000);
    if (dateOf(at) === iso && clock.format(at) === label) out.push(at);
  }
  return out;
}

/** The instants of `hhmm` (London) on the London dates from `from` to `to` days around `now`'s. */
function occurrences(hhmm, now, from, to) {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm ?? '');
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
  const today = dateOf(now);
  const all = [];
  for (let k = from; k <= to; k++)
    all.push(...londonInstants(dayAfter(today, k), Number(m[1]), Number(m[2])));
  return all.sort((a, b) => a - b);
}

/**
 * The instant of `hhmm` (HH:MM from a time input, London time) at its next occurrence after `now`,
 * as `{ at }`; `{ error }` when no time was chosen, or that occurrence is now or more than
 * `MAX_AHEAD_MINUTES` ahead (a time just passed is not rolled over to tomorrow). Across a clock
 * change the time is the clock's: 03:00 picked at 00:30 on the night the clocks go forward is 03:00
 * summer time, 90 minutes ahead — not 150 minutes added to now.
 * `until` (ISO; the visit's `lateSelfUntil`): the latest time the worker may set themselves, 4 hours
 * after someone else last confirmed them — a later one is refused here as the server refuses it, with
 * whom to phone for it (`whom`, as the call button names it).
 */
export function returnTimeAhead(hhmm, now = serverNow(), { until = null, whom = null } = {}) {
  const all = occurrences(hhmm, now, 0, 1);
  if (!all) return { error: 'Choose the time you expect to be back.' };
  const next = all.find((at) => at > now);
  if (!next || next.getTime() - now.getTime() > MAX_AHEAD_MINUTES * 60_000) {
    const latest = clock.format(new Date(now.getTime() + MAX_AHEAD_MINUTES * 60_000));
    return {
      error: `${hhmm} is not within the next ${MAX_AHEAD_MINUTES / 60} hours (it is ${clock.format(now)} now): choose a time up to ${latest}.`,
    };
  }
  if (until && next > new Date(until))
    return {
      error: `${hhmm} is more than ${MAX_AHEAD_MINUTES / 60} hours after someone other than you last confirmed you safe: choose a time up to ${clock.format(new Date(until))}, or ${whom ? `phone ${whom}` : 'ask the office'} to set a later one.`,
    };
  return { at: next };
}

/**
 * What the return-time field says under it: no later than the worker's own bound (`until`, the
 * visit's `lateSelfUntil`), with its day when that is not today (late in the evening it is
 * tomorrow's); else within the next hours the server takes — never "today", which a time after
 * midnight is not.
 */
export function returnTimeHint(until, now = serverNow()) {
  return until
    ? `Later than now, and no later than ${whenSaid(until, now)}`
    : `Later than now, within the next ${MAX_AHEAD_MINUTES / 60} hours`;
}

/**
 * The return time "I am still out" sends for `hhmm`, read as `returnTimeAhead` reads it — except once
 * the worker's own bound (`until`, the visit's `lateSelfUntil`) has come by the server's clock as the
 * page keeps it, while the page's last read (up to 20 s old) still asked a time: then nothing is
 * refused here, where "phone the office" left the worker out with no alarm. It is sent, for the server
 * to decide by its own clock: closed, it raises the overdue alarm at once (the time is not needed);
 * not yet, it takes or refuses the time itself. `{ at }` (null: none to send), or `{ error }`.
 */
export function stillOutReturnTime(hhmm, now = serverNow(), { until = null, whom = null } = {}) {
  if (until && now >= new Date(until)) return { at: returnTimeAhead(hhmm, now).at ?? null };
  return returnTimeAhead(hhmm, now, { until, whom });
}

/**
 * Whether "I am still out" asks the worker no return time (`self`: a person on the visit): the
 * server says their own is closed (`lateSelfClosed`), and pressing it raises the overdue alarm at
 * once. The server's word alone — never the phone's clock, which may be minutes off the server's.
 */
export function stillOutClosed(d, self) {
  return Boolean(self && d.lateSelfClosed === true);
}

/**
 * What the page says in place of the running-late form once the worker's own new return time is
 * closed (4 hours since someone else last confirmed them): whom to phone — as the call button names
 * it, with its number — for the office to set it.
 */
export function lateClosedWords(office) {
  const whom = whomToCall(office);
  return `You have been out more than ${MAX_AHEAD_MINUTES / 60} hours since someone other than you last confirmed you safe: ${whom ? `call ${whom} on ${office.phone}` : 'ask the office'} to set your new return time (they set it after speaking to you).`;
}

/**
 * The instant of an estimated arrival `hhmm` (HH:MM, London), or undefined when none is typed. Unlike
 * a return time it is never dropped: this minute is now; a time up to 12 hours behind the clock is
 * today's, already passed (the server refuses it, saying so); any other is its next occurrence (after
 * the return, the server says that). A typed time is always sent, so "not given" is never said of it.
 * Read from the London clock, as a return time is.
 */
export function arrivalTimeAt(hhmm, now = serverNow()) {
  const all = occurrences(hhmm, now, -1, 1);
  if (!all?.length) return undefined;
  const minute = new Date(now);
  minute.setSeconds(0, 0);
  // The occurrence from 12 hours behind this minute up to 12 hours ahead of it, the nearest first.
  const within = all.filter((at) => at - minute > -720 * 60_000 && at - minute <= 720 * 60_000);
  within.sort((a, b) => Math.abs(a - minute) - Math.abs(b - minute));
  return within[0] ?? all.find((at) => at > minute) ?? all[all.length - 1];
}

/** "15:05", or "15:05 on Tue 24 Nov" when that is not today (London). */
export function whenSaid(iso, now = serverNow()) {
  if (!iso) return '—';
  const d = new Date(iso);
  const time = clock.format(d);
  return dateOf(d) === dateOf(now) ? time : `${time} on ${day.format(d)}`;
}

/**
 * The words of the "Back safe" confirmation: the question, what it does (it ends the watch, for
 * both people when two went), and the answer's label. `self`: the person asking is on the visit.
 */
export function backSafeWords({ self, leadName, partnerName, me }) {
  const others = [leadName, partnerName].filter((n) => n && n !== me);
  const both = Boolean(leadName && partnerName);
  if (self)
    return {
      question: both ? 'Are you both back safe?' : 'Are you back safe?',
      effect: both
        ? `This ends the watch for both of you (you and ${others.join(' and ')}): no more check-ins or overdue alarms for this visit.`
        : 'This ends the watch on this visit: no more check-ins or overdue alarms.',
      yes: both ? 'Yes, we are both back safe' : 'Yes, I am back safe',
    };
  const who = [leadName, partnerName].filter(Boolean).join(' and ') || 'the worker';
  return {
    question: `Have you spoken to ${who}, and ${both ? 'are they both' : 'are they'} back safe?`,
    effect: both
      ? `This ends the watch for both of them (${who}): no more check-ins or overdue alarms for this visit.`
      : `This ends the watch on ${who}: no more check-ins or overdue alarms for this visit.`,
    yes: 'Yes, I spoke to them: back safe',
  };
}

/**
 * The words of the office's "Record a check-in" / "Record the arrival" (`what`: 'check-in' or
 * 'arrival'), for someone not on the visit: the worker's own button says "I am safe", which is not the
 * office's to say — the office records it for them, after speaking to them, and is asked first.
 */
export function recordWords({ what, leadName, partnerName, me }) {
  const who = [leadName, partnerName].filter(Boolean).join(' and ') || 'the worker';
  const they = leadName && partnerName ? 'they both' : 'they';
  const still = 'It does not end the watch: they are still out until back safe.';
  if (what === 'arrival')
    return {
      ask: 'Record the arrival: I spoke to them and they have arrived',
      question: `Have you spoken to ${who}, and have ${they} arrived?`,
      effect: `This records their arrival as recorded by you (${me}), after speaking to them. ${still}`,
      yes: 'Yes, I spoke to them: they have arrived',
      no: 'No, not yet',
      done: 'Arrival recorded: you spoke to them.',
    };
  return {
    ask: 'Record a check-in: I spoke to them and they are safe',
    question: `Have you spoken to ${who}, and are ${they} safe?`,
    effect: `This records a check-in for them by you (${me}), after speaking to them: their check-in clock starts again. ${still}`,
    yes: 'Yes, I spoke to them: they are safe',
    no: 'No, not yet',
    done: 'Check-in recorded: you spoke to them and they are safe.',
  };
}

/**
 * What a visit back safe says at the top of its page while it can be undone (`resume-watch` allowed):
 * when it was said and, said by someone else (`byMe` false, `byName` known), by whom — to a person on
 * the visit (`self`) loudly (`alert`), with what to press if they are still out. `button`: the
 * worker's own words, or the office's for them. `closed`: the worker's own return time is closed (4
 * hours since someone other than them confirmed them), so none is asked: `hint` says an overdue
 * alarm is raised at once instead, and who to phone for a new time (`whom`, as the call button names
 * it) — never that the office phones them: out of hours its first step may be the board alone.
 */
export function afterBackWords({ self, byMe, byName, at, closed = false, whom = null }) {
  const by = byName && !byMe ? ` by ${byName}` : '';
  const alert = Boolean(self && by);
  return {
    alert,
    line: `Marked back safe at ${clock.format(new Date(at))}${by}${
      self
        ? ' — still out? Press “I am still out”'
        : ': if they have told you they are still out, watch them again'
    }.`,
    button: self ? 'I am still out' : 'Still out — watch again',
    hint: closed
      ? `You have been out more than ${MAX_AHEAD_MINUTES / 60} hours since someone other than you last confirmed you safe: pressing it raises an overdue alarm at once; ${whom ? `phone ${whom}` : 'ask the office'} to set your new return time.`
      : null,
  };
}

/**
 * What "I am still out" answers, from the server's answer (`expectedReturnAt`, `overdueNow`,
 * `onlyOnBoard`): watched again until the new time; or, past the worker's own bound, that the overdue
 * alarm is raised now and who knows of it — only the office's screen (its ladder starts with the
 * board: no one may be watching it), or passed on until someone takes it — and whom to phone (`whom`)
 * for their new return time. Never "they phone you": nobody may have been told.
 */
export function resumedWords({ expectedReturnAt, overdueNow, onlyOnBoard }, whom = null, now = serverNow()) {
  if (!overdueNow)
    return { text: `Watched again: expected back ${whenSaid(expectedReturnAt, now)}.`, alert: false };
  const told = onlyOnBoard
    ? 'it is on the office’s screen, and no one has been messaged yet: no one may be watching it'
    : 'it is with the office and is passed on until someone takes it';
  return {
    text: `Watched again. You are overdue now and the alarm is raised: ${told}. ${whom ? `Phone ${whom}` : 'Ask the office'} to set your new return time; if you need help, ${phoneOr999(whom)}.`,
    alert: true,
  };
}

/**
 * Whom the worker is told to phone, as the page's call button names it (`office`: the visit's
 * `office` line, `{ phone, label }`): "the office", out of hours "the on-call number" (or "the office
 * (may be closed now)"); null when the school gives no number — the page offers 999 alone.
 */
export function whomToCall(office) {
  return office?.label ? office.label.replace(/^Call /, '') : null;
}

/** "phone the on-call number or 999" — or "call 999" where there is no number to phone. */
const phoneOr999 = (whom) => (whom ? `phone ${whom} or 999` : 'call 999');

/**
 * A visit's status badge: its status as the register keeps it — but a visit out whose worker has
 * said "I have arrived" (`arrivedAt`) reads ARRIVED, not DEPARTED beside "arrived 10:05" (the
 * status stays `departed` until back safe: this is the label, not the state).
 */
export function statusLabel(v) {
  if (v.status === 'departed' && v.arrivedAt && !v.returnedAt) return 'ARRIVED';
  return String(v.status).toUpperCase();
}

/**
 * What the page says once leaving (`what`: 'departed') or a new return time (`what`: 'late', `iso`
 * the time) is recorded, from the server's answer to it: `watchOnlyOnBoard` — at some moment of the
 * watch (to the return and its grace), a missed check-in, an overdue return or a silent fob would be
 * on the office's screen alone, which nobody may be watching then (out of hours, or a school that
 * sets no hours), and no one is messaged at once — and `office` (whom the call button rings). Then never "the
 * office knows where you are", but that it is on the office's screen and whom to phone for help,
 * loudly. `self`: said to a person going (else to the office, who recorded it for them).
 */
export function recordedWords(
  { watchOnlyOnBoard, office },
  what,
  { iso = null, self = true, now = serverNow() } = {},
) {
  const done = what === 'late' ? `New return time ${whenSaid(iso, now)} recorded` : 'Departure recorded';
  if (!watchOnlyOnBoard)
    return { text: `${done}: the office knows${what === 'late' ? '' : ' where you are'}.`, alert: false };
  const phone = phoneOr999(whomToCall(office));
  return {
    text: `${done}: it is on the office’s screen, but nobody may be watching it when an alarm comes, and no one is messaged at once if ${self ? 'you miss a check-in or are' : 'they miss a check-in or are'} late. ${self ? `If you need help, ${phone}.` : `If they need help, they ${phone}.`}`,
    alert: true,
  };
}

/**
 * The end of the "Out since …" line: "Watched until back safe." — or, to a person out while the
 * server says the watch is on the office's screen alone out of hours (`watchOnlyOnBoard`), that
 * nobody may be watching it now.
 */
export function watchedSaid(watchOnlyOnBoard, self = true) {
  return watchOnlyOnBoard && self
    ? 'On the office’s screen until back safe, but nobody may be watching it when an alarm comes.'
    : 'Watched until back safe.';
}

/**
 * What the banner of a visit out says of its open alarms: what the office sees, the worker sees — a
 * missed check-in, an overdue return, the page's own "I need help" and whether a person has taken it
 * (never "help is on its way" before anyone has). A fob alarm (SOS, duress, silent) is never said
 * here: a phone lighting up and vibrating beside someone in danger can give them away. Said to the
 * worker (`self`: on the visit), or to the office looking at the visit (what to do for the worker:
 * phone them, then record what they said — never "check in now if you are safe"). Whom the worker is
 * told to phone is whom the call button rings (`office`: out of hours, the on-call number).
 * `lateClosed`: the worker's own new return time is closed (the server no longer offers
 * `running-late`): the overdue line says to phone for one, never "Set a new return time". An "I
 * need help" is named by who pressed it (`pressedBy`, see `whoseAlarm`): "Sam Lead’s alarm" on the
 * partner's phone, never "your alarm".
 */
export function outBannerLines(
  all,
  { self = true, office = null, lateClosed = false, backSafeAt = null } = {},
) {
  if (!self) return officeBannerLines(all.filter((a) => !a.fromDevice));
  const whom = whomToCall(office);
  // Back safe since "I need help" was pressed: the help stays open until the office closes it, said
  // so — never "phone now" under "welcome back". One pressed after back safe is help asked for now.
  const before = (a) =>
    backSafeAt !== null && a.type === 'sos' && new Date(a.raisedAt) <= new Date(backSafeAt);
  const left = all.filter((a) => !a.fromDevice && before(a));
  if (left.length)
    return [
      helpLeftOpenLine(left, whom),
      ...outBannerLines(
        all.filter((a) => !left.includes(a)),
        { self, office, lateClosed },
      ),
    ];
  // Past the worker's own bound (`lateClosed`) a new return time is the office's to set.
  const newTime = lateClosed
    ? `${whom ? `Phone ${whom}` : 'Ask the office'} to set your new return time`
    : 'Set a new return time';
  // The register's and the page's own alarms only: a fob's (its SOS, its own missed check-in) is the
  // device's word, closed by a person on the board — a check-in here does not end it.
  const alarms = all.filter((a) => !a.fromDevice);
  const help = alarms.filter((a) => a.type === 'sos');
  const lines = [];
  // Every message to a person failed (the board says "no one else knows"): only the office's screen
  // shows it, and no one may be looking — the worker is told to phone, never that it is passed on.
  const unheard = (list) => list.length > 0 && list.every((a) => a.noOneReached === true);
  // Only the board told so far (a ladder whose first levels are the board: out of hours nobody may be
  // watching it): never "the office has been alerted" — whom to phone.
  const boardOnly = (list) => list.length > 0 && list.every((a) => a.onlyOnBoard === true);
  const onScreen = 'it is on the office’s screen, and no one has been messaged yet';
  const taken = help.filter((a) => a.status === 'acknowledged');
  const press = whoseAlarm(taken.length ? taken : help);
  const callNow = `${whom ? `Phone ${whom} now, or 999` : 'Call 999'} if you are in danger.`;
  if (taken.length)
    lines.push(
      `The office has taken ${press.whose} and is dealing with ${press.it}. If you are in danger now, call 999.`,
    );
  else if (unheard(help))
    lines.push(
      `${press.Whose} ${press.is} on the office’s screen, but every message to people’s phones failed: no one may know yet. ${callNow}`,
    );
  else if (boardOnly(help))
    lines.push(
      `${press.Whose} ${press.is} on the office’s screen, and no one has been messaged yet: no one may be watching it. ${callNow}`,
    );
  else if (help.length)
    lines.push(
      `${press.Whose} ${press.is} with the office and ${press.is} passed on until someone takes ${press.it}. If you are in danger now, call 999.`,
    );
  const missed = alarms.filter((a) => a.type === 'missed_check_in');
  if (unheard(missed))
    lines.push(
      `Check-in missed: it is on the office’s screen, but the messages to people’s phones failed. Check in now if you are safe; if not, ${phoneOr999(whom)}.`,
    );
  else if (boardOnly(missed))
    lines.push(`Check-in missed: ${onScreen}. Check in now if you are safe; if not, ${phoneOr999(whom)}.`);
  else if (missed.length)
    lines.push('Check-in missed: the office has been alerted. Check in now if you are safe.');
  const overdue = alarms.filter((a) => a.type === 'overdue_visit');
  if (unheard(overdue))
    lines.push(
      `You are overdue: it is on the office’s screen, but the messages to people’s phones failed. ${newTime} or say you are back safe; if you need help, ${phoneOr999(whom)}.`,
    );
  else if (boardOnly(overdue))
    lines.push(
      `You are overdue: ${onScreen}. ${newTime} or say you are back safe; if you need help, ${phoneOr999(whom)}.`,
    );
  else if (overdue.length)
    lines.push(`You are overdue: the office has been alerted. ${newTime} or say you are back safe.`);
  return lines;
}

/**
 * An "I need help" pressed before the worker was recorded back safe, still open: it stays open until
 * the office closes it, and the office calls to check — or, where no one may know of it yet (every
 * message failed, or only the office's screen told), the worker phones to say they are safe. 999
 * only for a worker who is not safe after all.
 */
function helpLeftOpenLine(help, whom) {
  const taken = help.filter((a) => a.status === 'acknowledged');
  const press = whoseAlarm(taken.length ? taken : help);
  const open = `${press.it} stays open until the office closes ${press.it}`;
  const notSafe = 'If you are not safe, call 999.';
  if (taken.length)
    return `You are recorded as back safe. The office has taken ${press.whose}: ${open}, and they will call you to check you are safe. ${notSafe}`;
  const unknown = help.every((a) => a.noOneReached === true)
    ? 'every message to people’s phones failed'
    : help.every((a) => a.onlyOnBoard === true)
      ? 'no one has been messaged yet'
      : null;
  if (unknown)
    return `You are recorded as back safe. ${press.Whose} ${press.is} on the office’s screen and ${open}, but ${unknown}: no one may know of ${press.it}. ${whom ? `Phone ${whom}` : 'Tell the office'} to say you are safe. ${notSafe}`;
  return `You are recorded as back safe. ${press.Whose} ${press.is} with the office and ${open}: they will call you to check you are safe. ${notSafe}`;
}

/**
 * What the phone says once back safe is recorded by a person on the visit (`both`: lead and partner):
 * the watch has ended — and, with their "I need help" still open (`helpOpen`), that it stays open
 * until the office closes it.
 */
export function backSafeDoneWords({ self, both, helpOpen }) {
  const done = self
    ? `Welcome back: ${both ? 'you are both' : 'you are'} recorded as back safe. The watch has ended.`
    : 'Recorded as back safe. The watch on this visit has ended.';
  if (!helpOpen) return done;
  return self
    ? `${done} The “I need help” alarm stays open until the office closes it: they will call you to check.`
    : `${done} The “I need help” alarm stays open until the office closes it on the board.`;
}

/**
 * Whose "I need help" the banner speaks of, from who pressed it (`pressedBy: { me, name }`, the
 * server's): "your alarm" for this worker's own press, "Sam Lead’s alarm" for the other worker's —
 * the partner's phone never calls the lead's alarm theirs; both pressed, "the alarms from you and
 * Sam Lead". `Whose` is the same, capitalised to start a line.
 */
export function whoseAlarm(list) {
  const others = [
    ...new Set(
      list.filter((a) => a.pressedBy && !a.pressedBy.me).map((a) => a.pressedBy.name ?? 'the other worker'),
    ),
  ];
  const mine = list.some((a) => !a.pressedBy || a.pressedBy.me);
  const one = (whose) => ({ whose, is: 'is', it: 'it' });
  const w =
    others.length === 0
      ? one('your alarm')
      : !mine && others.length === 1
        ? one(`${others[0]}’s alarm`)
        : {
            whose: `the alarms from ${[...(mine ? ['you'] : []), ...others].join(' and ')}`,
            is: 'are',
            it: 'them',
          };
  return { ...w, Whose: w.whose.charAt(0).toUpperCase() + w.whose.slice(1) };
}

/** The banner's lines for someone not on the visit (the office): what to do for the worker. */
function officeBannerLines(alarms) {
  const lines = [];
  const unheard = (list) => list.length > 0 && list.every((a) => a.noOneReached === true);
  const failed = 'every message to people’s phones failed: no one else may know.';
  const help = alarms.filter((a) => a.type === 'sos');
  if (help.some((a) => a.status === 'acknowledged'))
    lines.push('Help asked for from this visit: the alarm has been taken on the board.');
  else if (unheard(help))
    lines.push(`Help asked for from this visit: ${failed} Take the alarm on the board and phone them now.`);
  else if (help.length)
    lines.push(
      'Help asked for from this visit: the alarm is on the board and is passed on until someone takes it.',
    );
  const missed = alarms.filter((a) => a.type === 'missed_check_in');
  if (missed.length)
    lines.push(
      `Check-in missed${unheard(missed) ? `: ${failed}` : '.'} Phone them; once you have spoken to them and they are safe, record a check-in for them.`,
    );
  const overdue = alarms.filter((a) => a.type === 'overdue_visit');
  if (overdue.length)
    lines.push(
      `Overdue${unheard(overdue) ? `: ${failed}` : '.'} Phone them; once you have spoken to them, set their new return time or record them back safe.`,
    );
  return lines;
}

/**
 * The check-in the phone counts down to: while a missed check-in is open, the one missed (since when
 * it was due) — never the deadline after it, which read as "next check-in in an hour" with the office
 * already alerted; else the next deadline when it comes before the return (a check-in), else none
 * (the return has its own countdown).
 */
export function checkInClock({ alarms, nextAlarmAt, expectedReturnAt }) {
  // The register's missed check-in only: a fob's own stays open after a check-in here, and would hide
  // the register's next deadline behind "overdue since".
  const missed = alarms.filter((a) => a.type === 'missed_check_in' && !a.fromDevice).map((a) => a.raisedAt);
  if (missed.length) return { missedSince: missed.sort()[0] };
  if (nextAlarmAt && (!expectedReturnAt || new Date(nextAlarmAt) < new Date(expectedReturnAt)))
    return { dueAt: nextAlarmAt };
  return null;
}

/**
 * The call on arrival a school's policy asks for (`rules.arrivalCheckInMinutes`: Thames View 2.4
 * "call the school office to notify SLT they have arrived safely"), while none is recorded: when it
 * is due — the watcher's deadline, the departure plus those minutes and the check-in grace — and the
 * words beside "I have arrived". A check-in is no arrival (the people the school names are told only
 * of an arrival), so it is owed until "I have arrived" (or the office recording it). Null where the
 * policy asks for no such call, or it is made, or the worker is not out.
 */
export function arrivalOwed(rules, v, self = true) {
  if (!rules?.arrivalCheckInMinutes || v.arrivedAt || !v.departedAt || v.returnedAt) return null;
  const dueAt = new Date(
    new Date(v.departedAt).getTime() +
      (rules.arrivalCheckInMinutes + (rules.checkInGraceMinutes ?? 0)) * 60_000,
  ).toISOString();
  const by = clock.format(new Date(dueAt));
  return {
    dueAt,
    hint: self
      ? `When you get there, press "I have arrived" (due by ${by}): the school is told you have arrived safely. "Check in" does not say you have arrived.`
      : `No arrival recorded yet (due by ${by}): a check-in does not say they have arrived.`,
  };
}

/**
 * What "Risk level: …" says after the level of a visit no assessor has assessed: where the policy
 * assesses it at the request (`risk.at` 'request' — Hampton's asks for no assessment before leaving)
 * the level is the one proposed when the visit was asked for, and nothing waits for an assessment;
 * where it is its own step or the authoriser's, it is not yet assessed — leaving waits for it.
 */
export function riskUnassessedSaid(risk) {
  const by = risk.assessedBy.join(' or ');
  return risk.at === 'request'
    ? ` — proposed when the visit was asked for; the school’s policy asks for no risk assessment before leaving (${by} may assess it)`
    : ` — proposed, not yet assessed (by ${by})`;
}
