import { api, bdi, fmtTime, h, isolate, say, serverNow } from './app.js';
import { POSITION_NOT_SENT, sendWithRetries } from './help-position.js';
import { risks } from './visit-risks.js';
import { checkedReturnTime, field, msg, newPressId, page, post, visitId } from './visit-shared.js';
import {
  afterBackWords,
  arrivalOwed,
  backSafeDoneWords,
  backSafeWords,
  checkInClock,
  lateClosedWords,
  outBannerLines,
  recordedWords,
  recordWords,
  resumedWords,
  returnTimeHint,
  stillOutClosed,
  stillOutReturnTime,
  watchedSaid,
  whenSaid,
  whomToCall,
} from './visit-words.js';
import { parentLateSaid } from './words.js';

// While the worker is out: the banner when a check-in is missed or they are overdue, the countdowns,
// "I need help", the wait at the door, running late, the office's safe word, and re-reading the page.

/** While out: the banner and countdown, help and the office, where things stand, the big buttons, the
 * wait at the door, the safe word (office), running late, and the risks kept in view. */
export function outParts(d, can) {
  const v = d.visit;
  const parts = [];
  // These three first: the page puts them at its top while out (visit.js).
  parts.push(outBanner(d));
  parts.push(helpActions(d, can('help')));
  // Third: the big buttons — "check in now" is never said above a button out of sight. The worker's
  // own ("I have arrived", "Check in: I am safe"), or for the office the same steps in its own words,
  // asked first (`record-arrival`, `record-check-in`): whichever the server allows this person.
  // Where the policy asks for a call on arrival and none is recorded, "I have arrived" is the primary
  // button, with what it is for: a check-in is no arrival.
  const arrival = arrivalOwed(d.rules, v, onThisVisit(d));
  parts.push(
    h(
      'div',
      { class: 'big-actions' },
      can('arrive')
        ? h(
            'button',
            {
              type: 'button',
              class: arrival ? 'primary big' : 'big',
              id: 'arrive',
              onclick: () => post('arrive', {}, 'Arrival recorded.'),
            },
            'I have arrived',
          )
        : null,
      arrival && (can('arrive') || can('record-arrival'))
        ? h('p', { id: 'arrival-owed', class: 'hint' }, arrival.hint)
        : null,
      can('record-arrival') ? recordForm(d, 'arrival') : null,
      can('check-in')
        ? h(
            'button',
            {
              type: 'button',
              class: arrival && can('arrive') ? 'big' : 'primary big',
              onclick: () => post('check-in', {}, 'Checked in.'),
            },
            'Check in: I am safe',
          )
        : null,
      can('record-check-in') ? recordForm(d, 'check-in') : null,
      can('back-safe') ? backSafeForm(d) : null,
    ),
  );
  parts.push(
    h(
      'p',
      { id: 'out-status' },
      `Out since ${fmtTime(v.departedAt)}; expected back ${whenSaid(v.expectedReturnAt)}`,
      v.arrivedAt
        ? `; arrived ${fmtTime(v.arrivedAt)}`
        : v.estimatedArrivalAt
          ? new Date(v.estimatedArrivalAt) < serverNow()
            ? `; no arrival recorded yet (expected about ${fmtTime(v.estimatedArrivalAt)})`
            : `; arriving about ${fmtTime(v.estimatedArrivalAt)}`
          : '',
      v.checkInMinutes ? `; check in every ${v.checkInMinutes} minutes` : '',
      v.lastCheckInAt ? `; last check-in ${fmtTime(v.lastCheckInAt)}` : '',
      v.outcome ? '; outcome recorded' : '',
      v.status === 'cancelled' ? '; visit cancelled' : '',
      `. ${watchedSaid(d.watchOnlyOnBoard, onThisVisit(d))}`,
    ),
    h(
      'p',
      {},
      'With ',
      d.partnerName ? bdi(d.partnerName) : 'nobody',
      d.leadName && d.leadName !== page.s.user.displayName ? [' (lead: ', bdi(d.leadName), ')'] : '',
    ),
    // Heath Lane: "If alone on a home visit do not enter the property."
    d.rules.aloneNoEntry && !v.partnerUserId
      ? h(
          'p',
          { class: 'warn', id: 'alone-no-entry' },
          'You are on your own: do not enter the property — speak at the door.',
        )
      : null,
  );
  if (d.rules.appointments && v.arrivedAt && !v.outcome && v.status === 'departed')
    parts.push(doorWait(v, d.rules.appointments, can, d.parentLateNotice));
  else {
    clearInterval(waitTimer);
    // On the way: the parent may phone (the worker, or the school) to say they are running late —
    // once recorded (perhaps before leaving), the page says so until the door.
    if (d.parentLateNotice && !v.outcome && v.status === 'departed')
      parts.push(h('div', { id: 'door' }, parentLateNote(d.parentLateNotice, d.rules.appointments)));
    else if (can('parent-running-late'))
      parts.push(h('div', { id: 'door' }, lateNoticeButton(d.rules.appointments)));
  }
  if (can('reveal-safe-word')) parts.push(safeWordButton());
  if (can('running-late')) parts.push(lateForm(d));
  else if (lateClosed(d)) parts.push(lateClosedNote(d));
  parts.push(risks(d));
  return parts;
}

