import { api, fmtDateTime, h, londonToday, say } from './app.js';
import { closedDayBox } from './closed-day.js';
import { flagsSeen, goingForm, riskFields, showFindings } from './visit-risks.js';
import { checkedReturnTime, field, lines, msg, newPressId, page, post, visitId } from './visit-shared.js';
import { arrivalTimeAt, recordedWords, returnTimeAhead } from './visit-words.js';
import { outcomeSaid } from './words.js';

// The visit's forms: authorising, leaving, the outcome, the follow-up, a concern raised now and
// cancelling. Each posts one step; the page shows only those the server allows now.

/** Authorising the visit (with the risk level and why, where the pack assesses risk then). */
export function authoriseForm(d, can) {
  const why = h('input', { id: 'f-outOfHoursWhy', name: 'note', maxlength: 500 });
  const whyField = field('Why it is made outside the hours', why);
  whyField.hidden = true;
  const outside = h('input', {
    type: 'checkbox',
    id: 'f-outOfHours',
    name: 'outOfHours',
    // Approving outside the hours asks why (the server refuses it without).
    onchange: () => {
      whyField.hidden = !outside.checked;
      why.required = outside.checked;
    },
  });
  // Where the pack assesses risk at authorisation, the authoriser gives the level and why.
  const withRisk = d.rules.risk.at === 'authorisation' && can('assess-risk');
  const r = riskFields('authRisk');
  return h(
    'form',
    {
      id: 'authorise',
      onsubmit: (e) => {
        e.preventDefault();
        post(
          'authorise',
          {
            ...(outside.checked ? { outOfHours: true, note: why.value } : {}),
            ...(withRisk
              ? { risk: { level: r.level.value, reason: r.reason.value, flagsSeen: flagsSeen(d) } }
              : {}),
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
          h('label', { for: 'f-outOfHours' }, `Approve outside ${d.rules.hours.from}–${d.rules.hours.to}`),
        )
      : null,
    whyField,
    h('button', { type: 'submit', class: 'primary' }, 'Authorise this visit'),
  );
}

/**
 * An authorised visit approved outside the pack's hours, by whoever may authorise it (Lime Hills'
 * evenings, King's exceptional circumstances): with why, kept in the audit.
 */
export function outOfHoursForm(d) {
  const reason = h('input', { name: 'reason', required: true, maxlength: 500 });
  return h(
    'form',
    {
      id: 'approve-out-of-hours',
      onsubmit: (e) => {
        e.preventDefault();
        post('approve-out-of-hours', { reason: reason.value }, 'Approved outside the hours.');
      },
    },
    field(`Why it is made outside ${d.rules.hours.from}–${d.rules.hours.to}`, reason),
    h('button', { type: 'submit' }, `Approve outside ${d.rules.hours.from}–${d.rules.hours.to}`),
  );
}

/**
 * Another day for a visit not yet made (a family who asked to rearrange, a day gone by): what was
 * given for the old day — authorisation, risk assessment, the family's notice — is asked for again.
 */
export function dateForm(d) {
  const v = d.visit;
  const today = londonToday();
  const date = h('input', { type: 'date', name: 'date', required: true, min: today });
  // A day the school is closed: the server asks to confirm it (409); the box is then offered.
  const closed = closedDayBox('f-date-closed', date);
  // Whether its day has passed is the server's answer (the lifecycle's), not worked out here.
  const passed = d.dayPassed === true;
  return h(
    'form',
    {
      id: 'change-date',
      onsubmit: (e) => {
        e.preventDefault();
        post('date', { date: date.value, ...closed.confirmed() }, `Moved to ${date.value}.`, closed.said);
      },
    },
    h(
      'p',
      { class: passed || v.plannedFor > today ? 'warn' : '' },
      passed
        ? `Planned for ${v.plannedFor}, which has passed: it cannot leave until it is moved to a day from today.`
        : `Planned for ${v.plannedFor}${v.plannedFor === today ? ' (today)' : ''}. A visit leaves on its day only.`,
    ),
    field('Move to', date, 'Its authorisation, risk assessment and the family’s notice are asked for again.'),
    closed.line,
    h('button', { type: 'submit' }, 'Move the visit'),
  );
}

const COMMUTE_WORDS = {
  'to-work': 'from home, on the way to work',
  'from-work': 'after work, on the way home',
};

/**
 * A visit on the way to or from work: said as such, with its prior approval where the school's
 * policy asks for one (Hampton: the head of school), and the approval for those the server lets.
 */
export function commutePart(d, can) {
  const v = d.visit;
  if (!v.commute) return null;
  const rule = d.rules.commute;
  return h(
    'section',
    { id: 'commute' },
    h(
      'p',
      { class: rule && !v.commuteApprovedAt ? 'warn' : '' },
      `Going ${COMMUTE_WORDS[v.commute] ?? v.commute}.`,
      rule
        ? v.commuteApprovedAt
          ? ` Approved beforehand (${fmtDateTime(v.commuteApprovedAt)}).`
          : ` The policy asks for approval by ${rule.approvalBy.join(' or ')} before it.`
        : '',
    ),
    can('approve-commute')
      ? h(
          'form',
          {
            id: 'approve-commute',
            onsubmit: (e) => {
              e.preventDefault();
              post('approve-commute', {}, 'Approved.');
            },
          },
          h('button', { type: 'submit' }, 'Approve this visit on the way to or from work'),
        )
      : null,
  );
}

/**
 * While "Leave for the visit" is held, what holds it may be cleared by someone else (the office
 * records the family's letter, an assessor assesses the risk, the head approves) or by time (the
 * policy's hours begin): the page is read again — the Needed list with it, asked again for the form
 * as filled in (visit.js) — every 15 s, and as soon as the phone comes back to the page, until Leave
 * is offered or the form is gone.
 */
const HELD_REREAD_MS = 15_000;
let heldTimer = null;
let lastReread = 0;
const leaveHeld = () => document.querySelector('form#depart #leave[aria-disabled="true"]') !== null;
function rereadWhileHeld() {
  if (!leaveHeld()) {
    clearInterval(heldTimer);
    heldTimer = null;
    return;
  }
  // A form on its way to the server is left alone; a read already under way is not doubled.
  if (document.querySelector('form#depart[data-sending]') || Date.now() - lastReread < 2_000) return;
  lastReread = Date.now();
  page.load(true).catch(() => {}); // no connection: asked again at the next turn
}
function watchHeldLeave() {
  heldTimer ??= setInterval(rereadWhileHeld, HELD_REREAD_MS);
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') rereadWhileHeld();
});
window.addEventListener('focus', rereadWhileHeld);

/**
 * Leaving now. The worker who is out is the visit's lead: for a visit nobody leads yet, it is the
 * person who presses the button when they are visiting staff, else (the office, for a worker who
 * phoned) the form asks who is going, from the school's visiting staff — never the office user.
 */
export function departForm(d) {
  const myId = page.s.user.id;
  const iGo = d.staff.some((x) => x.id === myId);
  // Visiting staff take it as its lead themselves; the office, safeguarding or an admin records a
  // departure for whoever is going (the server says which: `mayNameLead`).
  const leads = d.mayNameLead ? d.staff : d.staff.filter((x) => x.id === myId);
  const fixedLead = d.visit.leadUserId;
  const lead = fixedLead
    ? null
    : h(
        'select',
        { name: 'lead', required: true },
        iGo ? null : h('option', { value: '' }, '— choose who is going —'),
        leads.map((x) =>
          h(
            'option',
            { value: x.id, selected: x.id === myId },
            x.id === myId ? `${x.displayName} (me)` : x.displayName,
          ),
        ),
      );
  const leadId = () => fixedLead ?? lead.value;
  // One flat list of options (replaceChildren takes nodes, not a nested array).
  const partnerOptions = () => [
    h('option', { value: '' }, '— nobody —'),
    ...d.staff.filter((x) => x.id !== leadId()).map((x) => h('option', { value: x.id }, x.displayName)),
  ];
  const partner = h('select', { name: 'partner' }, partnerOptions());
  const ret = h('input', { type: 'time', name: 'expectedReturn', required: true });
  // Where the pack asks the office to know it (King's Gomer): when the worker expects to arrive.
  const arrive = d.rules.requires.arrivalEstimate
    ? h('input', { type: 'time', name: 'estimatedArrival', required: true })
    : null;
  // The policy's interval is a maximum: a shorter one may be chosen, never a longer one.
  const every = h('input', {
    type: 'number',
    name: 'checkInMinutes',
    min: 5,
    max: d.rules.checkInMinutes ?? 240,
    value: d.rules.checkInMinutes ?? '',
  });
  // The worker's number: mine when I am the one going; for someone else, left empty the register
  // takes the number on their account (never the office's).
  const phone = h('input', {
    type: 'tel',
    name: 'phone',
    autocomplete: 'tel',
    value: leadId() === myId ? (d.me.phone ?? '') : '',
    required: d.rules.requires.phone && leadId() === myId,
  });
  const phoneHint = () =>
    leadId() === myId
      ? 'The office calls this number if you are late or miss a check-in'
      : 'Leave empty to use the number on their account: the office calls it if they are late or miss a check-in';
  // "(needed)" only where the form needs it typed: for someone else, their account's number serves.
  const phoneLabel = () => `Phone while out${phone.required ? ' (needed)' : ''}`;
  const phoneField = field(phoneLabel(), phone, phoneHint());
  lead?.addEventListener('change', () => {
    const kept = partner.value;
    partner.replaceChildren(...partnerOptions());
    partner.value = kept !== lead.value ? kept : '';
    phone.value = lead.value === myId ? (d.me.phone ?? '') : '';
    phone.required = d.rules.requires.phone && lead.value === myId;
    phoneField.querySelector('.hint').textContent = phoneHint();
    phoneField.querySelector('label').textContent = phoneLabel();
  });
  const car = ['make', 'model', 'registration', 'colour'].map((k) =>
    h('input', { type: 'text', name: `vehicle-${k}`, id: `f-vehicle-${k}`, autocomplete: 'off' }),
  );
  const onFoot = h('input', { type: 'checkbox', name: 'onFoot', id: 'f-onFoot' });
  // Thames View 2.9 "All vehicles must have the required up-to-date insurance": confirmed with the
  // vehicle, never assumed (the server refuses a vehicle without it and the Needed list says so).
  const insured = h('input', { type: 'checkbox', name: 'vehicleInsured', id: 'f-vehicle-insured' });
  const safe = h('input', {
    type: 'text',
    name: 'safeWord',
    autocomplete: 'off',
    required: d.rules.safeWord === 'required',
  });
  const read = h('input', { type: 'checkbox', name: 'risksRead', id: 'f-risksRead' });
  // Where the pack asks (Hampton's badges on show, King's photo ID): confirmed, never assumed.
  const idCard = d.rules.requires.identification
    ? h('input', { type: 'checkbox', name: 'identification', id: 'f-identification' })
    : null;
  /** The departure as the form has it now (`back`: the return instant, when one is chosen). */
  const draft = (back) => {
    const vehicle = Object.fromEntries(car.map((c) => [c.name.slice('vehicle-'.length), c.value.trim()]));
    const arrivalAt = arrive ? arrivalTimeAt(arrive.value) : undefined;
    return {
      ...(lead?.value ? { leadUserId: lead.value } : {}),
      partnerUserId: partner.value || undefined,
      ...(back ? { expectedReturnAt: back.toISOString() } : {}),
      ...(arrivalAt ? { estimatedArrivalAt: arrivalAt.toISOString() } : {}),
      checkInMinutes: every.value ? Number(every.value) : undefined,
      safeWord: safe.value || undefined,
      risksRead: read.checked,
      ...(idCard?.checked ? { identification: true } : {}),
      phone: phone.value.trim() || undefined,
      ...(d.rules.requires.vehicle && !onFoot.checked && Object.values(vehicle).every(Boolean)
        ? { vehicle: insured.checked ? { ...vehicle, insuranceConfirmed: true } : vehicle }
        : {}),
      ...(onFoot.checked ? { onFoot: true } : {}),
    };
  };
  // "Leave for the visit" is offered only while the server's check finds nothing it would be refused
  // for (and no field of the form is refused): never pressed to be told a long list in red. Held, it
  // is aria-disabled, not disabled: still reached by the keyboard and read out with why (`leave-why`);
  // pressed, it asks the check again and leaves when nothing holds it any more.
  const leave = h(
    'button',
    { type: 'submit', class: 'primary', id: 'leave', 'aria-describedby': 'leave-why' },
    'Leave for the visit',
  );
  const leaveWhy = h('p', { id: 'leave-why', class: 'hint', hidden: true });
  /** The form's inputs by the field names the API gives them (a refusal names one of these). */
  const inputOf = {
    leadUserId: lead,
    partnerUserId: partner,
    expectedReturnAt: ret,
    estimatedArrivalAt: arrive,
    checkInMinutes: every,
    safeWord: safe,
    phone,
    risksRead: read,
    identification: idCard,
  };
  const labelOf = (input) => input?.labels?.[0]?.textContent ?? 'the form';
  /** Says why `input` is refused, under it (null: clears it). */
  const refuse = (input, text) => {
    const box = input.closest('.field');
    let said = box?.querySelector('.error');
    if (!text) {
      said?.remove();
      input.removeAttribute('aria-invalid');
      return;
    }
    if (!said && box) {
      said = h('p', { class: 'error', id: `${input.id}-error`, role: 'alert' });
      input.after(said);
      input.setAttribute('aria-errormessage', said.id);
    }
    if (said) said.textContent = text;
    input.setAttribute('aria-invalid', 'true');
  };
  const held = () => leave.getAttribute('aria-disabled') === 'true';
  const holdLeave = (findings, refused) => {
    const blocked = findings.some((f) => f.level === 'block');
    const hold = blocked || refused.length > 0;
    if (hold) leave.setAttribute('aria-disabled', 'true');
    else leave.removeAttribute('aria-disabled');
    leaveWhy.hidden = !hold;
    if (hold) watchHeldLeave();
    leaveWhy.replaceChildren(
      ...(refused.length
        ? [`Not yet: correct ${refused.map(labelOf).join(', ')} above.`]
        : blocked
          ? [
              'Not yet: leaving waits for what is ',
              h('a', { href: '#departure-findings' }, '“Needed”'),
              ' in the list above.',
            ]
          : []),
    );
  };
  holdLeave(d.findings ?? [], []);
  // The "Needed" list follows the form: the server's own departure checks, asked again as it changes.
  // A field the server refuses (a check-in interval under 5) is said under it, and the list is asked
  // for again without it — never left as it was, asking for what the form has since given.
  let asked = 0;
  let timer;
  /** A press of a held Leave, sent on once the check finds nothing holding it (or cannot be asked). */
  let pressing = false;
  /** A held press is asking the check again (further presses wait for its answer). */
  let asking = false;
  /** Leaving is being sent: no check is asked meanwhile, nor after it left (the form goes). */
  let leaving = false;
  /** Asks the check for the form as it is now; whether it answered (and the answer is the latest). */
  const check = async () => {
    // Gone from the page (left for the visit, or no longer offered): nothing to check — a departed
    // visit is not asked whether it may depart.
    if (!departing.isConnected || leaving) return false;
    const n = ++asked;
    const t = returnTimeAhead(ret.value);
    const body = draft(t.at);
    if (Number.isNaN(body.checkInMinutes)) delete body.checkInMinutes;
    const refused = [];
    // A return time typed but not one the form takes (just passed, too far ahead): said by it.
    if (ret.value && t.error) refused.push([ret, t.error]);
    for (let tries = 0; tries < 5; tries++) {
      try {
        const r = await api('POST', `/api/visits/${visitId}/departure-check`, body);
        if (n !== asked) return false;
        for (const input of Object.values(inputOf))
          if (input && !refused.some(([x]) => x === input)) refuse(input, null);
        for (const [input, text] of refused) refuse(input, text);
        showFindings(r.findings);
        holdLeave(
          r.findings,
          refused.map(([input]) => input),
        );
        return true;
      } catch (err) {
        // Refused for one field (400 "checkInMinutes: …"): said by it; the rest checked again.
        const m = err.status === 400 ? /^([A-Za-z]+)(?:\.[\w.]+)?: (.*)$/.exec(err.message) : null;
        if (!m || !(m[1] in body)) return false; // no connection: the next change asks again
        delete body[m[1]];
        const input = inputOf[m[1]] ?? null;
        if (input) refused.push([input, m[2]]);
        else if (n === asked) say(msg, err.message, true);
      }
    }
    return false;
  };
  const recheck = () => {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  };
  const departing = h(
    'form',
    {
      id: 'depart',
      oninput: recheck,
      onchange: recheck,
      onrecheck: recheck,
      onsubmit: async (e) => {
        e.preventDefault();
        const form = e.target;
        // Not sent: the form keeps what was typed through the page's re-reads (a submit unmarks it).
        const keep = () => {
          form.dataset.dirty = 'true';
        };
        // Pressed while held: the check is asked again now (what held it may have been cleared by
        // someone else, or by time). Still held: why is said. Else — or no answer — it leaves, sent
        // as a press of Leave (the server refuses anyway if something holds it).
        if (held() && !pressing) {
          keep();
          // A second press while the first is still asking is the same press: it would be sent twice.
          if (asking) return;
          asking = true;
          clearTimeout(timer);
          let answered;
          try {
            answered = await check();
          } finally {
            asking = false;
          }
          if (answered && held()) return say(msg, leaveWhy.textContent, true);
          pressing = true;
          try {
            form.requestSubmit(leave);
          } finally {
            pressing = false;
          }
          return;
        }
        // The time's next occurrence on the London clock, within 4 hours: one just passed is refused here.
        const back = checkedReturnTime(ret);
        if (!back) return keep();
        if (lead && !lead.value) {
          keep();
          lead.focus();
          return say(msg, 'Choose who is going: the worker out on the visit is watched, not you.', true);
        }
        // Out of hours the office's screen alone may watch them (the server's answer says): then
        // whom to phone, never "the office knows where you are".
        const self = !lead || [lead.value, partner.value].includes(myId);
        // Refused (or not sent): the list is asked again for the form as it is. Left: nothing to ask —
        // a re-check set by the last change (the field left as Leave was pressed) is dropped.
        clearTimeout(timer);
        leaving = true;
        let left = false;
        try {
          left = await post('depart', draft(back), (answer) => recordedWords(answer, 'departed', { self }));
        } finally {
          leaving = false;
        }
        if (!left) recheck();
      },
    },
    h('h2', {}, 'Leaving now'),
    lead
      ? field(
          'Who is going (the lead)',
          lead,
          'Nobody leads this visit yet: the person going is the one the office watches',
        )
      : null,
    field(`Going with${d.rules.pairs === 'always' ? ' (required: two staff)' : ''}`, partner),
    arrive
      ? field('Arriving at about', arrive, 'The policy asks the office to know when you expect to arrive')
      : null,
    field('Expected back at', ret),
    field(
      'Check in every (minutes)',
      every,
      d.rules.checkInMinutes
        ? `Policy: at least every ${d.rules.checkInMinutes} minutes`
        : 'Leave empty for no timed check-ins',
    ),
    field(`Safe word${d.rules.safeWord === 'required' ? ' (required)' : ''}`, safe),
    phoneField,
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
            insured,
            h(
              'label',
              { for: 'f-vehicle-insured' },
              'This vehicle has the required up-to-date insurance (for business use)',
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
    idCard
      ? h(
          'div',
          { class: 'field check' },
          idCard,
          h('label', { for: 'f-identification' }, 'I carry my identification (ID badge on show, photo ID)'),
        )
      : null,
    leaveWhy,
    leave,
  );
  return departing;
}

/**
 * Leaving, on a visit nobody leads, for visiting staff: they say they are going first (the form in
 * the pupil's flags, `goingForm`), and the departure form then starts with them as its lead.
 */
export function goingFirst(d, can) {
  return h(
    'section',
    { id: 'leaving', 'aria-labelledby': 'leaving-h' },
    h('h2', { id: 'leaving-h' }, 'Leaving now'),
    h(
      'p',
      {},
      can('go-on-visit')
        ? "Nobody leads this visit yet. Going on it? Say so first — the pupil's flags and the family's contacts are shown to you then, before you leave:"
        : 'Nobody leads this visit yet.',
    ),
    can('go-on-visit') ? goingForm(d) : null,
  );
}

/** The lead is not going after all: nobody leads the visit again (its lead, or the office for them). */
export function notGoingForm(d) {
  const mine = d.visit.leadUserId === page.s.user.id;
  return h(
    'form',
    {
      id: 'not-going',
      onsubmit: (e) => {
        e.preventDefault();
        post('not-going', {}, 'Nobody leads this visit now: whoever goes says so.');
      },
    },
    h(
      'button',
      { type: 'submit' },
      mine
        ? 'I am not going on this visit after all'
        : `${d.leadName ?? 'The lead'} is not going: take them off it`,
    ),
  );
}

export function outcomeForm(d) {
  const seen = (v, label) =>
    h(
      'label',
      { class: 'radio' },
      h('input', {
        type: 'radio',
        name: 'seen',
        value: v,
        required: true,
        onchange: () => {
          slipLine.hidden = v !== 'nobody';
        },
      }),
      ` ${label}`,
    );
  const spoke = h('input', { type: 'text', name: 'spokeTo' });
  // The record says a slip was left only when the staff say so (Hampton's policy asks for one).
  const slip = h('input', { type: 'checkbox', id: 'f-slipLeft', name: 'slipLeft' });
  // Offered once "No one home" is chosen (it says nothing of a visit where someone answered).
  const slipLine = h(
    'p',
    { class: 'slip', hidden: true },
    slip,
    h('label', { for: 'f-slipLeft' }, ' I left a “sorry you weren’t in” slip'),
  );
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
            ...(choice === 'nobody' && slip.checked ? { slipLeft: true } : {}),
            spokeTo: spoke.value || undefined,
            agreements: lines(agreements.value),
            concerns: lines(concerns.value),
            followUp: lines(follow.value).map((l) => {
              const [action, by] = l.split(/\s+[—-]\s+/);
              return { action, by: by ?? page.s.user.displayName };
            }),
          },
          outcomeSaid(d.outcomeRecordsTo, {
            typed: lines(concerns.value).length > 0,
            told: d.concernsTold !== false,
          }),
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
      slipLine,
    ),
    field('Spoke to', spoke, 'e.g. mother'),
    field('Agreements', agreements, 'One per line'),
    field('Concerns', concerns, 'One per line'),
    field('Follow-up', follow, 'One per line: action — who'),
    h('button', { type: 'submit', class: 'primary' }, 'Submit outcome'),
  );
  return form;
}

