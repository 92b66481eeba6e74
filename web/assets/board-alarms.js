import { bdi, fmtTime, h, say, since } from './app.js';
import { act, msg, state, tel } from './board-shared.js';
import {
  accuracySaid,
  alarmOutcomeSaid,
  backSafeSaid,
  escalationFacts,
  foldTold,
  unheardSaid,
} from './words.js';

// An alarm on the board: its card (who, where, whom to call, the escalation and who was told),
// acknowledging and resolving it, and a resolved alarm with its timeline.

/** What the alarm is: its type, or — raised from the phone page, not a fob — "I NEED HELP (phone)". */
export function alarmWhat(a) {
  return `${a.test ? 'TEST ' : ''}${a.fromPhone ? 'I NEED HELP (phone)' : a.type.replace(/_/g, ' ').toUpperCase()}`;
}

export function alarmTitle(a) {
  const what = alarmWhat(a);
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

export function alarmCard(a) {
  const open = a.status === 'open';
  // No one outside the office knows (every message failed, the ladder stalled): whom to phone, or
  // that no one is configured to phone and what to do instead.
  const unheard = unheardSaid(a);
  const note = h('input', { type: 'text', id: `note-${a.id}`, name: 'note', maxlength: 2000 });
  const reason = h(
    'select',
    { id: `reason-${a.id}`, name: 'reason', required: true },
    // Nothing preselected: a person chooses (a TEST alarm, a fob drill, defaults to "a test"). The
    // reasons and their wording come from the server.
    h('option', { value: '' }, '— choose what happened —'),
    state.data.resolutionReasons.map((r) =>
      h(
        'option',
        { value: r.value, ...(a.test && r.value === 'test' ? { selected: true } : {}) },
        r.label[0].toUpperCase() + r.label.slice(1),
      ),
    ),
  );
  const where = [];
  if (a.location)
    where.push([
      `${Number(a.location.lat).toFixed(5)}, ${Number(a.location.lon).toFixed(5)}${a.location.accuracyM ? ` (${accuracySaid(a.location.accuracyM)})` : ''} `,
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
      class: `alarm ${open ? 'unacknowledged' : 'acknowledged'}${a.test ? ' test-alarm' : ''}`,
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
      unheard
        ? [
            ' ',
            h(
              'span',
              {
                class: `badge badge-alarm no-response${a.warning === 'ladder-stalled' ? ' ladder-stalled' : ''}`,
              },
              unheard.badge,
            ),
          ]
        : a.warning === 'no-response'
          ? [' ', h('span', { class: 'badge badge-alarm no-response' }, 'NO ONE HAS RESPONDED')]
          : null,
      a.test
        ? [' ', h('span', { class: 'badge badge-test' }, 'TEST — a fob drill, no one is in danger')]
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
      a.arrivedAt
        ? [
            h('dt', {}, 'Reached Doorstep'),
            h(
              'dd',
              { class: 'arrived-late' },
              `${fmtTime(a.arrivedAt)} — ${Math.round((Date.parse(a.arrivedAt) - Date.parse(a.raisedAt)) / 60_000)} min after the fob's time of the press (sent late — out of signal — or the fob's clock is slow)`,
            ),
          ]
        : null,
      // An alarm of a school the config no longer holds, brought to this (the trust's orphansTo) board.
      a.noLongerConfigured
        ? [
            h('dt', {}, 'School'),
            h('dd', { class: 'no-longer-configured' }, bdi(a.noLongerConfigured), ' — this board takes it'),
          ]
        : null,
      a.deviceId ? [h('dt', {}, 'Device'), h('dd', {}, a.deviceId, batteryText(a))] : null,
      a.trustIssue
        ? [h('dt', {}, 'Not verified'), h('dd', { class: 'trust-issue' }, `${a.trustIssue} — treat as real`)]
        : null,
      h('dt', {}, 'Where'),
      h('dd', {}, where.length ? where.flatMap((w, i) => (i ? [' · ', w] : [w])) : 'no location'),
      a.pupilName ? [h('dt', {}, 'Visit for'), h('dd', {}, bdi(a.pupilName))] : null,
      a.checkedInSince
        ? [
            h('dt', {}, 'Checked in'),
            h(
              'dd',
              { class: 'checked-in-since' },
              `from the phone at ${fmtTime(a.checkedInSince)}, after this alarm was raised — call them to be sure, then resolve it`,
            ),
          ]
        : null,
      // Back safe said from the phone after the alarm: not closed by it (a press may be forced).
      a.backSafeSince
        ? [
            h('dt', {}, 'Back safe'),
            h('dd', { class: 'back-safe-since' }, backSafeSaid(fmtTime(a.backSafeSince))),
          ]
        : null,
      a.phoneThem?.length
        ? [
            h('dt', {}, 'Phone yourself'),
            h(
              'dd',
              { class: 'phone-them' },
              a.phoneThem.flatMap((p, i) => (i ? [' · ', tel(p.phone, p.name)] : [tel(p.phone, p.name)])),
            ),
          ]
        : unheard?.phone
          ? [
              h('dt', {}, 'Phone yourself'),
              h('dd', { class: 'phone-them phone-none trust-issue' }, unheard.phone),
            ]
          : null,
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
      // Where the ladder is, what to do now (the level last sent's words), then its next step.
      escalationFacts(a, fmtTime).map((f) => [
        h('dt', {}, f.term),
        h('dd', f.now ? { class: 'now-step' } : f.alert ? { class: 'trust-issue' } : {}, f.text),
      ]),
      a.notifications?.length
        ? [
            h('dt', {}, 'Told'),
            h(
              'dd',
              {},
              h(
                'ul',
                { class: 'sent' },
                foldTold(a.notifications).map((n) =>
                  h(
                    'li',
                    { class: n.delivery === 'failed' || n.delivery === 'partly-failed' ? 'trust-issue' : '' },
                    n.count > 1
                      ? `${fmtTime(n.firstAt)}–${fmtTime(n.lastAt)} ${n.target.replace(':', ' → ')}: ${n.deliveryText} (${n.count} times)`
                      : `${fmtTime(n.at)} ${n.target.replace(':', ' → ')}: ${n.deliveryText}`,
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
              a.acknowledgedVia === 'sms' ? ' (SMS)' : a.acknowledgedVia === 'call' ? ' (call)' : '',
              ` at ${fmtTime(a.acknowledgedAt)}`,
              a.reopensAt ? `; opens again at ${fmtTime(a.reopensAt)} unless resolved` : '',
            ),
          ]
        : null,
    ),
    a.aboutYou
      ? h(
          'p',
          { class: 'about-you' },
          'This alarm is about you (your device, or a visit you are on): someone else in the office takes and closes it.',
        )
      : h(
          'div',
          { class: 'actions' },
          open
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'primary',
                  onclick: () =>
                    act(`/api/alarms/${a.id}/acknowledge`, {}, (r) => alarmOutcomeSaid(a.id, r.outcome)),
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
        const question = h(
          'p',
          { tabindex: '-1' },
          `Resolve alarm ${a.id} as “${label}”? It leaves the board (it stays under Resolved today).`,
        );
        confirm.replaceChildren(
          question,
          h(
            'button',
            {
              type: 'button',
              class: 'primary',
              onclick: () =>
                act(
                  `/api/alarms/${a.id}/resolve`,
                  { reason: reason.value, note: note.value || undefined },
                  (r) => alarmOutcomeSaid(a.id, r.outcome),
                ),
            },
            `Yes, resolve alarm ${a.id}`,
          ),
          h('button', { type: 'button', onclick: () => (confirm.hidden = true) }, 'No, keep it open'),
        );
        confirm.hidden = false;
        // The keyboard and a screen reader go to the question (Tab then reaches Yes and No).
        question.focus();
        // Kept while its confirmation is open: a board event re-renders the board (new alarms,
        // escalations, delivery reports) and must not take the question away mid-answer.
        form.dataset.dirty = 'true';
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

export function resolvedItem(a) {
  return h(
    'li',
    { class: 'resolved' },
    h(
      'details',
      {},
      h(
        'summary',
        {},
        `${alarmWhat(a)} — `,
        a.staffName ? bdi(a.staffName) : (a.deviceId ?? 'visit'),
        ` · raised ${fmtTime(a.raisedAt)} · resolved ${fmtTime(a.resolvedAt)} as ${a.reasonText ?? (a.reason ?? 'no reason given').replace(/_/g, ' ')}`,
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