/** Whether the person looking is one of the people out on the visit (the lead or the partner). */
const onThisVisit = (d) => [d.visit.leadUserId, d.visit.partnerUserId].includes(page.s.user.id);

/**
 * The worker's own new return time is closed: 4 hours since someone else last confirmed them
 * (`lateSelfUntil` come), so the server no longer offers them `running-late` — the office sets it.
 */
const lateClosed = (d) => onThisVisit(d) && Boolean(d.lateSelfUntil) && !d.actions.includes('running-late');

/** In place of the running-late form once it is closed: whom to phone (the call button's words) to set it. */
function lateClosedNote(d) {
  return h(
    'section',
    { id: 'running-late-closed' },
    h('h2', {}, 'Running late'),
    h('p', {}, `Expected back ${whenSaid(d.visit.expectedReturnAt)}.`),
    h('p', {}, lateClosedWords(d.office)),
    d.office ? h('a', { class: 'button big', href: telOf(d.office) }, d.office.label) : null,
  );
}

/**
 * "Back safe" ends the watch — for everyone on the visit — and cannot be undone, so it asks first, in
 * the page (not a browser dialog): the worker confirms they (both) are back; the office confirms it
 * spoke to them.
 */
export function backSafeForm(d) {
  const me = page.s.user;
  const self = onThisVisit(d);
  const w = backSafeWords({
    self,
    leadName: d.leadName && isolate(d.leadName),
    partnerName: d.partnerName && isolate(d.partnerName),
    me: isolate(me.displayName),
  });
  return askFirst({
    id: 'back-safe',
    ask: 'Back safe',
    words: { ...w, no: self ? 'No, still out' : 'No, not yet' },
    yes: () =>
      post(
        'back-safe',
        {},
        backSafeDoneWords({
          self,
          both: Boolean(d.partnerName),
          helpOpen: d.alarms.some((a) => a.type === 'sos' && !a.fromDevice),
        }),
      ),
  });
}

/**
 * The office's check-in or arrival for the worker (`what`: 'check-in' or 'arrival'): in its own
 * words, asked first — it has spoken to them — and recorded as the office's (the server says so in
 * the alarm's timeline, the board and the chronology).
 */
function recordForm(d, what) {
  const w = recordWords({
    what,
    leadName: d.leadName && isolate(d.leadName),
    partnerName: d.partnerName && isolate(d.partnerName),
    me: isolate(page.s.user.displayName),
  });
  return askFirst({
    id: what === 'arrival' ? 'record-arrival' : 'record-check-in',
    ask: w.ask,
    askClass: what === 'arrival' ? 'big' : 'primary big',
    words: w,
    yes: () => post(what === 'arrival' ? 'arrive' : 'check-in', {}, w.done),
  });
}

/**
 * A step that asks first, in the page (not a browser dialog): the button opens the question (`words`:
 * question, effect, yes, no); nothing is sent until "yes". A form with an id, marked as being filled
 * in while the question is open, so the page's re-reading while out does not take it away mid-answer.
 */
