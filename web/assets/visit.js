import { api, bdi, fmtDateTime, fmtTime, h, header, me, replaceKeepingInput, say } from './app.js';
import { agreementsPart, appointmentForm } from './visit-agreements.js';
import { familyNotice } from './visit-family.js';
import {
  authoriseForm,
  cancelForm,
  commutePart,
  concernForm,
  dateForm,
  departForm,
  followUpForm,
  goingFirst,
  notGoingForm,
  outcomeForm,
  outOfHoursForm,
} from './visit-forms.js';
import { afterBack, keepFresh, lateNoticeButton, outParts, parentLateNote } from './visit-out.js';
import { pupilFlags, riskForm, riskRefused, risks } from './visit-risks.js';
import { content, msg, page, visitId } from './visit-shared.js';
import { statusLabel } from './visit-words.js';

// The visit page (made for a phone): what to know before leaving, leaving, check-ins, coming back,
// the outcome form (→ the CPOMS visit-outcome record) and the "sorry you weren't in" slip. This file
// puts the page together from what the server answers; the parts are in visit-*.js.

/** How long a read of the visit may take before it counts as no connection. */
const READ_TIMEOUT_MS = 15_000;

/** `bounded`: a re-read while out (a hung server is then said as no connection); the first read waits. */
async function load(bounded = false) {
  // Bounded: a server that hangs (or a phone whose signal holds the request open) is a failed read
  // after 15 s, so "NO CONNECTION TO DOORSTEP" says so — never a page that looks watched while not.
  const d = await api(
    'GET',
    `/api/visits/${visitId}`,
    undefined,
    bounded ? { timeoutMs: READ_TIMEOUT_MS } : {},
  );
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
      h('span', { class: 'badge' }, statusLabel(v)),
      ` planned for ${v.plannedFor}`,
      // A day the school is closed (asked for and confirmed as such): said by the date, every time.
      d.plannedDayClosed
        ? h('strong', { id: 'planned-closed' }, ` (not a school day: ${d.plannedDayClosed})`)
        : null,
      ` · ${v.reason}`,
    ),
    h('p', {}, h('strong', {}, 'Address: '), addr),
    d.trigger
      ? h(
          'p',
          { id: 'visit-trigger' },
          h('strong', {}, 'Why: '),
          `${d.trigger.title} — ${d.trigger.explanation}`,
          // The first day counted, unless the sentence already gives it.
          d.trigger.firstDay && !d.trigger.explanation.includes(d.trigger.firstDay)
            ? ` (first day counted ${d.trigger.firstDay})`
            : '',
        )
      : null,
    d.pupilUrl
      ? h(
          'p',
          {},
          h(
            'a',
            { href: d.pupilUrl, id: 'pupil-evidence' },
            'Attendance, triggers and visits (the evidence)',
          ),
        )
      : null,
    d.chronologyUrl ? h('p', {}, h('a', { href: d.chronologyUrl }, "The pupil's chronology")) : null,
    pupilFlags(d),
    // The family's contacts under their own heading (not under the pupil's flags above them).
    d.contacts.length
      ? h(
          'section',
          { id: 'contacts', 'aria-labelledby': 'contacts-h' },
          h('h2', { id: 'contacts-h' }, 'Contacts'),
          h(
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
          ),
        )
      : null,
  ];
  if (v.followsVisitId)
    parts.push(
      h(
        'p',
        {},
        'Follow-up of ',
        h('a', { href: `/visits/${v.followsVisitId}` }, `visit ${v.followsVisitId}`),
        '.',
      ),
    );
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
    // Assessed at authorisation: once authorised, an assessor amends it here (a new flag asks for it).
    if (can('assess-risk') && (d.rules.risk.at !== 'authorisation' || v.status === 'authorised'))
      parts.push(riskForm(d));
    parts.push(commutePart(d, can));
    if (d.rules.familyNotice) parts.push(familyNotice(d, can('tell-family')));
    if (can('set-appointment')) parts.push(appointmentForm(d));
    // Thames View 3.5: the parent phones the school before the visit leaves (on its day): once
    // recorded, the page says so to the pair before they go.
    if (d.parentLateNotice)
      parts.push(h('div', { id: 'door' }, parentLateNote(d.parentLateNotice, d.rules.appointments)));
    else if (can('parent-running-late'))
      parts.push(h('div', { id: 'door' }, lateNoticeButton(d.rules.appointments)));
    if (can('change-date')) parts.push(dateForm(d));
    if (can('authorise')) parts.push(authoriseForm(d, can));
    if (can('approve-out-of-hours')) parts.push(outOfHoursForm(d));
    // Visiting staff say they are going before the departure form ("I'll go on this visit"): the
    // pupil's flags and the family's contacts are then read before they confirm they have read them.
    // Until then the server does not let them leave (no `depart`); `departsIfGoing` says they could
    // once they say so. The office names whoever goes on the form itself.
    // The policy says no visit at this risk level: no leaving form, but what to do instead (the server's words).
    if (d.riskRefusal) parts.push(riskRefused(d.riskRefusal));
    else if (can('depart')) parts.push(departForm(d));
    else if (d.departsIfGoing) parts.push(goingFirst(d, can));
    if (can('not-going')) parts.push(notGoingForm(d));
  }
  if (d.out) {
    // While out, the banner, "I need help" / Call the office / Call 999 and the big buttons (check
    // in, arrived, back safe) come first: on a small phone they are never below the pupil's details.
    const [banner, actions, big, ...rest] = outParts(d, can);
    parts.unshift(banner, actions, big);
    parts.push(...rest);
  } else if (can('resume-watch')) parts.unshift(afterBack(d, can));
  // The slip stays reachable from leaving until the outcome is done (and after, when no one was home),
  // for those the server lets print it (`print-slip`: the visiting staff and the office).
  if (can('print-slip') && v.departedAt && (!v.outcome || v.outcome.noOneHome))
    parts.push(
      h('p', {}, h('a', { href: `/visits/${v.id}/slip` }, 'Print the "sorry you weren\'t in" slip')),
    );
  if (v.status === 'returned') parts.push(h('p', {}, `Back safe at ${fmtTime(v.returnedAt)}.`));
  if (can('record-outcome')) parts.push(outcomeForm(d));
  if (v.outcome) {
    const o = v.outcome;
    parts.push(
      h(
        'p',
        { id: 'outcome-summary' },
        `${v.status === 'completed' ? `Completed ${fmtDateTime(v.completedAt)}` : 'Outcome recorded'}: ${o.noOneHome ? 'no one home' : o.childSeen ? 'child seen' : 'child NOT seen'}.`,
      ),
    );
    // What was recorded, as it went to the records: who was spoken to, the concerns and follow-up.
    const facts = [
      o.spokeTo ? [h('dt', {}, 'Spoke to'), h('dd', {}, bdi(o.spokeTo))] : null,
      o.concerns?.length
        ? [
            h('dt', {}, 'Concerns'),
            h(
              'dd',
              {},
              h(
                'ul',
                {},
                o.concerns.map((c) => h('li', {}, c)),
              ),
            ),
          ]
        : null,
      o.followUp?.length
        ? [
            h('dt', {}, 'Follow-up'),
            h(
              'dd',
              {},
              h(
                'ul',
                {},
                o.followUp.map((f) => h('li', {}, `${f.action} — ${f.by}`)),
              ),
            ),
          ]
        : null,
    ].filter(Boolean);
    if (facts.length) parts.push(h('dl', { class: 'facts', id: 'outcome-details' }, facts));
    // Withheld by the server (a visit asked for, not gone on): say so, never leave a blank that
    // reads as "no concerns".
    else if (o.detailsWithheld)
      parts.push(
        h(
          'p',
          { class: 'hint', id: 'outcome-details' },
          'Who was spoken to, the concerns and the follow-up are shown to the people who went on the visit, the office and safeguarding.',
        ),
      );
    if (o.agreements?.length) parts.push(agreementsPart(d, can('agreement-broken')));
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
          // A missed check-in a person resolved restarts the clock: said so, never as a check-in.
          d.checkIns.map((c) =>
            h(
              'li',
              {},
              `${fmtTime(c.at)} (${c.source === 'resolution' ? 'missed check-in resolved' : c.source})`,
            ),
          ),
        ),
      ),
    );
  replaceKeepingInput(content, parts);
  // A departure form kept half filled in: the fresh "Needed" list is for an empty form, so ask again.
  const depart = document.getElementById('depart');
  if (depart?.dataset.dirty) depart.dispatchEvent(new Event('recheck'));
  // Re-read while out, and while back safe can still be undone (its banner follows the office — an
  // "I need help" asked from it, a back safe someone else said; the button goes when the server no
  // longer offers it).
  keepFresh(d.out || d.actions.includes('resume-watch'), d.office);
}

page.load = load;

async function main() {
  page.s = await me();
  header(page.s);
  await load();
}

// A visit that does not exist (or is not this person's to see) is a page saying so, with the way back.
function notFound() {
  document.querySelector('h1').replaceChildren('Visit not found');
  content.replaceChildren(
    h(
      'p',
      {},
      `There is no visit ${visitId} that you can see: the link may be wrong, or the visit is not yours.`,
    ),
    h('p', {}, h('a', { href: '/visits' }, 'Back to the visits')),
  );
}

main().catch((e) => (e.status === 404 ? notFound() : say(msg, e.message, true)));
