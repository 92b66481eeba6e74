import { api, h, header, me, say } from './app.js';
import { count } from './words.js';

// Accounts (admins): who can sign in, with which roles, positions and schools; add, disable,
// enable, unlock. Every change is audited under the admin's name.

const msg = document.getElementById('message');
const content = document.getElementById('content');
const ROLES = ['office', 'visiting-staff', 'safeguarding', 'data-manager', 'admin'];
const POSITIONS = ['dsl', 'deputy-dsl', 'headteacher', 'deputy-head', 'associate-head'];
let s;

const checks = (name, legend, values, labelOf = (v) => v) =>
  h(
    'fieldset',
    {},
    h('legend', {}, legend),
    values.map((v) =>
      h('label', { class: 'radio' }, h('input', { type: 'checkbox', name, value: v }), ` ${labelOf(v)}`),
    ),
  );
const picked = (form, name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);

async function act(url, done) {
  try {
    await api('POST', url, {});
    say(msg, done);
    await load();
  } catch (err) {
    say(msg, err.message, true);
  }
}

function addForm() {
  const input = (name, label, type = 'text', extra = {}) => {
    const el = h('input', { type, name, id: `u-${name}`, ...extra });
    return [h('label', { for: el.id }, label), el];
  };
  const schoolName = (id) => s.schools.find((x) => x.id === id)?.name ?? id;
  const form = h(
    'form',
    {
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
          say(msg, `Account ${body.username} created.`);
          f.reset();
          await load();
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
    checks('roles', 'Roles', ROLES),
    checks('positions', 'Positions (for authorising visits)', POSITIONS),
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

async function load() {
  const { users } = await api('GET', '/api/users');
  content.replaceChildren(
    h(
      'table',
      {},
      h('caption', {}, count(users.length, 'account')),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Username', 'Name', 'Roles', 'Positions', 'Schools', 'State', 'Actions'].map((c) =>
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
            h('td', {}, u.displayName),
            h('td', {}, u.roles.join(', ')),
            h('td', {}, u.positions.join(', ')),
            h('td', {}, u.schools.join(', ') || 'every school'),
            h(
              'td',
              {},
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
                        onclick: () => act(`/api/users/${u.id}/disable`, `${u.username} disabled.`),
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
            ),
          ),
        ),
      ),
    ),
    addForm(),
  );
}

async function main() {
  s = await me();
  header(s);
  await load();
}
main().catch((e) => say(msg, e.message, true));
