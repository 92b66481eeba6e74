import { api, bdi, fmtDateTime, fmtTime, h, header, me, replaceKeepingInput, say } from './app.js';

// The visit page (made for a phone): what to know before leaving, leaving, check-ins, coming back,
// the outcome form (→ the CPOMS visit-outcome record) and the "sorry you weren't in" slip.

const msg = document.getElementById('message');
const content = document.getElementById('content');
const visitId = location.pathname.split('/')[2];
let s;

const field = (label, input, hint) => {
  input.id ||= `f-${input.name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: input.id }, label),
    hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null,
    input,
  );
};
const lines = (text) =>
  text
    .split('\n')
    .map((x) => x.trim())
    .filter(Boolean);

async function post(path, body, done) {
  try {
    await api('POST', `/api/visits/${visitId}/${path}`, body);
    say(msg, done);
    await load();
  } catch (err) {
    say(msg, err.message, true);
  }
}

function risks(d) {
  const v = d.visit;
  const flags = d.addressFlags;
  return h(
    'section',
    {
      id: 'risks',
      'aria-labelledby': 'risks-h',
      class: flags.length || v.riskNotes || v.riskLevel !== 'low' ? 'warning' : '',
    },
    h('h2', { id: 'risks-h' }, d.out ? 'Risks and address flags' : 'Before you go'),
    h(
      'p',
      { id: 'risk-level' },
      h('strong', {}, 'Risk level: '),
      d.effectiveRisk.toUpperCase(),
      d.effectiveRisk !== v.riskLevel ? ` (raised from ${v.riskLevel} by the address flag)` : '',
      v.riskAssessedAt
        ? ` — assessed ${fmtDateTime(v.riskAssessedAt)}${v.riskReason ? `: ${v.riskReason}` : ''}`
        : ` — proposed, not yet assessed (by ${d.rules.risk.assessedBy.join(' or ')})`,
    ),
    v.riskNotes
      ? h('p', {}, h('strong', {}, 'Risk notes: '), v.riskNotes)
      : h('p', {}, 'No risk notes recorded.'),
    flags.length
      ? h(
          'ul',
          { class: 'flags' },
          flags.map((f) =>
            h(
              'li',
              {},
              h('span', { class: 'badge badge-alarm' }, f.level.toUpperCase()),
              ` ${f.note} (recorded by ${f.createdBy}) `,
              s.user.roles.some((r) => r === 'safeguarding' || r === 'admin') ? removeFlagForm(f) : null,
            ),
          ),
        )
      : h('p', {}, 'No flags on this address.'),
    s.user.roles.some((r) => r === 'safeguarding' || r === 'admin') ? flagForm(d) : null,
    d.findings.length
      ? h(
          'ul',
          { class: 'findings' },
          d.findings.map((f) =>
            h('li', {}, h('strong', {}, f.level === 'block' ? 'Needed: ' : 'Note: '), f.message),
          ),
        )
      : null,
  );
}

/** The level and why: an assessor's decision (audited). */
function riskFields(prefix) {
  const level = h(
    'select',
    { name: `${prefix}Level`, id: `f-${prefix}Level`, required: true },
    h('option', { value: '' }, '— choose —'),
    ['low', 'minor', 'major'].map((l) => h('option', { value: l }, l)),
  );
  const reason = h('input', { type: 'text', name: `${prefix}Reason`, required: true, maxlength: 1000 });
  return {
    level,
    reason,
    fields: [
      field('Risk level', level),
      field('Why this level', reason, 'e.g. known family; history of aggression'),
    ],
  };
}

function riskForm() {
  const r = riskFields('risk');
  return h(
    'form',
    {
      id: 'assess-risk',
      onsubmit: (e) => {
        e.preventDefault();
        post('assess-risk', { level: r.level.value, reason: r.reason.value }, 'Risk assessed.');
      },
    },
    h('h2', {}, 'Assess the risk'),
    r.fields,
    h('button', { type: 'submit' }, 'Record the risk assessment'),
  );
}

const FLAG_NAMES = {
  cpPlan: 'CP plan',
  cin: 'child in need',
  lac: 'looked after',
  senEhcp: 'EHC plan',
  youngCarer: 'young carer',
  welfareConcern: 'welfare concern',
};

/** The MIS's flags and, apart, the welfare concern set by hand here (set/cleared by safeguarding). */
function pupilFlags(d) {
  if (!d.pupil) return null;
  const mis = Object.entries(d.pupil.flags ?? {})
    .filter(([, on]) => on === true)
    .map(([k]) => FLAG_NAMES[k] ?? k);
  const manual = d.pupil.manualFlags?.welfareConcern;
  const mayChange = s.user.roles.includes('safeguarding');
  const reason = h('input', { type: 'text', name: 'concernReason', id: 'f-concernReason', required: true });
  return h(
    'section',
    { 'aria-labelledby': 'pupil-flags-h' },
    h('h2', { id: 'pupil-flags-h' }, 'Pupil flags'),
    h('p', {}, h('strong', {}, 'From the MIS: '), mis.length ? mis.join(', ') : 'none'),
    h(
      'p',
      {},
      h('strong', {}, 'Set in Doorstep: '),
      manual ? ['welfare concern — ', bdi(manual.reason), ` (${fmtDateTime(manual.at)})`] : 'none',
    ),
    mayChange
      ? h(
          'form',
          {
            onsubmit: async (e) => {
              e.preventDefault();
              try {
                await api('POST', `/api/pupils/${encodeURIComponent(d.visit.pupilMisId)}/welfare-concern`, {
                  school: d.visit.schoolId,
                  set: !manual,
                  reason: reason.value,
                });
                say(msg, manual ? 'Welfare concern cleared.' : 'Welfare concern set.');
                await load();
              } catch (err) {
                say(msg, err.message, true);
              }
            },
          },
          h(
            'label',
            { for: reason.id },
            manual ? 'Why the concern is cleared' : 'Why there is a welfare concern',
          ),
          reason,
          h('button', { type: 'submit' }, manual ? 'Clear the welfare concern' : 'Set a welfare concern'),
        )
      : null,
  );
}

/** A flag that no longer holds is removed with the reason (the audit keeps what it said). */
function removeFlagForm(f) {
  const reason = h('input', { type: 'text', name: 'removeReason', id: `f-remove-${f.id}`, required: true });
  return h(
    'details',
    { class: 'inline' },
    h('summary', {}, `Remove flag ${f.id}`),
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api('POST', `/api/address-flags/${f.id}/remove`, { reason: reason.value });
            say(msg, 'Flag removed.');
            await load();
          } catch (err) {
            say(msg, err.message, true);
          }
        },
      },
      h('label', { for: reason.id }, 'Why it no longer holds'),
      reason,
      h('button', { type: 'submit' }, 'Remove flag'),
    ),
  );
}

/** The safeguarding team records what staff must know about an address (shown before every visit there). */
function flagForm(d) {
  const level = h(
    'select',
    { name: 'flagLevel', id: 'f-flagLevel' },
    h('option', { value: 'caution' }, 'Caution'),
    h('option', { value: 'dangerous' }, 'Dangerous'),
  );
  const note = h('input', { type: 'text', name: 'flagNote', required: true });
  const whole = h('input', { type: 'checkbox', name: 'wholePostcode', id: 'f-wholePostcode' });
  return h(
    'details',
    {},
    h('summary', {}, 'Flag this address'),
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api('POST', '/api/address-flags', {
              school: d.visit.schoolId,
              postcode: d.visit.address.postcode,
              line1: whole.checked ? undefined : d.visit.address.line1,
              level: level.value,
              note: note.value,
            });
            say(msg, 'Address flagged.');
            await load();
          } catch (err) {
            say(msg, err.message, true);
          }
        },
      },
      field('Level', level),
      field('What staff must know', note),
      h(
        'div',
        { class: 'field check' },
        whole,
        h('label', { for: 'f-wholePostcode' }, 'The whole postcode, not just this address'),
      ),
      h('button', { type: 'submit' }, 'Save flag'),
    ),
  );
}

function departForm(d) {
  const partner = h(
    'select',
    { name: 'partner' },
    h('option', { value: '' }, '— nobody —'),
    d.staff.filter((x) => x.id !== s.user.id).map((x) => h('option', { value: x.id }, x.displayName)),
  );
  const ret = h('input', { type: 'time', name: 'expectedReturn', required: true });
  // The policy's interval is a maximum: a shorter one may be chosen, never a longer one.
  const every = h('input', {
    type: 'number',
    name: 'checkInMinutes',
    min: 5,
    max: d.rules.checkInMinutes ?? 240,
    value: d.rules.checkInMinutes ?? '',
  });
  const phone = h('input', {
    type: 'tel',
    name: 'phone',
    autocomplete: 'tel',
    value: d.me.phone ?? '',
    required: d.rules.requires.phone,
  });
  const car = ['make', 'model', 'registration', 'colour'].map((k) =>
    h('input', { type: 'text', name: `vehicle-${k}`, id: `f-vehicle-${k}`, autocomplete: 'off' }),
  );
  const onFoot = h('input', { type: 'checkbox', name: 'onFoot', id: 'f-onFoot' });
  const safe = h('input', {
    type: 'text',
    name: 'safeWord',
    autocomplete: 'off',
    required: d.rules.safeWord === 'required',
  });
  const read = h('input', { type: 'checkbox', name: 'risksRead', id: 'f-risksRead' });
  return h(
    'form',
    {
      id: 'depart',
      onsubmit: (e) => {
        e.preventDefault();
        const [hh, mm] = ret.value.split(':').map(Number);
        const at = new Date();
        at.setHours(hh, mm, 0, 0);
        post(
          'depart',
          {
            partnerUserId: partner.value || undefined,
            expectedReturnAt: at.toISOString(),
            checkInMinutes: every.value ? Number(every.value) : undefined,
            safeWord: safe.value || undefined,
            risksRead: read.checked,
            phone: phone.value.trim() || undefined,
            ...(d.rules.requires.vehicle && !onFoot.checked
              ? {
                  vehicle: Object.fromEntries(
                    car.map((c) => [c.name.slice('vehicle-'.length), c.value.trim()]),
                  ),
                }
              : {}),
            ...(onFoot.checked ? { onFoot: true } : {}),
          },
          'Departure recorded: the office knows where you are.',
        );
      },
    },
    h('h2', {}, 'Leaving now'),
    field(`Going with${d.rules.pairs === 'always' ? ' (required: two staff)' : ''}`, partner),
    field('Expected back at', ret),
    field(
      'Check in every (minutes)',
      every,
      d.rules.checkInMinutes
        ? `Policy: at least every ${d.rules.checkInMinutes} minutes`
        : 'Leave empty for no timed check-ins',
    ),
    field(`Safe word${d.rules.safeWord === 'required' ? ' (required)' : ''}`, safe),
    field(
      `Your phone while out${d.rules.requires.phone ? ' (required)' : ''}`,
      phone,
      'The office calls this number if you are late or miss a check-in',
    ),
    d.rules.requires.vehicle
      ? h(
          'fieldset',
          {},
          h('legend', {}, 'Vehicle (the policy asks for it)'),
          car.map((c) =>
            field(
              c.name.slice('vehicle-'.length).replace(/^./, (x) => x.toUpperCase()),
              c,
            ),
          ),
          h(
            'div',
            { class: 'field check' },
            onFoot,
            h('label', { for: 'f-onFoot' }, 'On foot / public transport'),
          ),
        )
      : null,
    h(
      'div',
      { class: 'field check' },
      read,
      h('label', { for: 'f-risksRead' }, 'I have read the risk notes and address flags above'),
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Leave for the visit'),
  );
}

function outcomeForm() {
  const seen = (v, label) =>
    h(
      'label',
      { class: 'radio' },
      h('input', { type: 'radio', name: 'seen', value: v, required: true }),
      ` ${label}`,
    );
  const spoke = h('input', { type: 'text', name: 'spokeTo' });
  const agreements = h('textarea', { name: 'agreements', rows: 3 });
  const concerns = h('textarea', { name: 'concerns', rows: 3 });
  const follow = h('textarea', { name: 'followUp', rows: 2 });
  const form = h(
    'form',
    {
      id: 'outcome',
      onsubmit: (e) => {
        e.preventDefault();
        const choice = form.querySelector('input[name=seen]:checked')?.value;
        if (!choice) return say(msg, 'Say whether the child was seen', true);
        post(
          'outcome',
          {
            childSeen: choice === 'yes',
            noOneHome: choice === 'nobody',
            spokeTo: spoke.value || undefined,
            agreements: lines(agreements.value),
            concerns: lines(concerns.value),
            followUp: lines(follow.value).map((l) => {
              const [action, by] = l.split(/\s+[—-]\s+/);
              return { action, by: by ?? s.user.displayName };
            }),
          },
          'Outcome recorded: the CPOMS record is on its way.',
        );
      },
    },
    h('h2', {}, 'Outcome'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Was the child seen?'),
      seen('yes', 'Yes, child seen'),
      seen('no', 'No, child not seen'),
      seen('nobody', 'No one home'),
    ),
    field('Spoke to', spoke, 'e.g. mother'),
    field('Agreements', agreements, 'One per line'),
    field('Concerns', concerns, 'One per line'),
    field('Follow-up', follow, 'One per line: action — who'),
    h('button', { type: 'submit', class: 'primary' }, 'Submit outcome'),
  );
  return form;
}

/** Running late: a new return time with a reason (the overdue alarm re-arms for it and stands down). */
function lateForm(v) {
  const ret = h('input', { type: 'time', name: 'newReturn', id: 'f-newReturn', required: true });
  const why = h('input', {
    type: 'text',
    name: 'lateReason',
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
        const [hh, mm] = ret.value.split(':').map(Number);
        const at = new Date();
        at.setHours(hh, mm, 0, 0);
        if (at <= new Date()) at.setDate(at.getDate() + 1);
        post(
          'running-late',
          { expectedReturnAt: at.toISOString(), reason: why.value },
          `New return time ${fmtTime(at.toISOString())} recorded: the office knows.`,
        );
      },
    },
    h('h2', {}, 'Running late'),
    h('p', {}, `Expected back ${fmtTime(v.expectedReturnAt)}.`),
    field('New return time', ret),
    field('Why', why, 'e.g. parent arrived late; waiting for a social worker'),
    h('button', { type: 'submit' }, 'Set the new return time'),
  );
}

// What the office sees, the worker sees: a missed check-in or an overdue return is a banner (with a
// vibration where the phone allows), and the next deadline counts down.
let countdown = null;
function outBanner(d) {
  clearInterval(countdown);
  const v = d.visit;
  const missed = d.alarms.filter((a) => a.type === 'missed_check_in');
  const overdue = d.alarms.filter((a) => a.type === 'overdue_visit');
  const help = d.alarms.filter((a) => a.type === 'sos');
  const lines = [];
  if (help.length) lines.push('Help is on its way: the office has your alarm.');
  if (missed.length)
    lines.push('Check-in missed: the office has been alerted. Check in now if you are safe.');
  if (overdue.length)
    lines.push(
      'You are overdue: the office has been alerted. Set a new return time or say you are back safe.',
    );
  const clock = h('p', { id: 'next-deadline', 'aria-live': 'off' });
  const tick = () => {
    const parts = [];
    if (d.nextAlarmAt) parts.push(`Next check-in due by ${fmtTime(d.nextAlarmAt)} (${left(d.nextAlarmAt)})`);
    if (v.expectedReturnAt)
      parts.push(`back by ${fmtTime(v.expectedReturnAt)} (${left(v.expectedReturnAt)})`);
    clock.textContent = parts.join(' · ');
  };
  tick();
  countdown = setInterval(tick, 15_000);
  if (lines.length && navigator.vibrate) navigator.vibrate([300, 100, 300]);
  return h(
    'section',
    {
      id: 'out-banner',
      class: lines.length ? 'ingest-down' : '',
      ...(lines.length ? { role: 'alert' } : {}),
    },
    lines.map((l) => h('p', {}, h('strong', {}, l))),
    clock,
  );
}
function left(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (ms <= 0) return 'now';
  const m = Math.round(ms / 60_000);
  return m < 60 ? `in ${m} min` : `in ${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "I need help": an SOS alarm for this visit, with the phone's position if the worker allows it. */
async function askForHelp() {
  const position = await new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracyM: p.coords.accuracy ?? null }),
      () => resolve(null),
      { timeout: 5000, maximumAge: 60_000 },
    );
  });
  await post('help', { location: position }, 'Help requested: the office has your alarm and will call you.');
}