export function followUpForm() {
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

/**
 * "Raise a concern now": straight to the people the school names and into its records — about the
 * child (the safeguarding team), or an incident of aggression, violence or threat towards staff (the
 * people the school names for incidents).
 */
export function concernForm() {
  const text = h('textarea', {
    name: 'concern',
    id: 'concern-text',
    required: true,
    maxlength: 4000,
    rows: 3,
  });
  const child = h('input', { type: 'radio', name: 'concernAbout', value: 'child', checked: true });
  const incidentBox = h('input', { type: 'radio', name: 'concernAbout', value: 'incident' });
  const about = (input, label) => h('label', { class: 'radio' }, input, ` ${label}`);
  // One id per concern, the same on every retry of the same words: an answer lost on a poor signal
  // and sent again finds the first, never a second record and notice. Other words are another concern.
  let sending = null;
  return h(
    'details',
    { id: 'concern' },
    h('summary', {}, 'Raise a concern now'),
    h(
      'form',
      {
        id: 'concern-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { concern: text.value, about: incidentBox.checked ? 'incident' : 'child' };
          if (sending?.concern !== body.concern || sending?.about !== body.about)
            sending = { ...body, sendId: newPressId() };
          await post('concern', sending, (a) => concernSaid(a, sending.about === 'incident'));
        },
      },
      h(
        'fieldset',
        {},
        h('legend', {}, 'About'),
        about(child, 'the child (their welfare or safety)'),
        about(incidentBox, 'aggression, violence or threat towards staff'),
      ),
      field('What happened or worries you (sent at once)', text),
      h('button', { type: 'submit', class: 'danger' }, 'Send the concern now'),
    ),
  );
}

export function cancelForm(d) {
  const reason = h('input', { type: 'text', name: 'cancelReason', required: true });
  return h(
    'details',
    { id: 'cancel' },
    h('summary', {}, 'Cancel this visit'),
    h(
      'form',
      {
        id: 'cancel-form',
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

/**
 * What the page says once a concern is in: the truth of it — whether anyone is being told, and
 * whether the record went to the school's records or is held while records are in preview. Told no
 * one (the school names no one for it), it says so loudly: phone them now.
 */
export function concernSaid(answer, incident) {
  const what = incident ? 'Incident' : 'Concern';
  const records =
    answer?.recordsInPreview === true
      ? "Kept for the school's records (not sent: Doorstep's records are still in preview)."
      : "Sent into the school's records.";
  const n = answer?.notified ?? 0;
  if (n === 0)
    return {
      text: `${what} recorded, but the school names no one to be told of it: phone the ${incident ? 'school' : 'DSL'} now. ${records}`,
      alert: true,
    };
  return `${what} sent to the people the school names for ${incident ? 'incidents' : 'concerns'}. ${records}`;
}
