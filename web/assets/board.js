import {
  api,
  bdi,
  fmtTime,
  h,
  header,
  londonToday,
  me,
  replaceKeepingInput,
  say,
  schoolPicker,
  since,
} from './app.js';

// The office board: open alarms on top (sound + flashing until acknowledged), then visits out,
// today's visits, triggers waiting for a visit, failed deliveries. Live over SSE: every event (and
// every reconnect) re-reads the board, and EventSource resends Last-Event-ID so none is missed.

// The server's board event types (src/domain/board-events.ts): a new one refreshes the board too.
const EVENT_TYPES = (await api('GET', '/api/board/event-types').catch(() => null))?.eventTypes ?? [];
const state = { school: null, data: null, source: null, lastEventId: null, eventsSeen: 0, connected: false };
window.doorstepBoard = state;
const msg = document.getElementById('message');
const content = document.getElementById('content');

// --- sound: a two-tone alarm while any alarm is unacknowledged ------------------------------------
const sound = {
  ctx: null,
  timer: null,
  playing: false,
  enabled: localStorage.getItem('doorstep.sound') !== 'off',
};
window.doorstepSound = sound;
function beep() {
  if (!sound.ctx) return;
  const t = sound.ctx.currentTime;
  for (const [i, f] of [880, 660].entries()) {
    const o = sound.ctx.createOscillator();
    const g = sound.ctx.createGain();
    o.frequency.value = f;
    g.gain.setValueAtTime(0.2, t + i * 0.25);
    g.gain.exponentialRampToValueAtTime(0.001, t + i * 0.25 + 0.24);
    o.connect(g).connect(sound.ctx.destination);
    o.start(t + i * 0.25);
    o.stop(t + i * 0.25 + 0.25);
  }
}
function setSounding(on) {
  if (on && sound.enabled) {
    sound.ctx ??= new AudioContext();
    if (sound.ctx.state === 'suspended' && !sound.triedResume) {
      // The browser may allow it at once; if not within a second, the full-screen prompt asks.
      sound.triedResume = true;
      sound.resuming = true;
      sound.ctx.resume().then(
        () => setSounding(document.body.classList.contains('has-alarm')),
        () => {},
      );
      setTimeout(() => {
        sound.resuming = false;
        setSounding(document.body.classList.contains('has-alarm'));
      }, 1000);
    }
    if (!sound.timer) {
      beep();
      sound.timer = setInterval(beep, 1000);
    }
    sound.playing = sound.ctx.state === 'running';
  } else {
    clearInterval(sound.timer);
    sound.timer = null;
    sound.playing = false;
  }
  document.body.dataset.sounding = String(sound.playing);
  const b = document.getElementById('sound-toggle');
  if (b) {
    b.setAttribute('aria-pressed', String(sound.enabled));
    b.textContent = sound.enabled
      ? sound.ctx?.state === 'running' || !on
        ? 'Sound on'
        : 'Sound blocked: click to allow'
      : 'Sound off';
  }
  // An alarm is sounding but the browser blocked the sound: a prompt across the whole screen that
  // one click (which the browser needs before it plays sound) clears.
  const blocked = on && sound.enabled && sound.ctx?.state !== 'running' && !sound.resuming;
  let prompt = document.getElementById('sound-blocked');
  if (blocked && !prompt) {
    prompt = h(
      'div',
      { id: 'sound-blocked', role: 'alertdialog', 'aria-labelledby': 'sound-blocked-h' },
      h('h2', { id: 'sound-blocked-h' }, 'An alarm is open, and this browser blocked its sound'),
      h(
        'button',
        {
          type: 'button',
          class: 'primary big',
          onclick: () => {
            sound.ctx?.resume().then(
              () => setSounding(true),
              () => {},
            );
          },
        },
        'Turn the alarm sound on',
      ),
    );
    document.body.append(prompt);
    prompt.querySelector('button')?.focus();
  } else if (!blocked && prompt) prompt.remove();
}

