import {
  api,
  bdi,
  fmtTime,
  h,
  header,
  me,
  replaceKeepingInput,
  say,
  schoolPicker,
  serverNow,
  since,
} from './app.js';
import { alarmCard, alarmTitle, resolvedItem } from './board-alarms.js';
import { brokerLine, tickBroker } from './board-broker.js';
import { drillSection } from './board-drill.js';
import { followUpItem } from './board-follow-ups.js';
import { connect, scheduleRefresh } from './board-live.js';
import { pushToggle } from './board-push.js';
import { content, hooks, msg, state, tel } from './board-shared.js';
import { alarmsUnacknowledged, setSounding, soundToggle } from './board-sound.js';
import { triggerItem } from './board-triggers.js';
import { statusLabel } from './visit-words.js';
import {
  boardDaySaid,
  failedBadge,
  failedNotShownSaid,
  failedSaid,
  foldFailed,
  parentLateSaid,
  recordsFailedSaid,
} from './words.js';

// The office board: open alarms on top (sound + flashing until acknowledged), then visits out,
// today's visits, triggers waiting for a visit, failed deliveries. Live over SSE: every event (and
// every reconnect) re-reads the board (board-live.js). This file lays the board out; an alarm's card
// is in board-alarms.js, the sound in board-sound.js.

function section(id, title, items, empty) {
  return h(
    'section',
    { id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, title, ' ', h('span', { class: 'count' }, `(${items.length})`)),
    items.length ? h('ul', { class: 'cards' }, items) : h('p', { class: 'empty' }, empty),
  );
}

function visitItem(v) {
  // Called off with nobody out: greyed, and no one to call about it (the pupil's real visit of the
  // day, beside it, has its Call line). Cancelled while out, its people are still watched: as any.
  const calledOff = v.status === 'cancelled' && !v.out;
  const calls = calledOff
    ? []
    : [
        v.phones.lead ? tel(v.phones.lead, v.lead ?? 'lead') : null,
        v.phones.partner ? tel(v.phones.partner, v.partner ?? 'partner') : null,
        v.phones.family ? tel(v.phones.family, 'family') : null,
      ].filter(Boolean);
  return h(
    'li',
    { class: ['visit', v.overdue ? 'overdue' : '', calledOff ? 'cancelled' : ''].filter(Boolean).join(' ') },
    h('a', { href: `/visits/${v.id}` }, bdi(v.pupilName ?? 'Pupil'), ' — ', bdi(v.address)),
    h(
      'div',
      {},
      v.overdue
        ? h('span', { class: 'badge badge-alarm' }, 'OVERDUE')
        : v.out && v.status === 'cancelled'
          ? // Called off, but the staff are still out and watched until back safe.
            h('span', { class: 'badge' }, 'OUT — VISIT CANCELLED')
          : h('span', { class: 'badge' }, statusLabel(v)),
      ' ',
      v.lead || v.partner
        ? [v.lead, v.partner].filter(Boolean).flatMap((n, i) => (i ? [' & ', bdi(n)] : [bdi(n)]))
        : 'no staff yet',
      v.arrivedAt && v.out ? ` · arrived ${fmtTime(v.arrivedAt)}` : '',
      v.estimatedArrivalAt && v.out
        ? v.arrivalPassed
          ? ` · no arrival recorded (expected about ${fmtTime(v.estimatedArrivalAt)})`
          : ` · arriving about ${fmtTime(v.estimatedArrivalAt)}`
        : '',
      v.returnedAt
        ? ` · back at ${fmtTime(v.returnedAt)}`
        : v.expectedReturnAt
          ? ` · back by ${fmtTime(v.expectedReturnAt)}`
          : '',
      v.lastCheckInAt ? ` · last check-in ${fmtTime(v.lastCheckInAt)}` : '',
      v.alarmDueAt && !v.overdue
        ? ` · next alarm due ${fmtTime(v.alarmDueAt)} (unless checked in / back)`
        : '',
    ),
    // Thames View 3.5: the parent phoned to say they are running late (before or while out).
    v.parentLateNotice && !calledOff
      ? h('p', { class: 'warn parent-late-notice' }, `${parentLateSaid(v.parentLateNotice, fmtTime)}.`)
      : null,
    v.fobBatteryLow
      ? h(
          'p',
          { class: 'trust-issue fob-battery' },
          `Fob battery low${v.fobBatteryLow.percent !== null ? ` (${v.fobBatteryLow.percent}%)` : ''} at ${fmtTime(v.fobBatteryLow.at)}: its SOS may not last the visit — ask ${v.lead ?? 'the worker'} to check in by phone.`,
        )
      : null,
    calls.length
      ? h(
          'div',
          { class: 'calls' },
          'Call ',
          calls.flatMap((c, i) => (i ? [' · ', c] : [c])),
        )
      : null,
  );
}

