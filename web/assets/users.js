import { api, fmtDateTime, focusStatus, h, header, keepingFocus, me, say } from './app.js';
import { count, trainingNeeds } from './words.js';

// Accounts (admins): who can sign in, with which roles, positions and schools; add, disable,
// enable, unlock. Staff training (admins, the data manager and the safeguarding team): each visiting
// member of staff's home-visit and safeguarding training and home-visit experience, which the
// policies check before a visit leaves. Every change is audited under the name of who made it.

const msg = document.getElementById('message');
const content = document.getElementById('content');
let s;

const checks = (name, legend, values, labelOf = (v) => v, ticked = []) =>
  h(
    'fieldset',
    {},
    h('legend', {}, legend),
    values.map((v) =>
      h(
        'label',
        { class: 'radio' },
        h('input', { type: 'checkbox', name, value: v, checked: ticked.includes(v) }),
        ` ${labelOf(v)}`,
      ),
    ),
  );
const picked = (form, name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);

/**
 * An account action; `anyway`: the words of the button offered when it is refused because the person
 * is out on a visit (offerWhileOut), which sends it again with `whileOut`.
 */
async function act(url, done, anyway = null, body = {}) {
  document.getElementById('while-out-anyway')?.remove();
  try {
    await api('POST', url, body);
    await keepingFocus(load, msg);
    say(msg, done);
  } catch (err) {
    if (!anyway || !offerWhileOut(err, anyway, () => act(url, done, null, { ...body, whileOut: true })))
      say(msg, err.message, true);
  }
}

/**
 * A change refused (409) because the person is out on a visit: the server's words without the API's
 * field name, the keyboard on them, and beside them a button that makes the change anyway — a phone
 * lost or an account misused cannot wait for back safe; the visit stays watched. False for any other
 * refusal.
 */
function offerWhileOut(err, label, again) {
  if (err.status !== 409 || !/ is out on visit \d+ now: /.test(err.message)) return false;
  say(msg, err.message.replace(/ \(whileOut; the visit stays watched\)$/, '.'), true);
  msg.after(
    h(
      'p',
      { id: 'while-out-anyway' },
      h('button', { type: 'button', class: 'danger', onclick: again }, label),
    ),
  );
  focusStatus(msg);
  return true;
}

/** A new account: its roles and positions are the ones the server names (`GET /api/users`). */
function addForm({ roles, positions }) {
  const input = (name, label, type = 'text', extra = {}) => {
    const el = h('input', { type, name, id: `u-${name}`, ...extra });
    return [h('label', { for: el.id }, label), el];
  };
  const schoolName = (id) => s.schools.find((x) => x.id === id)?.name ?? id;
  const form = h(
    'form',
    {
      id: 'add-account',
      onsubmit: async (e) => {
        e.preventDefault();
        const f = e.target;
        const body = {
          username: f.username.value.trim(),
          displayName: f.displayName.value.trim(),
          password: f.password.value,
          roles: picked(f, 'roles'),
          positions: picked(f, 'positions'),
          schools: picked(f, 'schools'),
          staffId: f.staffId.value.trim() || undefined,
          phone: f.phone.value.trim() || undefined,
          email: f.email.value.trim() || undefined,
        };
        try {
          await api('POST', '/api/users', body);
          f.reset();
          // The page drawn again first, then said: whoever reads the message (or a test waiting on it)
          // acts on the page as it now is, not on one about to be replaced under them.
          await keepingFocus(load, msg);
          say(msg, `Account ${body.username} created.`);
        } catch (err) {
          say(msg, err.message, true);
        }
      },
    },
    input('username', 'Username (lower case)', 'text', { required: true, autocomplete: 'off' }),
    input('displayName', 'Name people see', 'text', { required: true }),
    input('password', 'First password (at least 12 characters)', 'password', {
      required: true,
      autocomplete: 'new-password',
    }),
    checks('roles', 'Roles', roles),
    checks('positions', 'Positions (for authorising visits)', positions),
    checks(
      'schools',
      // An admin of some schools gives only those, and at least one; a trust-wide admin may give every school.
      s.user.trustWide ? 'Schools (none ticked: every school)' : 'Schools (tick at least one of yours)',
      s.schools.map((x) => x.id),
      schoolName,
    ),
    input('staffId', "Fob staff id (the device registry's)"),
    input('phone', 'Mobile for escalation SMS (+44…)', 'tel'),
    input('email', 'E-mail', 'email'),
    h('button', { type: 'submit', class: 'primary' }, 'Create account'),
  );
  return h('details', {}, h('summary', {}, 'Add an account'), form);
}

/**
 * One account changed: its name, roles, positions, schools, fob staff id, phone, e-mail (a wrong
 * escalation number corrected). The server checks what an admin may give, and refuses a change of
 * roles, schools or staff id while the person is out on a visit, saying so.
 */