function askFirst({ id, ask: label, askClass = 'big', words: w, yes: onYes }) {
  const yes = h(
    'button',
    {
      type: 'button',
      class: 'primary big',
      id: `${id}-yes`,
      'aria-describedby': `${id}-effect`,
      onclick: async () => {
        form.removeAttribute('data-dirty');
        const ok = await onYes();
        // Done, and still offered (a check-in may be recorded again): the keyboard back on its
        // button, drawn again — not on the line saying so, far from where the person was.
        const again = ok ? document.getElementById(id) : null;
        if (again && again !== form) again.querySelector(':scope > button[type="submit"]')?.focus();
      },
    },
    w.yes,
  );
  const confirm = h(
    'div',
    {
      id: `${id}-confirm`,
      class: 'confirm',
      role: 'group',
      'aria-labelledby': `${id}-question`,
      hidden: true,
    },
    h('p', { id: `${id}-question` }, h('strong', {}, w.question)),
    h('p', { id: `${id}-effect` }, w.effect),
    yes,
    h(
      'button',
      {
        type: 'button',
        class: 'big',
        onclick: () => {
          confirm.hidden = true;
          ask.setAttribute('aria-expanded', 'false');
          form.removeAttribute('data-dirty');
          ask.focus();
        },
      },
      w.no,
    ),
  );
  const ask = h(
    'button',
    { type: 'submit', class: askClass, 'aria-expanded': 'false', 'aria-controls': `${id}-confirm` },
    label,
  );
  const form = h(
    'form',
    {
      id,
      onsubmit: (e) => {
        e.preventDefault();
        confirm.hidden = false;
        ask.setAttribute('aria-expanded', 'true');
        form.dataset.dirty = 'true';
        yes.focus();
      },
    },
    ask,
    confirm,
  );
  return form;
}

/**
 * Running late: a new return time with a reason (the overdue alarm re-arms for it and stands down).
 * The time is read as its next occurrence on the London clock within 4 hours (00:30 at 23:30 is
 * tonight's): one just passed is refused here, never rolled over to tomorrow; the server holds the
 * same bound and says how far.
 */
export function lateForm(d) {
  const v = d.visit;
  // The worker's own time goes no later than `lateSelfUntil` (the office's is bounded by 4 hours alone).
  const until = onThisVisit(d) ? d.lateSelfUntil : null;
  // Named as the API names them: a refusal ("expectedReturnAt: …") is said against this form's own
  // label ("New return time: …", app.js `labelled`).
  const ret = h('input', { type: 'time', name: 'expectedReturnAt', id: 'f-newReturn', required: true });
  const why = h('input', {
    type: 'text',
    name: 'reason',
    id: 'f-lateReason',
    required: true,
    maxlength: 500,
  });
  return h(
    'form',
    {
      id: 'running-late',
      onsubmit: (e) => {
        e.preventDefault();
        const back = checkedReturnTime(ret, { until, whom: whomToCall(d.office) });
        if (!back) return;
        const iso = back.toISOString();
        post('running-late', { expectedReturnAt: iso, reason: why.value }, (answer) =>
          recordedWords(answer, 'late', { iso, self: onThisVisit(d) }),
        );
      },
    },
    h('h2', {}, 'Running late'),
    h('p', {}, `Expected back ${whenSaid(v.expectedReturnAt)}.`),
    field('New return time', ret, returnTimeHint(until)),
    field('Why', why, 'e.g. parent arrived late; waiting for a social worker'),
    h('button', { type: 'submit' }, 'Set the new return time'),
  );
}