// A feed that is not arriving is the loudest thing on the board after an alarm: an alarm could be
// happening that no one here can see.
function ingestBanner(problems) {
  if (!problems?.length) return document.createDocumentFragment();
  return h(
    'section',
    { id: 'ingest', class: 'ingest-down', role: 'alert', 'aria-labelledby': 'ingest-h' },
    h('h2', { id: 'ingest-h' }, 'Fob alarms from this school are NOT arriving'),
    h(
      'ul',
      {},
      problems.map((p) =>
        h(
          'li',
          {},
          `Since ${fmtTime(p.since)} (${since(p.since)}): ${p.reason ?? 'no connection'} [${p.transport}]`,
        ),
      ),
    ),
    h('p', {}, 'Until this clears, ask staff on visits to phone the office; tell the data manager.'),
  );
}

/**
 * An unacknowledged alarm at another of this person's schools (the board shows one school at a
 * time): red, above everything, each with the way to that school's board. Counted into the sound and
 * the title; announced once per new alarm (in render), not on every re-read.
 */
function elsewhereBand(elsewhere) {
  if (!elsewhere?.length) return null;
  return h(
    'section',
    { id: 'alarm-elsewhere', class: 'not-sent', 'aria-label': 'Alarms at your other schools' },
    elsewhere.map((e) =>
      h(
        'div',
        { class: 'elsewhere', 'data-school-id': e.schoolId },
        h('h2', {}, 'ALARM at ', bdi(e.schoolName)),
        h(
          'p',
          {},
          `${e.unacknowledged} unacknowledged alarm${e.unacknowledged === 1 ? '' : 's'} there. This board shows another school: `,
          h(
            'button',
            { type: 'button', onclick: () => openSchool(e.schoolId) },
            'Open ',
            bdi(e.schoolName),
            '’s board',
          ),
        ),
      ),
    ),
  );
}

/** To another school's board from its band: its alarms' heading then has the keyboard. */
async function openSchool(id) {
  await hooks.chooseSchool(id);
  const heading = document.getElementById('alarms-h');
  heading?.setAttribute('tabindex', '-1');
  heading?.focus();
}

/**
 * Records that failed to reach CPOMS / Arbor (counted whole by the server): one line at the top —
 * the safeguarding team cannot open the data page where they are retried or dismissed, and the
 * Failed deliveries list at the bottom shows only the latest.
 */
function recordsFailedLine(bySink) {
  const said = recordsFailedSaid(bySink);
  if (!said) return null;
  return h(
    'p',
    { id: 'records-failed', class: 'trust-issue' },
    said,
    ' ',
    h('a', { href: '#failed-h' }, 'The latest are under Failed deliveries.'),
  );
}

/**
 * Failed deliveries: each line badged FAILED, or NOT DELIVERED YET for a record still being tried
 * (`failedBadge`); under them, how many more of each kind the board was not sent.
 */
function failedSection(d) {
  const s = section(
    'failed',
    'Failed deliveries',
    foldFailed(d.failed).map((f) => {
      const badge = failedBadge(f);
      return h(
        'li',
        { class: f.pending ? 'failed pending' : 'failed' },
        h('span', { class: badge.alarm ? 'badge badge-alarm' : 'badge' }, badge.text),
        ` ${failedSaid(f, f.count > 1 ? `${fmtTime(f.firstAt)}–${fmtTime(f.lastAt)}` : fmtTime(f.at))}`,
      );
    }),
    'None.',
  );
  for (const said of failedNotShownSaid(d.failedNotShown)) s.append(h('p', { class: 'failed-more' }, said));
  return s;
}

/** More alarms open than the board was sent cards for: said, never hidden. */
function alarmsNotShown(d) {
  const more = (d.alarmsOpen?.all ?? d.alarms.length) - d.alarms.length;
  if (more <= 0) return null;
  return h(
    'p',
    { class: 'alert', role: 'alert', id: 'alarms-not-shown' },
    `${more} more open alarm${more === 1 ? ' is' : 's are'} not shown here (the board shows the first ${d.alarms.length}): resolve those dealt with to see the rest — a flood of alarms may be hiding a real one.`,
  );
}

