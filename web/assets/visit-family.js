import { fmtDateTime, h } from './app.js';
import { field, post } from './visit-shared.js';

// Telling the family before the visit, as the school's policy words it: the ways it allows, or an exemption.

const METHOD_WORDS = {
  letter: 'a letter',
  phone: 'a phone call',
  sms: 'a text (Doorstep sends it)',
  'in-person': 'in person',
  'written-confirmation': 'a written confirmation of the appointment',
};

/** Before leaving: how the family was told (the policy's ways), or the exemption it allows. */
export function familyNotice(d, may) {
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
        id: 'family-notice-form',
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
