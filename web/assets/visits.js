import { api, bdi, fmtTime, h, isolate, londonToday, say, startSchoolPage } from './app.js';
import { closedDayBox } from './closed-day.js';
import { registerExport } from './register-export.js';
import { statusLabel } from './visit-words.js';

// The visit register: the day's visits, asking for a visit by hand (pupil from the MIS), and — where
// the policy says so — signing the day's list at once.

const msg = document.getElementById('message');
const content = document.getElementById('content');
let s;
let school;
let date = londonToday();
/** The export's section as the person left it (null: as the screen's width has it). */
let exportOpen = null;

function requestForm() {
  const q = h('input', {
    type: 'search',
    id: 'pupil-search',
    name: 'q',
    autocomplete: 'off',
    'aria-describedby': 'pupil-search-hint',
  });
  const pick = h(
    'select',
    { id: 'pupil', name: 'pupilMisId', required: true },
    h('option', { value: '' }, '— search first —'),
  );
  const reason = h('input', { type: 'text', id: 'reason', name: 'reason', required: true });
  // From school and back, or on the way to or from work (some schools' policies ask for approval first).
  // A journey to or from work is the asker's own: offered to visiting staff, who lead what they ask for
  // (the server refuses one with nobody leading it).
  const ownJourney = Boolean(s?.user.roles.includes('visiting-staff'));
  const commute = h(
    'select',
    { id: 'commute', name: 'commute' },
    h('option', { value: '' }, 'from school, back to school'),
    h('option', { value: 'to-work' }, 'from home, on the way to work'),
    h('option', { value: 'from-work' }, 'after work, on the way home'),
  );
  const planned = h('input', { type: 'date', id: 'planned', name: 'plannedFor', value: date });
  // A day the school is closed: the server asks to confirm it (409); the box is then offered.
  const closed = closedDayBox('planned-closed', planned);
  const risk = h(
    'select',
    { id: 'risk', name: 'riskLevel', required: true },
    // Nothing preselected (as on the board): the person asking says how risky it looks.
    h('option', { value: '' }, '— choose —'),
    ['low', 'minor', 'major'].map((x) => h('option', { value: x }, x)),
  );
  const notes = h('textarea', { id: 'risk-notes', name: 'riskNotes', rows: 2 });
  // The visit's address: the MIS's, unless typed here — required when the MIS has none.
  const line1 = h('input', { type: 'text', id: 'addr-line1', name: 'line1', maxlength: 200 });
  const line2 = h('input', { type: 'text', id: 'addr-line2', name: 'line2', maxlength: 200 });
  const town = h('input', { type: 'text', id: 'addr-town', name: 'town', maxlength: 100 });
  const postcode = h('input', { type: 'text', id: 'addr-postcode', name: 'postcode', maxlength: 10 });
  const addrHint = h('p', { class: 'hint', id: 'addr-hint' }, 'Pick the pupil first.');
  // The family's adults, those with parental responsibility first (the MIS's record of it).
  const family = h('div', { id: 'request-contacts', 'aria-live': 'polite' });
  const known = new Map();
  // The pupil page (attendance, triggers and their evidence, visits) for those who may open it.
  const mayReadPupils = ['office', 'safeguarding', 'admin'].some((r) => s?.user.roles.includes(r));
  const evidence = h('p', { id: 'pupil-evidence', hidden: true });
  const contactsOf = new Map();
  const showContacts = () => {
    if (!pick.value) return family.replaceChildren();
    const list = contactsOf.get(pick.value) ?? null;
    // Visiting staff are not given the family's contacts by the search: the visit's page shows them
    // to the people going, once the visit is authorised.
    if (list === null)
      return family.replaceChildren(
        h(
          'p',
          { class: 'hint' },
          "The family's contacts are on the visit's page for the people going, once it is authorised.",
        ),
      );
    const pr = list.filter((c) => c.parentalResponsibility === true);
    const others = list.filter((c) => c.parentalResponsibility !== true);
    const item = (c) => h('li', {}, bdi(c.name ?? 'unnamed'), ' (', bdi(c.relationship ?? 'contact'), ')');
    // (replaceChildren writes a null as the text "null": the parts left out are dropped first.)
    const parts = [
      h('p', {}, h('strong', {}, 'Family contacts')),
      list.length === 0
        ? h('p', {}, 'The MIS has no contacts for this pupil.')
        : h(
            'p',
            { class: 'hint' },
            pr.length
              ? 'Adults with parental responsibility come first: speak with them about the pupil.'
              : 'The MIS records no one with parental responsibility for this pupil: check before the visit.',
          ),
      pr.length
        ? h('ul', { class: 'contacts', 'aria-label': 'With parental responsibility' }, pr.map(item))
        : null,
      others.length
        ? h(
            'ul',
            { class: 'contacts', 'aria-label': 'Other contacts' },
            others.map((c) =>
              h(
                'li',
                {},
                bdi(c.name ?? 'unnamed'),
                ' (',
                bdi(c.relationship ?? 'contact'),
                ', no parental responsibility recorded)',
              ),
            ),
          )
        : null,
    ];
    family.replaceChildren(...parts.filter((p) => p !== null));
  };
  const showAddressNeed = () => {
    showContacts();
    const a = known.get(pick.value);
    evidence.hidden = !(mayReadPupils && pick.value);
    evidence.replaceChildren(
      pick.value
        ? h(
            'a',
            {
              href: `/pupils/${encodeURIComponent(pick.value)}?school=${encodeURIComponent(school)}`,
              target: '_blank',
            },
            "The pupil's attendance, triggers and visits (opens in a new tab)",
          )
        : '',
    );
    const missing = pick.value !== '' && !a?.hasAddress;
    line1.required = missing;
    postcode.required = missing;
    addrHint.textContent = !pick.value
      ? 'Pick the pupil first.'
      : missing
        ? 'The MIS has no address for this pupil: type the address to visit.'
        : a.address
          ? `Leave empty to visit the MIS address (${[a.address.line1, a.address.postcode].filter(Boolean).join(', ')}).`
          : "Leave empty to visit the pupil's home address as the MIS has it (shown on the visit's page).";
  };
  pick.addEventListener('change', showAddressNeed);
  let t;
  q.addEventListener('input', () => {
    clearTimeout(t);
    t = setTimeout(async () => {
      const r = await api(
        'GET',
        `/api/pupils?school=${encodeURIComponent(school)}&q=${encodeURIComponent(q.value)}`,
      );
      known.clear();
      contactsOf.clear();
      // The office and safeguarding get the address and the family's contacts; visiting staff only
      // whether the MIS has an address.
      for (const p of r.pupils) {
        known.set(p.mis_id, { address: p.address ?? null, hasAddress: p.hasAddress });
        contactsOf.set(p.mis_id, p.contacts ?? null);
      }
      pick.replaceChildren(
        ...(r.pupils.length
          ? r.pupils.map((p) =>
              h(
                'option',
                { value: p.mis_id },
                `${isolate(p.forename)} ${isolate(p.surname)} (${isolate(p.year_group ?? '?')})${
                  p.address?.postcode
                    ? ` — ${isolate(p.address.postcode)}`
                    : p.hasAddress
                      ? ''
                      : ' — no address'
                }`,
              ),
            )
          : [h('option', { value: '' }, 'no pupil found')]),
      );
      showAddressNeed();
    }, 200);
  });
  return h(
    'details',
    { id: 'request' },
    h('summary', {}, 'Request a visit'),
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const r = await api('POST', '/api/visits', {
              school,
              pupilMisId: pick.value || undefined,
              reason: reason.value,
              plannedFor: planned.value,
              riskLevel: risk.value,
              riskNotes: notes.value || undefined,
              commute: (ownJourney && commute.value) || undefined,
              ...closed.confirmed(),
              address: line1.value.trim()
                ? {
                    line1: line1.value.trim(),
                    line2: line2.value.trim() || undefined,
                    town: town.value.trim() || undefined,
                    postcode: postcode.value.trim(),
                  }
                : undefined,
            });
            location.href = `/visits/${r.id}`;
          } catch (err) {
            say(msg, closed.said(err), true);
          }
        },
      },
      h('label', { for: q.id }, 'Find the pupil'),
      h('p', { class: 'hint', id: 'pupil-search-hint' }, 'Name, MIS id or UPN'),
      q,
      h('label', { for: pick.id }, 'Pupil'),
      pick,
      evidence,
      family,
      h(
        'fieldset',
        { 'aria-describedby': addrHint.id },
        h('legend', {}, 'Address to visit'),
        addrHint,
        h('label', { for: line1.id }, 'Address line 1'),
        line1,
        h('label', { for: line2.id }, 'Address line 2'),
        line2,
        h('label', { for: town.id }, 'Town'),
        town,
        h('label', { for: postcode.id }, 'Postcode'),
        postcode,
      ),
      h('label', { for: reason.id }, 'Reason for the visit'),
      reason,
      h('label', { for: planned.id }, 'Planned for'),
      planned,
      closed.line,
      ownJourney ? [h('label', { for: commute.id }, 'Going'), commute] : null,
      h('label', { for: risk.id }, 'Risk level'),
      risk,
      h('label', { for: notes.id }, 'Risk notes'),
      notes,
      h('button', { type: 'submit', class: 'primary' }, 'Request visit'),
    ),
  );
}