// What the office sees, the worker sees: a missed check-in or an overdue return is a banner (with a
// vibration where the phone allows), and the next deadline counts down.
let countdown = null;
let lastSaid = '';
export function outBanner(d) {
  clearInterval(countdown);
  const v = d.visit;
  const self = onThisVisit(d);
  const lines = outBannerLines(d.alarms, { self, office: d.office, lateClosed: lateClosed(d) });
  if (d.fobBatteryLow)
    lines.push(
      `Your fob reported a low battery${d.fobBatteryLow.percent !== null ? ` (${d.fobBatteryLow.percent}%)` : ''} at ${fmtTime(d.fobBatteryLow.at)}: its SOS may not last — use "I need help" on this page, and check in by phone.`,
    );
  const clock = h('p', { id: 'next-deadline', 'aria-live': 'off' });
  const tick = () => {
    const parts = [];
    const c = checkInClock({
      alarms: d.alarms,
      nextAlarmAt: d.nextAlarmAt,
      expectedReturnAt: v.expectedReturnAt,
    });
    // The arrival call the policy asks for, while owed: the next deadline may be it, not a check-in.
    const arrival = arrivalOwed(d.rules, v, self);
    if (arrival && !c?.missedSince && new Date(arrival.dueAt) > serverNow())
      parts.push(`Arrival due by ${fmtTime(arrival.dueAt)} (${left(arrival.dueAt)})`);
    if (c?.missedSince)
      parts.push(`Check-in overdue since ${fmtTime(c.missedSince)}${self ? ': check in now' : ''}`);
    else if (c?.dueAt && c.dueAt !== arrival?.dueAt)
      parts.push(`Next check-in due by ${fmtTime(c.dueAt)} (${left(c.dueAt)})`);
    if (v.expectedReturnAt)
      parts.push(`back by ${fmtTime(v.expectedReturnAt)} (${left(v.expectedReturnAt)})`);
    clock.textContent = parts.join(' · ');
  };
  tick();
  countdown = setInterval(tick, 15_000);
  // Once for each new thing to say, not at every re-read of the page (every 20 s while out).
  const said = lines.join('\n');
  if (said && said !== lastSaid) buzz([300, 100, 300]);
  lastSaid = said;
  return alertSection('out-banner', lines, clock);
}
/**
 * The phone buzzes only once the person has touched the page (browsers refuse it before, with a
 * console error at every load of a page that opens overdue or in an alarm).
 */
function buzz(pattern) {
  if (navigator.vibrate && navigator.userActivation?.hasBeenActive !== false) navigator.vibrate(pattern);
}
/** How far off a time is, or how long ago it passed ("23 min ago", never "now" for a time long gone), on the server's clock. */
function left(iso) {
  const ms = new Date(iso).getTime() - serverNow().getTime();
  const m = Math.round(Math.abs(ms) / 60_000);
  if (m === 0) return 'now';
  const span = m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
  return ms > 0 ? `in ${span}` : `${span} ago`;
}

/**
 * "I need help": an SOS alarm for this visit, sent at once — never held for the phone's position (a
 * location prompt waits as long as the worker leaves it); the position follows when the phone has it.
 * Not sent (no signal, the server away), the page says so in the largest words it has, with the
 * office's number and 999, and tries again every few seconds until it is sent or refused for good.
 */
let helpRetry = null;
/**
 * The press not yet confirmed sent: pressed again meanwhile (a slow answer, or after "YOUR ALARM WAS
 * NOT SENT" when the first did arrive), it is sent again under its own id — found, never a second
 * alarm with a second ladder. A press after one confirmed is a new alarm, as the server has it.
 */