// --- rendering ---------------------------------------------------------------------------------------
function alarmTitle(a) {
  const what = a.type.replace(/_/g, ' ').toUpperCase();
  const who =
    a.staffName ?? (a.unknownDevice ? `Unknown device ${a.deviceId}` : (a.staffId ?? 'Visit staff'));
  return `${what} — ${who}`;
}

/** The device's latest battery, and a low-battery event, on the card. */
function batteryText(a) {
  const b = a.latestBattery;
  if (b?.percent == null) return a.battery != null ? ` (battery ${Math.round(a.battery)}%)` : '';
  return ` (battery ${Math.round(b.percent)}% at ${fmtTime(b.at)}${b.low ? ', LOW' : ''})`;
}

function alarmCard(a) {
  const open = a.status === 'open';
  const note = h('input', { type: 'text', id: `note-${a.id}`, name: 'note', maxlength: 2000 });
  const reason = h(
    'select',
    { id: `reason-${a.id}`, name: 'reason', required: true },
    // Nothing preselected: a person chooses. The reasons and their wording come from the server.
    h('option', { value: '' }, '— choose what happened —'),
    state.data.resolutionReasons.map((r) =>
      h('option', { value: r.value }, r.label[0].toUpperCase() + r.label.slice(1)),
    ),
  );
  const where = [];
  if (a.location)
    where.push([
      `${Number(a.location.lat).toFixed(5)}, ${Number(a.location.lon).toFixed(5)}${a.location.accuracyM ? ` (±${Math.round(a.location.accuracyM)} m)` : ''} `,
      h(
        'a',
        {
          href: `https://www.openstreetmap.org/?mlat=${Number(a.location.lat)}&mlon=${Number(a.location.lon)}#map=17/${Number(a.location.lat)}/${Number(a.location.lon)}`,
          target: '_blank',
          rel: 'noopener noreferrer',
        },
        'open in maps',
      ),
    ]);
  if (a.visitAddress) where.push(['visit: ', bdi(a.visitAddress)]);
  return h(
    'li',
    {
      class: `alarm ${open ? 'unacknowledged' : 'acknowledged'}`,
      'data-alarm-id': a.id,
      'aria-labelledby': `alarm-${a.id}-title`,
    },
    h(
      'h3',
      { id: `alarm-${a.id}-title` },
      h(
        'span',
        { class: `badge ${open ? 'badge-alarm' : 'badge-ack'}` },
        open ? 'UNACKNOWLEDGED' : 'ACKNOWLEDGED',
      ),
      a.noResponse
        ? [' ', h('span', { class: 'badge badge-alarm no-response' }, 'NO ONE HAS RESPONDED')]
        : null,
      ' ',
      alarmTitle(a),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Raised'),
      h(
        'dd',
        {},
        fmtTime(a.raisedAt),
        ' (',
        h('span', { class: 'since', 'data-since': a.raisedAt }, since(a.raisedAt)),
        ')',
      ),
      a.deviceId ? [h('dt', {}, 'Device'), h('dd', {}, a.deviceId, batteryText(a))] : null,
      a.trustIssue
        ? [h('dt', {}, 'Not verified'), h('dd', { class: 'trust-issue' }, `${a.trustIssue} — treat as real`)]
        : null,
      h('dt', {}, 'Where'),
      h('dd', {}, where.length ? where.flatMap((w, i) => (i ? [' · ', w] : [w])) : 'no location'),
      a.pupilName ? [h('dt', {}, 'Visit for'), h('dd', {}, bdi(a.pupilName))] : null,
      a.staffPhone || a.partnerPhone
        ? [
            h('dt', {}, 'Call'),
            h(
              'dd',
              {},
              a.staffPhone ? tel(a.staffPhone, a.staffName ?? 'staff') : null,
              a.staffPhone && a.partnerPhone ? ' · ' : null,
              a.partnerPhone ? tel(a.partnerPhone, `${a.partnerName ?? 'partner'} (partner)`) : null,
            ),
          ]
        : null,
      h('dt', {}, 'Escalation'),
      h(
        'dd',
        {},
        a.level === null ? 'paused while acknowledged' : a.level === 0 ? 'starting' : `level ${a.level} sent`,
      ),
      a.nextStep
        ? [h('dt', {}, 'Next step'), h('dd', {}, `${a.nextStep.prompt} at ${fmtTime(a.nextStep.dueAt)}`)]
        : null,
      a.notifications?.length
        ? [
            h('dt', {}, 'Told'),
            h(
              'dd',
              {},
              h(
                'ul',
                { class: 'sent' },
                a.notifications.map((n) =>
                  h(
                    'li',
                    { class: n.delivery === 'failed' || n.delivery === 'partly-failed' ? 'trust-issue' : '' },
                    `${fmtTime(n.at)} ${n.target.replace(':', ' → ')}: ${n.deliveryText}`,
                  ),
                ),
              ),
            ),
          ]
        : null,
      a.acknowledgedBy
        ? [
            h('dt', {}, 'Acknowledged by'),
            h(
              'dd',
              {},
              bdi(a.acknowledgedBy),
              a.acknowledgedVia === 'sms' ? ' (SMS)' : '',
              ` at ${fmtTime(a.acknowledgedAt)}`,
              a.reopensAt ? `; opens again at ${fmtTime(a.reopensAt)} unless resolved` : '',
            ),
          ]
        : null,
    ),
    h(
      'div',
      { class: 'actions' },
      open
        ? h(
            'button',
            {
              type: 'button',
              class: 'primary',
              onclick: () => act(`/api/alarms/${a.id}/acknowledge`, {}, 'Acknowledged'),
            },
            `Acknowledge alarm ${a.id}`,
          )
        : null,
      resolveForm(a, reason, note),
    ),
  );
}