function editForm(u, { roles, positions }) {
  const schoolName = (id) => s.schools.find((x) => x.id === id)?.name ?? id;
  const input = (name, label, value, type = 'text', extra = {}) => {
    const el = h('input', { type, name, id: `e-${name}-${u.id}`, value: value ?? '', ...extra });
    return [h('label', { for: el.id }, label), el];
  };
  const form = h(
    'form',
    {
      id: `edit-${u.id}`,
      onsubmit: async (e) => {
        e.preventDefault();
        const f = e.target;
        const text = (el) => el.value.trim() || null;
        const save = async (whileOut) => {
          document.getElementById('while-out-anyway')?.remove();
          try {
            const r = await api('POST', `/api/users/${u.id}`, {
              displayName: f.displayName.value.trim(),
              roles: picked(f, 'roles'),
              positions: picked(f, 'positions'),
              schools: picked(f, 'schools'),
              staffId: text(f.staffId),
              phone: text(f.phone),
              email: text(f.email),
              ...(whileOut ? { whileOut: true } : {}),
            });
            await keepingFocus(load, msg);
            say(
              msg,
              r.sessionsEnded
                ? `${u.username} changed: signed out everywhere, to sign in again with the new roles and schools.`
                : `${u.username} changed.`,
            );
          } catch (err) {
            if (whileOut || !offerWhileOut(err, 'Save anyway (the visit stays watched)', () => save(true)))
              say(msg, err.message, true);
          }
        };
        await save(false);
      },
    },
    input('displayName', 'Name people see', u.displayName, 'text', { required: true }),
    checks('roles', 'Roles', roles, undefined, u.roles),
    checks('positions', 'Positions (for authorising visits)', positions, undefined, u.positions),
    checks(
      'schools',
      s.user.trustWide ? 'Schools (none ticked: every school)' : 'Schools (at least one of yours)',
      s.schools.map((x) => x.id),
      schoolName,
      u.schools,
    ),
    input('staffId', "Fob staff id (the device registry's; empty: none)", u.staffId),
    input('phone', 'Mobile for escalation SMS (+44…; empty: none)', u.phone, 'tel'),
    input('email', 'E-mail (empty: none)', u.email, 'email'),
    h('button', { type: 'submit' }, `Save ${u.username}`),
  );
  return h('details', { class: 'inline' }, h('summary', {}, `Edit ${u.username}`), form);
}

const fmtDay = (iso) =>
  iso
    ? new Date(`${iso}T12:00:00Z`).toLocaleDateString('en-GB', {
        day: 'numeric',
        month: 'short',
        year: 'numeric',
        timeZone: 'UTC',
      })
    : '—';

/** One person's training and experience, as a form (their current records filled in). */
function trainingForm(u) {
  const dateInput = (name, label, value) => {
    const el = h('input', { type: 'date', name, id: `t-${name}-${u.id}`, value: value ?? '' });
    return h('div', { class: 'field' }, h('label', { for: el.id }, label), el);
  };
  const experienced = h('input', {
    type: 'checkbox',
    name: 'homeVisitExperienced',
    id: `t-experienced-${u.id}`,
    checked: Boolean(u.homeVisitExperiencedOn),
  });
  const form = h(
    'form',
    {
      id: `training-${u.id}`,
      class: 'training',
      onsubmit: async (e) => {
        e.preventDefault();
        const f = e.target;
        try {
          await api('POST', `/api/users/${u.id}/training`, {
            homeVisitTrainedOn: f.homeVisitTrainedOn.value || null,
            safeguardingTrainedOn: f.safeguardingTrainedOn.value || null,
            homeVisitExperienced: experienced.checked,
          });
          // Drawn again first, then said (as above).
          await keepingFocus(load, msg);
          say(msg, `Training recorded for ${u.displayName}.`);
        } catch (err) {
          say(msg, err.message, true);
        }
      },
    },
    dateInput('homeVisitTrainedOn', 'Home-visit training completed on', u.homeVisitTrainedOn),
    dateInput('safeguardingTrainedOn', 'Safeguarding training completed on', u.safeguardingTrainedOn),
    h(
      'div',
      { class: 'field check' },
      experienced,
      h(
        'label',
        { for: experienced.id },
        'Experienced in home visits (has made home visits before, outside Doorstep)',
      ),
    ),
    h('button', { type: 'submit' }, `Save training for ${u.username ?? u.displayName}`),
  );
  return h(
    'details',
    { class: 'inline' },
    h('summary', {}, `Record training for ${u.username ?? u.displayName}`),
    form,
  );
}