let pendingPress = null;
export async function askForHelp(office = null, retried = null) {
  clearTimeout(helpRetry);
  if (retried === null && pendingPress === null) pendingPress = newPressId();
  const pressId = retried ?? pendingPress;
  if (!document.getElementById('help-not-sent')) say(msg, 'Sending your alarm…');
  let answer;
  try {
    // The same press id on every retry: a press whose answer was lost finds its alarm, never a second.
    answer = await api('POST', `/api/visits/${visitId}/help`, { pressId }, { timeoutMs: HELP_TIMEOUT_MS });
  } catch (err) {
    notSent(err, office);
    // A refusal (signed out, no longer out) will not change by trying again; anything else might.
    if (helpWillRetry(err)) helpRetry = setTimeout(() => askForHelp(office, pressId), HELP_RETRY_MS);
    else if (pendingPress === pressId) pendingPress = null;
    return;
  }
  if (pendingPress === pressId) pendingPress = null;
  document.getElementById('help-not-sent')?.remove();
  // Sent: on the office's screen. Whether a person has been messaged yet, the banner says at the re-read.
  say(msg, 'Help requested: your alarm is on the office’s screen. If you are in danger now, call 999.');
  await page.load().catch(() => {});
  window.scrollTo({ top: 0 });
  const position = await phonePosition();
  if (!position || !answer?.alarmId) return;
  // Tried again a few times; never dropped unsaid: without it the worker says where they are.
  const sent = await sendWithRetries(() =>
    api(
      'POST',
      `/api/visits/${visitId}/help-position`,
      { alarmId: answer.alarmId, location: position },
      { timeoutMs: HELP_TIMEOUT_MS },
    ),
  );
  if (!sent) say(msg, POSITION_NOT_SENT, true);
}

/** How long the page waits before trying a help request that did not get through again. */
const HELP_RETRY_MS = 5000;
/** How long a help request may go unanswered before it is said not sent (and tried again). */
const HELP_TIMEOUT_MS = 10_000;

/** The phone's position, or null (none, refused, or not within a minute). */
function phonePosition() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    const giveUp = setTimeout(() => resolve(null), 60_000);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        clearTimeout(giveUp);
        resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracyM: p.coords.accuracy ?? null });
      },
      () => {
        clearTimeout(giveUp);
        resolve(null);
      },
      { timeout: 30_000, maximumAge: 60_000 },
    );
  });
}

/** The help request did not get through: said at the top of the page, as large as it can be. */
function notSent(err, office) {
  const why =
    err.status === 401
      ? 'You are signed out.'
      : err.status
        ? err.message
        : 'No connection to Doorstep (no signal, or the server is away).';
  const box =
    document.getElementById('help-not-sent') ??
    h('section', { id: 'help-not-sent', class: 'not-sent', role: 'alert' });
  box.replaceChildren(
    h('h2', {}, 'YOUR ALARM WAS NOT SENT'),
    h('p', {}, why, ' ', helpWillRetry(err) ? 'Trying again every few seconds.' : ''),
    callButtons(office),
  );
  if (!box.isConnected) document.querySelector('main')?.prepend(box);
  const whom = whomToCall(office);
  say(msg, `YOUR ALARM WAS NOT SENT: ${whom ? `call ${whom} or 999` : 'call 999'}.`, true);
  buzz([600, 200, 600, 200, 600]);
  window.scrollTo({ top: 0 });
}

/**
 * Back safe, while it can be undone (`resume-watch` in the actions; the server's 12 hours): when, and
 * by whom when someone else said it — loudly, to a person on the visit still at the door (their
 * partner's "both back safe", the office's mistake) — with "I am still out" (the office's "Still out —
 * watch again") and its new return time; and, for the people on the visit, "I need help", the
 * office's number and 999 at the top while it was someone else's word or the server keeps it open
 * (`backSafe.help`: the hour after back safe; the page re-reads every 20 s while it can be undone).
 */
export function afterBack(d, can) {
  const self = onThisVisit(d);
  const b = d.backSafe ?? { at: d.visit.returnedAt, byName: null, byMe: false };
  // Whether it asks a return time: the server's word (`lateSelfClosed`), never the phone's clock.
  const closed = stillOutClosed(d, self);
  const w = afterBackWords({
    self,
    byMe: b.byMe,
    byName: b.byName && isolate(b.byName),
    at: b.at,
    closed,
    whom: whomToCall(d.office),
  });
  // What the office sees of an alarm asked for from here (taken yet, or no one reached).
  // Its help pressed before back safe stays open until the office closes it: said so (backSafeAt).
  const lines = outBannerLines(d.alarms, { office: d.office, backSafeAt: b.at });
  if (w.alert) lines.unshift(w.line);
  const said = lines.join('\n');
  if (said && said !== lastSaid) buzz([300, 100, 300]);
  lastSaid = said;
  // Within the time after back safe the server keeps "I need help" at the top for (it says until when).
  const recent = Boolean(b.help?.open);
  return alertSection(
    'help-after-back',
    lines,
    w.alert ? null : h('p', {}, w.line),
    can('resume-watch') ? resumeForm(d, w, closed) : null,
    can('help') && (w.alert || recent) ? helpActions(d, true) : null,
  );
}