// Resolving takes two deliberate steps: choose what happened, then confirm it in words.
function resolveForm(a, reason, note) {
  const confirm = h('div', { class: 'confirm', hidden: true });
  const form = h(
    'form',
    {
      class: 'resolve',
      id: `resolve-${a.id}`,
      onsubmit: (e) => {
        e.preventDefault();
        if (!reason.value) return say(msg, 'Choose what happened before resolving', true);
        const label = reason.options[reason.selectedIndex].textContent;
        confirm.replaceChildren(
          h(
            'p',
            {},
            `Resolve alarm ${a.id} as “${label}”? It leaves the board (it stays under Resolved today).`,
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'primary',
              onclick: () =>
                act(
                  `/api/alarms/${a.id}/resolve`,
                  { reason: reason.value, note: note.value || undefined },
                  'Resolved',
                ),
            },
            `Yes, resolve alarm ${a.id}`,
          ),
          h('button', { type: 'button', onclick: () => (confirm.hidden = true) }, 'No, keep it open'),
        );
        confirm.hidden = false;
      },
    },
    h('label', { for: reason.id }, 'What happened'),
    reason,
    h('label', { for: note.id }, 'Note'),
    note,
    h('button', { type: 'submit' }, `Resolve alarm ${a.id}`),
    confirm,
  );
  return form;
}

function resolvedItem(a) {
  return h(
    'li',
    { class: 'resolved' },
    h(
      'details',
      {},
      h(
        'summary',
        {},
        `${a.type.replace(/_/g, ' ').toUpperCase()} — `,
        a.staffName ? bdi(a.staffName) : (a.deviceId ?? 'visit'),
        ` · raised ${fmtTime(a.raisedAt)} · resolved ${fmtTime(a.resolvedAt)} as ${a.reason.replace(/_/g, ' ')}`,
      ),
      a.note ? h('p', {}, 'Note: ', a.note) : null,
      h(
        'ol',
        { class: 'timeline' },
        a.timeline.map((t) => h('li', {}, `${fmtTime(t.at)} ${t.event}`)),
      ),
    ),
  );
}