/** Staff training: what the schools' policies ask, then each visiting member of staff's records. */
function trainingSection(t) {
  const needs = t.policies.map(trainingNeeds).filter(Boolean);
  return h(
    'section',
    { id: 'training', 'aria-labelledby': 'training-h' },
    h('h2', { id: 'training-h' }, 'Staff training and experience'),
    needs.length
      ? h(
          'ul',
          {},
          needs.map((n) => h('li', {}, n)),
        )
      : h('p', {}, "No school's policy asks for training or experience before a visit."),
    t.staff.length
      ? h(
          'table',
          // On a phone each person stands as a block, the form full width under their records.
          { class: 'stacks' },
          h('caption', {}, count(t.staff.length, 'member of visiting staff', 'members of visiting staff')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [
                'Name',
                'Home-visit training',
                'Safeguarding training',
                'Experienced',
                'Visits made in Doorstep',
                'Last recorded',
                'Record',
              ].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            t.staff.map((u) =>
              h(
                'tr',
                { 'data-user-id': u.id },
                h(
                  'td',
                  {},
                  u.displayName,
                  u.username ? [h('br'), h('span', { class: 'hint' }, u.username)] : null,
                ),
                h('td', { 'data-label': 'Home-visit training' }, fmtDay(u.homeVisitTrainedOn)),
                h('td', { 'data-label': 'Safeguarding training' }, fmtDay(u.safeguardingTrainedOn)),
                h(
                  'td',
                  { 'data-label': 'Experienced' },
                  u.homeVisitExperiencedOn
                    ? `yes (recorded ${fmtDay(u.homeVisitExperiencedOn)})`
                    : u.visitsMade > 0
                      ? 'yes (visits made)'
                      : 'no',
                ),
                h('td', { 'data-label': 'Visits made in Doorstep' }, String(u.visitsMade)),
                h(
                  'td',
                  { 'data-label': 'Last recorded' },
                  u.lastRecorded ? `${fmtDateTime(u.lastRecorded.at)} by ${u.lastRecorded.by}` : '—',
                ),
                h(
                  'td',
                  {},
                  u.mayRecord
                    ? trainingForm(u)
                    : u.id === s.user.id
                      ? 'Your own: a colleague records it'
                      : '—',
                ),
              ),
            ),
          ),
        )
      : h('p', {}, 'No visiting staff in your schools yet.'),
  );
}

async function load() {
  const training = trainingSection(await api('GET', '/api/training'));
  if (!s.user.roles.includes('admin')) {
    content.replaceChildren(training);
    return;
  }
  const { users, roles, positions } = await api('GET', '/api/users');
  content.replaceChildren(
    h(
      'table',
      // On a phone each account stands as a block, its edit form full width under it.
      { class: 'stacks' },
      h('caption', {}, count(users.length, 'account')),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Username', 'Name', 'Roles', 'Positions', 'Schools', 'Fob staff id', 'State', 'Actions'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        users.map((u) =>
          h(
            'tr',
            {},
            h('td', {}, u.username),
            h('td', { 'data-label': 'Name' }, u.displayName),
            h('td', { 'data-label': 'Roles' }, u.roles.join(', ')),
            h('td', { 'data-label': 'Positions' }, u.positions.join(', ')),
            h('td', { 'data-label': 'Schools' }, u.schools.join(', ') || 'every school'),
            h('td', { 'data-label': 'Fob staff id' }, u.staffId ?? ''),
            h(
              'td',
              { 'data-label': 'State' },
              [u.disabled ? 'DISABLED' : 'active', u.locked ? 'LOCKED' : null].filter(Boolean).join(', '),
            ),
            h(
              'td',
              {},
              u.disabled
                ? h(
                    'button',
                    {
                      type: 'button',
                      onclick: () => act(`/api/users/${u.id}/enable`, `${u.username} enabled.`),
                    },
                    `Enable ${u.username}`,
                  )
                : u.id === s.user.id
                  ? null
                  : h(
                      'button',
                      {
                        type: 'button',
                        onclick: () =>
                          act(
                            `/api/users/${u.id}/disable`,
                            `${u.username} disabled.`,
                            'Disable anyway (the visit stays watched)',
                          ),
                      },
                      `Disable ${u.username}`,
                    ),
              u.locked
                ? h(
                    'button',
                    {
                      type: 'button',
                      onclick: () => act(`/api/users/${u.id}/unlock`, `${u.username} unlocked.`),
                    },
                    `Unlock ${u.username}`,
                  )
                : null,
              editForm(u, { roles, positions }),
            ),
          ),
        ),
      ),
    ),
    addForm({ roles, positions }),
    training,
  );
}

async function main() {
  s = await me();
  header(s);
  await load();
}
main().catch((e) => say(msg, e.message, true));