// While the worker is out the page re-reads every 20 s (a form being filled in is kept).
let poll = null;
function keepFresh(out) {
  clearInterval(poll);
  if (out) poll = setInterval(() => load().catch(() => {}), 20_000);
}

// Thames View 3.4/3.5: a wait timer at the door, counted from the arrival. At the pack's wait the
// page prompts and (the server allowing it) offers "No answer"; past the lateness limit, for a parent
// who said they are running late, "Cancel: parent over N minutes late". The page re-reads when each
// time passes, so the buttons are exactly what the server allows then.
let waitTimer = null;
function doorWait(v, a, can) {
  clearInterval(waitTimer);
  const at = (m) => new Date(new Date(v.arrivedAt).getTime() + m * 60_000);
  const until = at(a.noAnswerAfterMinutes);
  const lateUntil = a.lateCancelAfterMinutes ? at(a.lateCancelAfterMinutes) : null;
  const p = h('p', { id: 'door-wait', 'aria-live': 'polite' });
  let reloaded = {
    wait: Date.now() >= until.getTime(),
    late: !lateUntil || Date.now() > lateUntil.getTime(),
  };
  const tick = () => {
    const left = until.getTime() - Date.now();
    const late = lateUntil
      ? ` If the parent said they are running late, wait until ${fmtTime(lateUntil.toISOString())}: over ${a.lateCancelAfterMinutes} minutes late the visit is cancelled.`
      : '';
    if (left > 0) {
      p.className = '';
      p.removeAttribute('role');
      p.textContent = `At the door since ${fmtTime(v.arrivedAt)}: wait no longer than ${a.noAnswerAfterMinutes} minutes (until ${fmtTime(until.toISOString())}; ${Math.ceil(left / 60_000)} min left).${late}`;
    } else {
      p.className = 'warning';
      p.setAttribute('role', 'alert');
      p.textContent = `${a.noAnswerAfterMinutes} minutes at the door: wait no longer than ${a.noAnswerAfterMinutes} minutes — record "No answer" below, then come back safe.${late}`;
    }
    // When a limit passes, ask the server again: it decides which actions are open now.
    if (!reloaded.wait && left <= 0) {
      reloaded = { ...reloaded, wait: true };
      load().catch(() => {});
    }
    if (!reloaded.late && lateUntil && Date.now() > lateUntil.getTime()) {
      reloaded = { ...reloaded, late: true };
      load().catch(() => {});
    }
  };
  tick();
  waitTimer = setInterval(tick, 5_000);
  return h(
    'div',
    { id: 'door' },
    p,
    h(
      'div',
      { class: 'big-actions' },
      can('no-answer')
        ? h(
            'button',
            {
              type: 'button',
              class: 'big',
              id: 'no-answer',
              onclick: () => post('no-answer', {}, 'Recorded as no answer. Come back safe.'),
            },
            'No answer',
          )
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
function safeWordButton() {
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

function followUpForm() {
  const note = h('input', { type: 'text', name: 'followUpNote', required: true, maxlength: 1000 });
  return h(
    'form',
    {
      id: 'follow-up',
      onsubmit: (e) => {
        e.preventDefault();
        post('follow-up-done', { note: note.value }, 'Follow-up recorded.');
      },
    },
    field('What was done about the child not being seen', note),
    h('button', { type: 'submit' }, 'Record the follow-up'),
  );
}

const METHOD_WORDS = {
  letter: 'a letter',
  phone: 'a phone call',
  sms: 'a text (Doorstep sends it)',
  'in-person': 'in person',
  'written-confirmation': 'a written confirmation of the appointment',
};

/** Before leaving: how the family was told (the policy's ways), or the exemption it allows. */
function familyNotice(d, may) {
  const rule = d.rules.familyNotice;
  const told = d.visit.familyNotice;
  const said = told
    ? h(
        'p',
        { id: 'family-told' },
        told.method
          ? `Family told by ${METHOD_WORDS[told.method] ?? told.method} (${fmtDateTime(told.at)}).`
          : `Family not told first: ${told.exemption.replace(/-/g, ' ')} (${fmtDateTime(told.at)}).`,
      )
    : h(
        'p',
        { class: rule.expect === 'required' ? 'warn' : '' },
        rule.expect === 'required'
          ? 'The family must be told of this visit before it.'
          : 'Tell the family of this visit before it where possible.',
      );
  if (!may) return said;
  const choice = h(
    'select',
    { id: 'f-familyHow', name: 'familyHow', required: true },
    h('option', { value: '' }, 'Choose…'),
    rule.methods.map((m) => h('option', { value: `method:${m}` }, METHOD_WORDS[m] ?? m)),
    rule.exemptions.map((x) =>
      h('option', { value: `exemption:${x}` }, `not told first: ${x.replace(/-/g, ' ')}`),
    ),
  );
  const note = h('input', { type: 'text', id: 'f-familyNote', name: 'familyNote', maxlength: 500 });
  return h(
    'section',
    { id: 'family-notice' },
    h('h2', {}, 'Telling the family'),
    said,
    rule.methods.includes('letter')
      ? h('p', {}, h('a', { href: `/visits/${d.visit.id}/letter` }, 'Print the letter to the family'))
      : null,
    h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          const [kind, value] = choice.value.split(':');
          post('family-notice', { [kind]: value, ...(note.value ? { note: note.value } : {}) }, 'Recorded.');
        },
      },
      field('How the family was told', choice),
      field('Note (optional)', note),
      h('button', { type: 'submit' }, 'Record'),
    ),
  );
}

/** "Raise a concern now": straight to the safeguarding team and the school's records. */
function concernForm() {
  const text = h('textarea', {
    name: 'concern',
    id: 'concern-text',
    required: true,
    maxlength: 4000,
    rows: 3,
  });
  return h(
    'details',
    { id: 'concern' },
    h('summary', {}, 'Raise a concern now'),
    h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          post(
            'concern',
            { concern: text.value },
            "Concern sent to the safeguarding team and into the school's records.",
          );
        },
      },
      field('What worries you (sent at once to the safeguarding team)', text),
      h('button', { type: 'submit', class: 'danger' }, 'Send the concern now'),
    ),
  );
}

