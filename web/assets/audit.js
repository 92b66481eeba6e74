import { api, fmtDateTime, h, header, me, say } from './app.js';

// The audit trail (admins): every action with who, what, when, before and after; CSV export.

const msg = document.getElementById('message');
const content = document.getElementById('content');

async function load(filters) {
  const qs = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
  const d = await api('GET', `/api/audit?${qs}`);
  document.getElementById('export').href = `/api/audit.csv?${qs}`;
  document.getElementById('entries').replaceChildren(
    h(
      'table',
      {},
      h('caption', {}, `${d.entries.length} most recent entries`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['When', 'Who', 'Action', 'School', 'What', 'Before', 'After'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        d.entries.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, fmtDateTime(e.at)),
            h('td', {}, e.actor_name ?? e.actor),
            h('td', {}, e.action),
            h('td', {}, e.school_id ?? ''),
            h('td', {}, e.entity_type ? `${e.entity_type} ${e.entity_id ?? ''}` : ''),
            h('td', {}, h('code', {}, e.before ? JSON.stringify(e.before) : '')),
            h('td', {}, h('code', {}, e.after ? JSON.stringify(e.after) : '')),
          ),
        ),
      ),
    ),
  );
}

async function main() {
  const s = await me();
  header(s);
  const action = h('input', { id: 'action', name: 'action', type: 'text' });
  const from = h('input', { id: 'from', name: 'from', type: 'date' });
  const to = h('input', { id: 'to', name: 'to', type: 'date' });
  const school = h(
    'select',
    { id: 'school', name: 'school' },
    h('option', { value: '' }, 'All schools'),
    s.schools.map((x) => h('option', { value: x.id }, x.name)),
  );
  const beats = h('input', { id: 'heartbeats', name: 'heartbeats', type: 'checkbox' });
  const filters = () => ({
    action: action.value,
    from: from.value,
    to: to.value,
    school: school.value,
    heartbeats: beats.checked ? '1' : '',
  });
  content.replaceChildren(
    h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (e) => {
          e.preventDefault();
          load(filters()).catch((err) => say(msg, err.message, true));
        },
      },
      // Each label with its box, kept together as the toolbar wraps (on a phone a label otherwise
      // ended a line beside the box before it, its own box on the next).
      h('span', { class: 'pair' }, h('label', { for: 'school' }, 'School'), school),
      h('span', { class: 'pair' }, h('label', { for: 'action' }, 'Action starts with'), action),
      h('span', { class: 'pair' }, h('label', { for: 'from' }, 'From'), from),
      h('span', { class: 'pair' }, h('label', { for: 'to' }, 'To'), to),
      h(
        'span',
        { class: 'pair' },
        beats,
        h('label', { for: 'heartbeats' }, 'With heartbeats (one a minute)'),
      ),
      h('button', { type: 'submit' }, 'Filter'),
      h('a', { id: 'export', href: '/api/audit.csv', download: 'doorstep-audit.csv' }, 'Export CSV'),
    ),
    h('div', { id: 'entries' }),
  );
  await load({});
}
main().catch((e) => say(msg, e.message, true));