function render() {
  const d = state.data;
  if (!d) return;
  // Counted whole by the server: the cards are only the first of them.
  const unacked = d.alarms.filter((a) => a.status === 'open');
  const elsewhere = d.elsewhere ?? [];
  // This school's unacknowledged alarms and those of the person's other schools: all sound.
  const unackedCount =
    (d.alarmsOpen?.unacknowledged ?? unacked.length) + elsewhere.reduce((n, e) => n + e.unacknowledged, 0);
  document.body.classList.toggle('has-alarm', unackedCount > 0);
  document.title = unackedCount ? `(${unackedCount}) ALARM — Doorstep` : 'Office board — Doorstep';
  // An overdue visit is shown on top and still counted and listed among today's (marked OVERDUE):
  // the day's list never says "No visits today" while one is out past its time.
  const overdue = d.visits.filter((v) => v.overdue);
  // The toolbar's date: the server's London day of these lists (past midnight, the new day's).
  const today = document.getElementById('board-day');
  if (today) today.textContent = boardDaySaid(d.day, serverNow());
  replaceKeepingInput(content, [
    elsewhereBand(elsewhere),
    ingestBanner(d.ingest),
    brokerLine(d.broker),
    recordsFailedLine(d.recordsFailed),
    section('alarms', 'Alarms', d.alarms.map(alarmCard), 'No open alarms.'),
    alarmsNotShown(d),
    section('overdue', 'Overdue visits', overdue.map(visitItem), 'No visit is overdue.'),
    section(
      'follow-up',
      'Children not seen: needs follow-up',
      d.needsFollowUp.map((f) =>
        h(
          'li',
          { class: 'follow-up' },
          h('a', { href: `/visits/${f.visitId}` }, f.pupilName ? bdi(f.pupilName) : f.pupilMisId),
          ` — visit completed ${fmtTime(f.completedAt)}, child not seen`,
        ),
      ),
      'None.',
    ),
    section('follow-ups', 'Follow-up actions', (d.followUps ?? []).map(followUpItem), 'None open.'),
    d.awaitingAuthorisation
      ? section(
          'awaiting',
          `Waiting for authorisation by ${d.awaitingAuthorisation.by.join(' or ') || 'the safeguarding team'}`,
          d.awaitingAuthorisation.visits.map((v) =>
            h(
              'li',
              { class: 'awaiting' },
              h('a', { href: `/visits/${v.visitId}` }, v.pupilName ? bdi(v.pupilName) : v.pupilMisId),
              ` — ${v.reason}, planned for ${v.plannedFor}`,
              v.dayPassed
                ? h(
                    'strong',
                    { class: 'warn' },
                    ' — its day has passed: move it to a new day before it is authorised',
                  )
                : null,
              ' · ',
              h(
                'a',
                {
                  href: `/pupils/${encodeURIComponent(v.pupilMisId)}?school=${encodeURIComponent(state.school)}`,
                },
                'the evidence',
              ),
            ),
          ),
          'None.',
        )
      : null,
    section('today', "Today's visits", d.visits.map(visitItem), 'No visits today.'),
    section('triggers', 'Triggers awaiting action', d.triggers.map(triggerItem), 'Nothing waiting.'),
    section('resolved', 'Resolved today', d.resolvedToday.map(resolvedItem), 'None yet today.'),
    failedSection(d),
    drillSection(),
  ]);
  const fresh = unacked.filter((a) => !announced.has(a.id));
  for (const a of fresh) announced.add(a.id);
  const freshElsewhere = elsewhere.filter((e) => e.alarmIds.some((id) => !announced.has(id)));
  for (const e of elsewhere) for (const id of e.alarmIds) announced.add(id);
  const news = [
    ...fresh.map(alarmTitle),
    ...freshElsewhere.map((e) => `at ${e.schoolName} (open its board to see it)`),
  ];
  if (news.length) document.getElementById('announce').textContent = `New alarm: ${news.join('; ')}`;
  alarmsUnacknowledged([...unacked.map((a) => a.id), ...elsewhere.flatMap((e) => e.alarmIds)], unackedCount);
  setSounding(unackedCount > 0);
}
const announced = new Set();

async function refresh() {
  state.data = await api('GET', `/api/board?school=${encodeURIComponent(state.school)}`);
  render();
}

hooks.refresh = refresh;

async function main() {
  const s = await me();
  state.me = s;
  header(s);
  const picker = schoolPicker(s, (id) => {
    state.school = id;
    connect();
    // The push button is the school's (its channel): offered again for the one chosen.
    document.getElementById('push-toggle')?.remove();
    pushToggle(id).then((b) => b && document.getElementById('sound-toggle')?.after(b));
    return refresh().catch((e) => say(msg, e.message, true));
  });
  hooks.chooseSchool = picker.choose;
  state.school = picker.initial;
  const toggle = soundToggle();
  document.querySelector('h1').after(
    h(
      'div',
      { class: 'toolbar' },
      picker.element,
      toggle,
      h('span', { id: 'live', class: 'live off', role: 'status' }, 'Connecting…'),
      // The day the board's lists are for, said again with them on every re-read (render).
      h('span', { class: 'today', id: 'board-day' }, boardDaySaid(null, serverNow())),
    ),
  );
  document.body.append(h('div', { id: 'announce', class: 'visually-hidden', 'aria-live': 'assertive' }));
  pushToggle(state.school).then((b) => b && toggle.after(b));
  connect();
  await refresh();
  setInterval(() => {
    for (const el of document.querySelectorAll('[data-since]')) el.textContent = since(el.dataset.since);
    tickBroker();
  }, 1000);
  // A safety net under the live stream: the whole board is re-read every 30 seconds.
  setInterval(() => scheduleRefresh(), 30_000);
}

main().catch((e) => say(msg, e.message, true));