/**
 * "I am still out" / "Still out — watch again": the watch starts again with a new return time, read
 * and bounded as running late's (the worker's own no later than `lateSelfUntil`); none is asked once
 * the worker's own is closed — an overdue alarm is raised at once and the office sets it (resumedWords).
 */
function resumeForm(d, w, closed) {
  const until = onThisVisit(d) ? d.lateSelfUntil : null;
  const ret = closed
    ? null
    : h('input', { type: 'time', name: 'expectedReturnAt', id: 'f-resumeReturn', required: true });
  return h(
    'form',
    {
      id: 'resume-watch',
      onsubmit: (e) => {
        e.preventDefault();
        let body = {};
        if (ret) {
          // Past the worker's own bound by the page's clock, sent whatever is typed (stillOutReturnTime).
          const back = checkedReturnTime(ret, { until, whom: whomToCall(d.office) }, stillOutReturnTime);
          if (back === null) return;
          if (back) body = { expectedReturnAt: back.toISOString() };
        }
        post('resume-watch', body, (r) => resumedWords(r, whomToCall(d.office)));
      },
    },
    ret ? field('Back by', ret, returnTimeHint(until)) : h('p', { id: 'resume-watch-hint' }, w.hint),
    h('button', { type: 'submit', class: 'primary big' }, w.button),
  );
}

/** What the office sees, as lines across the top: an alert (with a vibration, by the caller) when there are any. */
function alertSection(id, lines, ...rest) {
  return h(
    'section',
    { id, class: lines.length ? 'ingest-down' : '', ...(lines.length ? { role: 'alert' } : {}) },
    lines.map((l) => h('p', {}, h('strong', {}, l))),
    ...rest,
  );
}

/** "I need help" (where the server takes it), the office's (or on-call) number and 999: the largest buttons. */
function helpActions(d, help) {
  return h(
    'div',
    { class: 'big-actions' },
    help
      ? h(
          'button',
          { type: 'button', class: 'danger big', id: 'help', onclick: () => askForHelp(d.office) },
          'I need help',
        )
      : null,
    // The office (not on the visit) is asked to speak to the worker: their number, from the page.
    !onThisVisit(d) && d.visit.workerPhone
      ? h(
          'a',
          { class: 'button big', id: 'call-worker', href: `tel:${d.visit.workerPhone.replace(/\s+/g, '')}` },
          'Call ',
          bdi(d.leadName ?? 'the worker'),
          `: ${d.visit.workerPhone}`,
        )
      : null,
    d.office ? h('a', { class: 'button big', href: telOf(d.office) }, d.office.label) : null,
    // Hampton: "call for assistance from the Police"; King's: "contact … relevant authorities (e.g.,
    // Police …)". The school's alarm is not the police: in danger now, the worker calls them.
    h('a', { class: 'button big danger', id: 'call-999', href: 'tel:999' }, 'Call 999'),
  );
}

/**
 * The office's number (when the school gives one; out of hours its on-call number, or the office said
 * to be possibly closed) and 999, as the largest buttons the page has.
 */
function callButtons(office) {
  return h(
    'div',
    { class: 'big-actions' },
    office ? h('a', { class: 'button big danger', href: telOf(office) }, office.label) : null,
    h('a', { class: 'button big danger', href: 'tel:999' }, 'Call 999'),
  );
}

function telOf(office) {
  return `tel:${office.phone.replace(/\s+/g, '')}`;
}

function helpWillRetry(err) {
  return !err.status || err.status >= 500 || err.status === 429;
}

// While the worker is out the page re-reads every 20 s (a form being filled in is kept). A re-read
// that fails says so over everything, as the board does: the phone may be out of signal, or Doorstep
// away — either way the office may not see this worker's check-ins or alarms.
let poll = null;
let lastReached = serverNow();
export function keepFresh(out, office = null) {
  clearInterval(poll);
  lastReached = serverNow();
  document.getElementById('no-connection')?.remove();
  if (out) poll = setInterval(() => page.load(true).catch(() => noConnection(office)), 20_000);
}

