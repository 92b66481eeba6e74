import { h } from './app.js';

/**
 * The register as the school's spreadsheet, for a period (visiting staff get their own visits): in a
 * section of its own, closed unless `open` — on a phone the worker came for the day's list and
 * "Request a visit", not the export. Each date stays beside its label ("to" never alone on a line).
 */
export function registerExport({ school, date, open = false, onToggle = () => {} }) {
  const field = (id, label, value) =>
    h(
      'span',
      { class: 'pair' },
      h('label', { for: id, class: 'inline' }, label),
      h('input', { type: 'date', id, name: id.replace('export-', ''), value, required: true }),
    );
  return h(
    'details',
    {
      id: 'register-export',
      open,
      ontoggle: (e) => onToggle(e.target.open),
    },
    h('summary', {}, 'Export the register'),
    h(
      'form',
      {
        method: 'get',
        action: '/api/visits/register.csv',
        class: 'toolbar',
        'aria-label': 'Export the register',
      },
      h('input', { type: 'hidden', name: 'school', value: school }),
      field('export-from', 'From ', `${date.slice(0, 8)}01`),
      field('export-to', 'To ', date),
      h('button', { type: 'submit' }, 'CSV'),
      h('button', { type: 'submit', formaction: '/api/visits/register.xlsx' }, 'Excel (XLSX)'),
    ),
  );
}