function cancelForm(d) {
  const reason = h('input', { type: 'text', name: 'cancelReason', required: true });
  return h(
    'details',
    {},
    h('summary', {}, 'Cancel this visit'),
    h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          post('cancel', { reason: reason.value }, 'Visit cancelled.');
        },
      },
      field(
        'Reason',
        reason,
        d.rules.appointments
          ? `e.g. dangerous animal, felt unsafe (a parent not there: "No answer" after ${d.rules.appointments.noAnswerAfterMinutes} minutes)`
          : 'e.g. parent not present; dangerous dog',
      ),
      h('button', { type: 'submit' }, 'Cancel visit'),
    ),
  );
}

async function load() {
  const d = await api('GET', `/api/visits/${visitId}`);
  const v = d.visit;
  document
    .querySelector('h1')
    .replaceChildren(
      `Visit ${v.id}: `,
      ...(d.pupil ? [bdi(d.pupil.forename), ' ', bdi(d.pupil.surname)] : [bdi(v.pupilMisId)]),
    );
  const addr = [v.address.line1, v.address.line2, v.address.town, v.address.postcode]
    .filter(Boolean)
    .flatMap((part, i) => (i ? [', ', bdi(part)] : [bdi(part)]));
  const parts = [
    h(
      'p',
      { class: 'status' },
      h('span', { class: 'badge' }, v.status.toUpperCase()),
      ` planned for ${v.plannedFor} · ${v.reason}`,
    ),
    h('p', {}, h('strong', {}, 'Address: '), addr),
    pupilFlags(d),
    d.contacts.length
      ? h(
          'ul',
          { class: 'contacts' },
          d.contacts.map((c) =>
            h(
              'li',
              {},
              bdi(c.name),
              ' (',
              bdi(c.relationship ?? 'contact'),
              c.parentalResponsibility === true ? ', parental responsibility' : '',
              ') ',
              c.phone ? h('a', { href: `tel:${c.phone}` }, bdi(c.phone)) : '',
            ),
          ),
        )
      : null,
  ];
  // Only what the server says this person may do now (the visit lifecycle's answer).
  const can = (a) => d.actions.includes(a);
  if (!d.out && (v.status === 'requested' || v.status === 'authorised')) {
    parts.push(risks(d));
    if (v.status === 'requested' && d.rules.authorisation.required)
      parts.push(
        h(
          'p',
          {},
          `Waiting for authorisation by ${d.rules.authorisation.by.join(' or ')}${d.rules.authorisation.mode === 'daily-list' ? " (the day's list is signed)" : ''}.`,
        ),
      );
    if (can('assess-risk') && d.rules.risk.at !== 'authorisation') parts.push(riskForm());
    if (d.rules.familyNotice) parts.push(familyNotice(d, can('tell-family')));
    if (can('authorise')) {
      const outside = h('input', { type: 'checkbox', id: 'f-outOfHours', name: 'outOfHours' });
      // Where the pack assesses risk at authorisation, the authoriser gives the level and why.
      const withRisk = d.rules.risk.at === 'authorisation' && can('assess-risk');
      const r = riskFields('authRisk');
      parts.push(
        h(
          'form',
          {
            id: 'authorise',
            onsubmit: (e) => {
              e.preventDefault();
              post(
                'authorise',
                {
                  ...(outside.checked ? { outOfHours: true } : {}),
                  ...(withRisk ? { risk: { level: r.level.value, reason: r.reason.value } } : {}),
                },
                'Visit authorised.',
              );
            },
          },
          withRisk ? r.fields : null,
          d.rules.hours && (d.rules.hours.approvable || d.rules.hours.mode === 'recommend')
            ? h(
                'div',
                { class: 'field check' },
                outside,
                h(
                  'label',
                  { for: 'f-outOfHours' },
                  `Approve outside ${d.rules.hours.from}–${d.rules.hours.to}`,
                ),
              )
            : null,
          h('button', { type: 'submit', class: 'primary' }, 'Authorise this visit'),
        ),
      );
    }
    if (can('depart')) parts.push(departForm(d));
  }
  if (d.out) {
    parts.push(outBanner(d));
    parts.push(
      h(
        'div',
        { class: 'big-actions' },
        can('help')
          ? h(
              'button',
              { type: 'button', class: 'danger big', id: 'help', onclick: () => askForHelp() },
              'I need help',
            )
          : null,
        d.officePhone
          ? h(
              'a',
              { class: 'button big', href: `tel:${d.officePhone.replace(/\s+/g, '')}` },
              'Call the office',
            )
          : null,
      ),
    );
    parts.push(
      h(
        'p',
        { id: 'out-status' },
        `Out since ${fmtTime(v.departedAt)}; expected back ${fmtTime(v.expectedReturnAt)}`,
        v.arrivedAt ? `; arrived ${fmtTime(v.arrivedAt)}` : '',
        v.checkInMinutes ? `; check in every ${v.checkInMinutes} minutes` : '',
        v.lastCheckInAt ? `; last check-in ${fmtTime(v.lastCheckInAt)}` : '',
        v.outcome ? '; outcome recorded' : '',
        v.status === 'cancelled' ? '; visit cancelled' : '',
        '. Watched until back safe.',
      ),
      h(
        'p',
        {},
        'With ',
        d.partnerName ? bdi(d.partnerName) : 'nobody',
        d.leadName && d.leadName !== s.user.displayName ? [' (lead: ', bdi(d.leadName), ')'] : '',
      ),
    );
    parts.push(
      h(
        'div',
        { class: 'big-actions' },
        can('arrive')
          ? h(
              'button',
              { type: 'button', class: 'big', onclick: () => post('arrive', {}, 'Arrival recorded.') },
              'I have arrived',
            )
          : null,
        can('check-in')
          ? h(
              'button',
              { type: 'button', class: 'primary big', onclick: () => post('check-in', {}, 'Checked in.') },
              'Check in: I am safe',
            )
          : null,
        can('back-safe')
          ? h(
              'button',
              {
                type: 'button',
                class: 'big',
                onclick: () => post('back-safe', {}, 'Welcome back: you are recorded as back safe.'),
              },
              'Back safe',
            )
          : null,
      ),
    );
    if (d.rules.appointments && v.arrivedAt && !v.outcome && v.status === 'departed')
      parts.push(doorWait(v, d.rules.appointments, can));
    else clearInterval(waitTimer);
    if (can('reveal-safe-word')) parts.push(safeWordButton());
    if (can('running-late')) parts.push(lateForm(v));
    parts.push(risks(d));
  }
  // The slip stays reachable from leaving until the outcome is done (and after, when no one was home).
  if (v.departedAt && (!v.outcome || v.outcome.noOneHome))
    parts.push(
      h('p', {}, h('a', { href: `/visits/${v.id}/slip` }, 'Print the "sorry you weren\'t in" slip')),
    );
  if (v.status === 'returned') parts.push(h('p', {}, `Back safe at ${fmtTime(v.returnedAt)}.`));
  if (can('record-outcome')) parts.push(outcomeForm());
  if (v.outcome) {
    const o = v.outcome;
    parts.push(
      h(
        'p',
        { id: 'outcome-summary' },
        `${v.status === 'completed' ? `Completed ${fmtDateTime(v.completedAt)}` : 'Outcome recorded'}: ${o.noOneHome ? 'no one home' : o.childSeen ? 'child seen' : 'child NOT seen'}.`,
      ),
    );
    if (!o.childSeen && v.followUpDoneAt)
      parts.push(h('p', {}, `Follow-up recorded ${fmtDateTime(v.followUpDoneAt)}.`));
  }
  if (can('follow-up-done')) parts.push(followUpForm());
  if (can('raise-concern')) parts.push(concernForm());
  if (v.status === 'cancelled')
    parts.push(h('p', {}, `Cancelled ${fmtDateTime(v.cancelledAt)}: ${v.cancelReason}`));
  if (can('cancel')) parts.push(cancelForm(d));
  if (d.checkIns.length)
    parts.push(
      h(
        'section',
        {},
        h('h2', {}, 'Check-ins'),
        h(
          'ul',
          {},
          d.checkIns.map((c) => h('li', {}, `${fmtTime(c.at)} (${c.source})`)),
        ),
      ),
    );
  replaceKeepingInput(content, parts);
  keepFresh(d.out);
}

async function main() {
  s = await me();
  header(s);
  await load();
}
main().catch((e) => say(msg, e.message, true));