function noConnection(office) {
  const since = fmtTime(lastReached.toISOString());
  const box =
    document.getElementById('no-connection') ??
    h('section', { id: 'no-connection', class: 'not-sent', role: 'alert' });
  box.replaceChildren(
    h('h2', {}, 'NO CONNECTION TO DOORSTEP'),
    h(
      'p',
      {},
      `This phone has not reached Doorstep since ${since}: the office may not see your check-ins or an alarm from here. If you need help, ${whomToCall(office) ? `phone ${whomToCall(office)} or 999` : 'call 999'}.`,
    ),
    callButtons(office),
  );
  if (!box.isConnected) document.querySelector('main')?.prepend(box);
}

// Thames View 3.4/3.5: a wait timer at the door, counted from the arranged time when the visit has
// one (else from the arrival), as the server counts it — on the server's clock (`serverNow`), never
// the phone's own. At the pack's wait the page prompts and (the server allowing it) offers "No
// answer"; before it, "The parent/carer said they are running late" (3.5) — once recorded, the
// page says not to go in until they arrive and times the wait to the lateness limit instead, past
// which it offers "Cancel: parent over N minutes late" (never without the notice). The page re-reads
// when each time passes, so the buttons are exactly what the server allows then.
let waitTimer = null;

/**
 * Thames View 3.5: the parent/carer's warning, recorded (`notice`: when, `byName`), as the office
 * board says it: do not go in until they arrive; cancelled past the pack's lateness limit (`a`: the
 * pack's appointments).
 */
export function parentLateNote(notice, a) {
  return h(
    'p',
    { class: 'warn parent-late-notice', id: 'parent-late-notice' },
    `${parentLateSaid(
      { at: notice.at, by: notice.byName, cancelAfterMinutes: a?.lateCancelAfterMinutes ?? null },
      fmtTime,
    )}.`,
  );
}

/**
 * Thames View 3.5: "The parent/carer said they are running late" — recorded by the people on the
 * visit (the parent phoned them) or the office (who took the call), offered only while the server
 * allows it (before leaving on the visit's day, or out before 3.4's wait at the door is over; once).
 */
export function lateNoticeButton(a) {
  return h(
    'p',
    {},
    h(
      'button',
      {
        type: 'button',
        class: 'big',
        id: 'parent-running-late',
        onclick: () =>
          post(
            'parent-running-late',
            {},
            `Recorded: the parent/carer said they are running late. Do not go in until they arrive; over ${a.lateCancelAfterMinutes} minutes late the visit is cancelled.`,
          ),
      },
      'The parent/carer said they are running late',
    ),
  );
}