async function load() {
  const d = await api('GET', `/api/visits?school=${encodeURIComponent(school)}&date=${date}`);
  const dateInput = h('input', {
    type: 'date',
    id: 'day',
    value: date,
    onchange: () => {
      date = dateInput.value;
      load();
    },
  });
  const parts = [h('div', { class: 'toolbar' }, h('label', { for: 'day' }, 'Day '), dateInput)];
  // The day's list: the button is there when the server says this person may sign at least one
  // visit on it (`sign-list` in its actions), and it signs exactly those, as listed on this page — a
  // visit asked for since the page was read, or one the signer may not sign (their own request), is
  // not signed; the server says which it left and why.
  const signable = d.visits.filter((v) => v.actions.includes('sign-list'));
  if (signable.length)
    parts.push(
      h(
        'p',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            id: 'sign-list',
            onclick: async () => {
              try {
                const r = await api('POST', '/api/visits/sign-list', {
                  school,
                  date,
                  visits: signable.map((v) => ({ id: v.id, version: v.version })),
                });
                const left = r.skipped.length
                  ? ` Not signed: ${r.skipped.map((x) => `visit ${x.id} (${x.why})`).join('; ')}.`
                  : '';
                say(msg, `List signed: ${r.authorised.length} visit(s) authorised.${left}`);
                load();
              } catch (err) {
                say(msg, err.message, true);
              }
            },
          },
          `Sign the list for ${date} (${signable.length} visit${signable.length === 1 ? '' : 's'})`,
        ),
        h(
          'span',
          { class: 'hint' },
          ' Signs: ',
          signable.map((v, i) => [i ? '; ' : '', bdi(v.pupilName), ` — ${v.reason}`]),
        ),
      ),
    );
  if (s.user.roles.some((r) => ['office', 'safeguarding', 'admin'].includes(r)))
    parts.push(
      h(
        'p',
        {},
        h(
          'a',
          { href: `/visits/list?school=${encodeURIComponent(school)}&date=${date}` },
          `Print the list for ${date}`,
        ),
      ),
    );
  parts.push(
    d.visits.length
      ? h(
          'table',
          // Fits a phone's width: its cells wrap rather than the table scrolling sideways unseen, and
          // on a phone each visit stands as a block, its cells named by their `data-label`.
          { class: 'fits stacks' },
          h('caption', {}, `Visits for ${date}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Pupil', 'Reason', 'Status', 'Risk', 'Back'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            d.visits.map((v) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `/visits/${v.id}` }, bdi(v.pupilName))),
                h('td', { 'data-label': 'Reason' }, v.reason),
                h('td', { 'data-label': 'Status' }, statusLabel(v).toLowerCase()),
                h('td', { 'data-label': 'Risk' }, v.riskLevel),
                h(
                  'td',
                  { 'data-label': 'Back' },
                  v.returnedAt
                    ? `back at ${fmtTime(v.returnedAt)}`
                    : v.expectedReturnAt
                      ? `by ${fmtTime(v.expectedReturnAt)}`
                      : '',
                ),
              ),
            ),
          ),
        )
      : h('p', {}, 'No visits for this day.'),
  );
  // After the day's list, "Request a visit", then the register's export — closed on a phone (open on
  // a wider screen, or once opened): the list and a request are what a worker comes for.
  parts.push(requestForm());
  parts.push(
    registerExport({
      school,
      date,
      open: exportOpen ?? Boolean(window.matchMedia?.('(min-width: 48rem)').matches),
      onToggle: (open) => {
        exportOpen = open;
      },
    }),
  );
  content.replaceChildren(...parts);
}

async function main() {
  await startSchoolPage((id, session) => {
    s = session;
    school = id;
    return load();
  });
}

main().catch((e) => say(msg, e.message, true));
