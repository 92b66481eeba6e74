import { api, h } from './app.js';
import { table } from './data-imports.js';

// The trust overview on the data page: per school the data manager works at, pupils on roll, persistent
// and severe absence this academic year (from the stored marks, school days only), open triggers and
// open alarms.

export async function overviewSection() {
  const o = await api('GET', '/api/data/overview');
  return h(
    'section',
    { 'aria-labelledby': 'overview-h', id: 'overview' },
    h('h2', { id: 'overview-h' }, 'Your schools at a glance'),
    table(
      `This academic year, ${o.from} to ${o.to}`,
      [
        ['name', 'School'],
        ['pupils', 'Pupils on roll'],
        ['persistentlyAbsent', 'Persistent absence (missed 10% or more)'],
        ['severelyAbsent', 'Severe absence (missed 50% or more)'],
        ['openTriggers', 'Open triggers'],
        ['openAlarms', 'Open alarms'],
      ],
      o.schools.map((s) => ({
        ...s,
        ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)])),
      })),
    ),
    h(
      'p',
      { class: 'hint' },
      'Absence as the DfE counts it: sessions missed out of possible sessions (school days only; sessions where attendance was not required or not possible left out).',
    ),
  );
}