export function doorWait(v, a, can, notice = null) {
  const slipBox = h('input', { type: 'checkbox', id: 'f-door-slip', name: 'slipLeft' });
  clearInterval(waitTimer);
  const from = v.appointmentAt ?? v.arrivedAt;
  const at = (m) => new Date(new Date(from).getTime() + m * 60_000);
  const until = at(a.noAnswerAfterMinutes);
  const lateUntil = a.lateCancelAfterMinutes ? at(a.lateCancelAfterMinutes) : null;
  // 3.5 applies: the parent gave notice (recorded on the visit) and the pack sets the lateness limit.
  const told = Boolean(notice && lateUntil);
  const p = h('p', { id: 'door-wait', 'aria-live': 'polite' });
  let reloaded = {
    wait: told || serverNow() >= until,
    late: !lateUntil || serverNow() > lateUntil,
  };
  const tick = () => {
    const left = until.getTime() - serverNow().getTime();
    const since = v.appointmentAt
      ? `At the door since ${fmtTime(v.arrivedAt)}, the family expected at ${fmtTime(v.appointmentAt)}`
      : `At the door since ${fmtTime(v.arrivedAt)}`;
    if (told) {
      // Who recorded the warning and when is said above (parentLateNote), as on the board.
      const over = serverNow() > lateUntil;
      p.className = over ? 'warning' : '';
      if (over) p.setAttribute('role', 'alert');
      else p.removeAttribute('role');
      p.textContent = over
        ? `The parent/carer is over ${a.lateCancelAfterMinutes} minutes late: the visit is cancelled — press “Cancel: parent over ${a.lateCancelAfterMinutes} minutes late” below, then come back safe.`
        : `${since}: do not go in until they arrive; wait until ${fmtTime(lateUntil.toISOString())} (${Math.ceil((lateUntil.getTime() - serverNow().getTime()) / 60_000)} min left) — over ${a.lateCancelAfterMinutes} minutes late the visit is cancelled.`;
    } else if (left > 0) {
      p.className = '';
      p.removeAttribute('role');
      const late = can('parent-running-late')
        ? ` If the parent said they are running late, record it below: then wait until ${fmtTime(lateUntil.toISOString())} — over ${a.lateCancelAfterMinutes} minutes late the visit is cancelled.`
        : '';
      p.textContent = `${since}: wait no longer than ${a.noAnswerAfterMinutes} minutes${v.appointmentAt ? ' after that' : ''} (until ${fmtTime(until.toISOString())}; ${Math.ceil(left / 60_000)} min left).${late}`;
    } else {
      p.className = 'warning';
      p.setAttribute('role', 'alert');
      p.textContent = `${a.noAnswerAfterMinutes} minutes ${v.appointmentAt ? 'past the arranged time' : 'at the door'}: wait no longer than ${a.noAnswerAfterMinutes} minutes — record "No answer" below, then come back safe.`;
    }
    // When a limit passes, ask the server again: it decides which actions are open now (at the
    // no-answer wait, "No answer" opens and the parent's notice closes; past the lateness limit, the
    // cancellation for a late parent opens).
    if (!reloaded.wait && left <= 0) {
      reloaded = { ...reloaded, wait: true };
      page.load().catch(() => {});
    }
    if (!reloaded.late && lateUntil && serverNow() > lateUntil) {
      reloaded = { ...reloaded, late: true };
      page.load().catch(() => {});
    }
  };
  tick();
  waitTimer = setInterval(tick, 5_000);
  return h(
    'div',
    { id: 'door' },
    told ? parentLateNote(notice, a) : null,
    p,
    h(
      'div',
      { class: 'big-actions' },
      can('parent-running-late') ? lateNoticeButton(a) : null,
      can('no-answer')
        ? h(
            'button',
            {
              type: 'button',
              class: 'big',
              id: 'no-answer',
              onclick: () =>
                post(
                  'no-answer',
                  slipBox.checked ? { slipLeft: true } : {},
                  'Recorded as no answer. Come back safe.',
                ),
            },
            'No answer',
          )
        : null,
      // The record says a slip was left only when the worker says so.
      can('no-answer')
        ? h('p', {}, slipBox, h('label', { for: 'f-door-slip' }, ' I left a “sorry you weren’t in” slip'))
        : null,
      can('parent-late-cancel')
        ? h(
            'button',
            {
              type: 'button',
              class: 'big',
              id: 'parent-late-cancel',
              onclick: () =>
                post('parent-late-cancel', {}, 'Visit cancelled: the parent was too late. Come back safe.'),
            },
            `Cancel: parent over ${a.lateCancelAfterMinutes} minutes late`,
          )
        : null,
    ),
  );
}

/** The office sees a visit's safe word only on demand (audited): the word a worker says to signal danger. */
export function safeWordButton() {
  const out = h('strong', { id: 'safe-word', 'aria-live': 'polite' });
  return h(
    'p',
    {},
    h(
      'button',
      {
        type: 'button',
        onclick: async (e) => {
          try {
            const r = await api('POST', `/api/visits/${visitId}/safe-word`, {});
            out.textContent = ` Safe word: ${r.safeWord}`;
            e.target.disabled = true;
          } catch (err) {
            say(msg, err.message, true);
          }
        },
      },
      'Show the safe word',
    ),
    out,
  );
}