function section(id, title, items, empty) {
  return h(
    'section',
    { id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, title, ' ', h('span', { class: 'count' }, `(${items.length})`)),
    items.length ? h('ul', { class: 'cards' }, items) : h('p', { class: 'empty' }, empty),
  );
}

function tel(number, who) {
  return h('a', { href: `tel:${number}` }, bdi(who), ': ', bdi(number));
}

function visitItem(v) {
  const calls = [
    v.phones.lead ? tel(v.phones.lead, v.lead ?? 'lead') : null,
    v.phones.partner ? tel(v.phones.partner, v.partner ?? 'partner') : null,
    v.phones.family ? tel(v.phones.family, 'family') : null,
  ].filter(Boolean);
  return h(
    'li',
    { class: `visit ${v.overdue ? 'overdue' : ''}` },
    h('a', { href: `/visits/${v.id}` }, bdi(v.pupilName ?? 'Pupil'), ' — ', bdi(v.address)),
    h(
      'div',
      {},
      v.overdue
        ? h('span', { class: 'badge badge-alarm' }, 'OVERDUE')
        : h('span', { class: 'badge' }, v.status.toUpperCase()),
      ' ',
      v.lead || v.partner
        ? [v.lead, v.partner].filter(Boolean).flatMap((n, i) => (i ? [' & ', bdi(n)] : [bdi(n)]))
        : 'no staff yet',
      v.expectedReturnAt ? ` · back by ${fmtTime(v.expectedReturnAt)}` : '',
      v.lastCheckInAt ? ` · last check-in ${fmtTime(v.lastCheckInAt)}` : '',
      v.alarmDueAt && !v.overdue
        ? ` · next alarm due ${fmtTime(v.alarmDueAt)} (unless checked in / back)`
        : '',
    ),
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

function render() {
  const d = state.data;
  if (!d) return;
  const unacked = d.alarms.filter((a) => a.status === 'open');
  document.body.classList.toggle('has-alarm', unacked.length > 0);
  document.title = unacked.length ? `(${unacked.length}) ALARM — Doorstep` : 'Office board — Doorstep';
  const overdue = d.visits.filter((v) => v.overdue);
  const today = d.visits.filter((v) => !v.overdue);
  replaceKeepingInput(content, [
    ingestBanner(d.ingest),
    section('alarms', 'Alarms', d.alarms.map(alarmCard), 'No open alarms.'),
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
    section('today', "Today's visits", today.map(visitItem), 'No visits today.'),
    section(
      'triggers',
      'Triggers awaiting action',
      d.triggers.map((t) =>
        h(
          'li',
          { class: 'trigger' },
          h('strong', {}, bdi(t.pupilName ?? t.pupilMisId)),
          ` — ${t.title} (since ${t.openedOn}; ${t.action} by ${t.role}) `,
          h(
            'button',
            { type: 'button', onclick: () => requestVisit(t) },
            `Request a visit for ${t.pupilName ?? t.pupilMisId}`,
          ),
        ),
      ),
      'Nothing waiting.',
    ),
    section('resolved', 'Resolved today', d.resolvedToday.map(resolvedItem), 'None yet today.'),
    section(
      'failed',
      'Failed deliveries',
      d.failed.map((f) =>
        h(
          'li',
          { class: 'failed' },
          h('span', { class: 'badge badge-alarm' }, 'FAILED'),
          ` ${f.what} ${f.id} (${f.detail}) at ${fmtTime(f.at)}: ${f.error ?? ''}`,
        ),
      ),
      'None.',
    ),
  ]);
  const fresh = unacked.filter((a) => !announced.has(a.id));
  for (const a of fresh) announced.add(a.id);
  if (fresh.length)
    document.getElementById('announce').textContent = `New alarm: ${fresh.map(alarmTitle).join('; ')}`;
  setSounding(unacked.length > 0);
}
const announced = new Set();

async function requestVisit(t) {
  try {
    const r = await api('POST', '/api/visits', { school: state.school, triggerEpisodeId: t.id });
    location.href = `/visits/${r.id}`;
  } catch (err) {
    say(msg, err.message, true);
  }
}

async function act(url, body, done) {
  try {
    const r = await api('POST', url, body);
    say(msg, `${done}: ${r.outcome ?? 'done'}`);
    await refresh();
  } catch (err) {
    say(msg, err.message, true);
  }
}

async function refresh() {
  state.data = await api('GET', `/api/board?school=${encodeURIComponent(state.school)}`);
  render();
}

// The board re-reads itself at once on an event; events arriving while it reads are folded into
// one more read half a second later: a burst of alarms costs a few reads per open board, not one per alarm.
const MIN_GAP_MS = 500;
const reads = { running: false, again: false };
function scheduleRefresh(wait = 0) {
  if (reads.running) {
    reads.again = true;
    return;
  }
  reads.running = true;
  setTimeout(async () => {
    try {
      await refresh();
    } catch (e) {
      say(msg, e.message, true);
    } finally {
      reads.running = false;
      if (reads.again) {
        reads.again = false;
        scheduleRefresh(MIN_GAP_MS); // events came in meanwhile: one more read, a little later
      }
    }
  }, wait);
}

let retryTimer = null;
function connect() {
  clearTimeout(retryTimer);
  state.source?.close();
  // A new stream after a failure carries the last id itself (the browser only resends it on its own retries).
  const since = state.lastEventId ? `&lastEventId=${encodeURIComponent(state.lastEventId)}` : '';
  const src = new EventSource(`/board/events?school=${encodeURIComponent(state.school)}${since}`);
  state.source = src;
  const live = document.getElementById('live');
  src.addEventListener('open', () => {
    state.connected = true;
    state.retries = 0;
    live.textContent = 'Live';
    live.className = 'live on';
    scheduleRefresh(); // catch up on anything missed while away
  });
  src.addEventListener('error', () => {
    state.connected = false;
    live.textContent = 'Reconnecting…';
    live.className = 'live off';
    // The browser retries a dropped stream by itself, but gives up for good on an error answer
    // (e.g. 503 from a server that is shutting down): then we start a new stream, backing off.
    if (src.readyState === EventSource.CLOSED) {
      state.retries = (state.retries ?? 0) + 1;
      retryTimer = setTimeout(connect, Math.min(15_000, 1000 * 2 ** Math.min(state.retries - 1, 4)));
    }
  });
  for (const t of EVENT_TYPES)
    src.addEventListener(t, (e) => {
      state.lastEventId = e.lastEventId;
      state.eventsSeen++;
      scheduleRefresh();
    });
}

async function main() {
  const s = await me();
  header(s);
  const picker = schoolPicker(s, (id) => {
    state.school = id;
    connect();
    refresh();
  });
  state.school = picker.initial;
  const toggle = h(
    'button',
    {
      type: 'button',
      id: 'sound-toggle',
      'aria-pressed': String(sound.enabled),
      onclick: () => {
        sound.enabled = !sound.enabled || sound.ctx?.state !== 'running';
        localStorage.setItem('doorstep.sound', sound.enabled ? 'on' : 'off');
        if (sound.ctx?.state === 'suspended') sound.ctx.resume();
        setSounding(document.body.classList.contains('has-alarm'));
      },
    },
    'Sound on',
  );
  document
    .querySelector('h1')
    .after(
      h(
        'div',
        { class: 'toolbar' },
        picker.element,
        toggle,
        h('span', { id: 'live', class: 'live off', role: 'status' }, 'Connecting…'),
        h('span', { class: 'today' }, londonToday()),
      ),
    );
  document.body.append(h('div', { id: 'announce', class: 'visually-hidden', 'aria-live': 'assertive' }));
  connect();
  await refresh();
  setInterval(() => {
    for (const el of document.querySelectorAll('[data-since]')) el.textContent = since(el.dataset.since);
  }, 1000);
  // A safety net under the live stream: the whole board is re-read every 30 seconds.
  setInterval(() => scheduleRefresh(), 30_000);
}

main().catch((e) => say(msg, e.message, true));
