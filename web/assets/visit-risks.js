import { api, bdi, fmtDateTime, h, say } from './app.js';
import { field, msg, page, post } from './visit-shared.js';
import { riskUnassessedSaid } from './visit-words.js';

// Before the visit: the risk level and notes, the address flags (and flagging an address), the risk
// assessment and the pupil's flags.

export function risks(d) {
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
        : riskUnassessedSaid(d.rules.risk),
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
              page.s.user.roles.some((r) => r === 'safeguarding' || r === 'admin') ? removeFlagForm(f) : null,
            ),
          ),
        )
      : h('p', {}, 'No flags on this address.'),
    page.s.user.roles.some((r) => r === 'safeguarding' || r === 'admin') ? flagForm(d) : null,
    d.visit.status === 'requested' || d.visit.status === 'authorised' ? findingsList(d.findings) : null,
  );
}

const findingItems = (findings) =>
  findings.map((f) =>
    h(
      'li',
      { 'data-rule': f.rule, class: f.level },
      h('strong', {}, f.level === 'block' ? 'Needed: ' : 'Note: '),
      f.message,
    ),
  );

/**
 * What leaving would be refused for (Needed) or warned of (Note), exactly as the server's departure
 * checks say: from the visit's answer, then again from `departure-check` as the form is filled in.
 */
export function findingsList(findings) {
  return h(
    'ul',
    { id: 'departure-findings', class: 'findings', hidden: findings.length === 0 },
    findingItems(findings),
  );
}

/** The list again, from a fresh answer of the server's departure checks. */
export function showFindings(findings) {
  const list = document.getElementById('departure-findings');
  if (!list) return;
  list.replaceChildren(...findingItems(findings));
  list.hidden = findings.length === 0;
}

/**
 * The school's policy says no visit at this risk level: in place of the leaving form, that it cannot
 * go ahead, the policy's own words and what to do instead — all as the server says them (`riskRefusal`).
 */
export function riskRefused(r) {
  return h(
    'section',
    { id: 'risk-refused', class: 'warning', 'aria-labelledby': 'risk-refused-h' },
    h('h2', { id: 'risk-refused-h' }, `This visit cannot go ahead: the risk is ${r.level.toUpperCase()}`),
    r.policy ? h('blockquote', {}, r.policy) : null,
    h(
      'ol',
      {},
      r.steps.map((step) => h('li', {}, step)),
    ),
  );
}

/** The level and why: an assessor's decision (audited). */
export function riskFields(prefix) {
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

/** The address flags the page shows: an assessment names them, so one recorded since is read first. */
export const flagsSeen = (d) => (d.addressFlags ?? []).map((f) => f.id);

/**
 * The risk assessment. Not assessed yet: the form. Assessed: what was recorded (in "Before you go"
 * above), and "Reassess the risk" opening the form with it filled in, saying the new one replaces it.
 * Either way the page sends which assessment it showed (`replaces`): one made since is refused.
 */
export function riskForm(d) {
  const v = d.visit;
  const r = riskFields('risk');
  const earlier = v.riskAssessedAt;
  if (earlier) {
    r.level.value = v.riskLevel;
    r.reason.value = v.riskReason ?? '';
  }
  const form = h(
    'form',
    {
      id: 'assess-risk',
      onsubmit: (e) => {
        e.preventDefault();
        post(
          'assess-risk',
          {
            level: r.level.value,
            reason: r.reason.value,
            flagsSeen: flagsSeen(d),
            replaces: earlier ?? null,
          },
          earlier
            ? `Risk reassessed: ${r.level.value.toUpperCase()} replaces the assessment of ${fmtDateTime(earlier)}.`
            : 'Risk assessed.',
        );
      },
    },
    earlier ? null : h('h2', {}, 'Assess the risk'),
    earlier
      ? h(
          'p',
          { class: 'hint', id: 'reassess-replaces' },
          `This replaces the assessment of ${fmtDateTime(earlier)} (${v.riskLevel.toUpperCase()}${v.riskReason ? `: ${v.riskReason}` : ''}); the audit keeps both.`,
        )
      : null,
    r.fields,
    h('button', { type: 'submit' }, earlier ? 'Record the new assessment' : 'Record the risk assessment'),
  );
  if (!earlier) return form;
  return h(
    'details',
    { id: 'reassess-risk' },
    h('summary', {}, `Reassess the risk (assessed ${v.riskLevel.toUpperCase()}, ${fmtDateTime(earlier)})`),
    form,
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
export function pupilFlags(d) {
  if (!d.pupil) return null;
  // Visiting staff see them on a visit they go on, once someone has cleared it to go (the server says).
  if (d.pupilDetailsWithheld)
    return h(
      'section',
      { id: 'pupil-flags', 'aria-labelledby': 'pupil-flags-h' },
      h('h2', { id: 'pupil-flags-h' }, 'Pupil flags'),
      h('p', { class: 'hint', id: 'pupil-flags-hint' }, withheldWords(d)),
      // Nobody leads it yet: say you are going now, not on the departure form — the flags and the
      // contacts are then read before "I have read the risk notes" is ticked, not once out.
      d.actions.includes('go-on-visit') && !d.mayNameLead ? goingForm(d) : null,
    );
  const mis = Object.entries(d.pupil.flags ?? {})
    .filter(([, on]) => on === true)
    .map(([k]) => FLAG_NAMES[k] ?? k);
  const manual = d.pupil.manualFlags?.welfareConcern;
  const mayChange = page.s.user.roles.includes('safeguarding');
  const reason = h('input', { type: 'text', name: 'concernReason', id: 'f-concernReason', required: true });
  return h(
    'section',
    { id: 'pupil-flags', 'aria-labelledby': 'pupil-flags-h' },
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
                await page.load();
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

/**
 * Why the pupil's flags and the family's contacts are not shown, and what would show them: the
 * server says whether they would be shown now to someone going (`pupilDetailsIfGoing`: the visit is
 * cleared to go), and the page says whether this person goes.
 */
function withheldWords(d) {
  const v = d.visit;
  const me = page.s.user.id;
  const going = v.leadUserId === me || v.partnerUserId === me;
  const once = 'once the visit is authorised or its risk assessed';
  if (going) return `The pupil's flags and the family's contacts are shown to you ${once}.`;
  if (d.actions.includes('go-on-visit') && !d.mayNameLead)
    return d.pupilDetailsIfGoing
      ? "The pupil's flags and the family's contacts are shown only to the people going on the visit. Going on it? Say so now to read them before you leave:"
      : `The pupil's flags and the family's contacts are shown only to the people going on the visit, ${once}. Going on it? Say so now, and read them here before you leave:`;
  return "The pupil's flags and the family's contacts are shown only to the people going on the visit.";
}

/** "I'll go on this visit": the person is named as its lead (the server's `go-on-visit`). */
export function goingForm(d) {
  return h(
    'form',
    {
      class: 'go-on-visit',
      onsubmit: (e) => {
        e.preventDefault();
        post(
          'go-on-visit',
          {},
          d.pupilDetailsIfGoing
            ? "You are going on this visit: read the pupil's flags and the family's contacts below before you leave."
            : "You are going on this visit: the pupil's flags and the family's contacts are shown here once it is authorised or its risk assessed.",
        );
      },
    },
    h('button', { type: 'submit', class: 'primary' }, "I'll go on this visit"),
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
            await page.load();
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
            await page.load();
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
