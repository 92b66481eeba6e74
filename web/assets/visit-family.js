import { fmtDateTime, h } from './app.js';
import { field, post } from './visit-shared.js';

// Telling the family before the visit, as the school's policy words it: the ways it allows, or an exemption.

const METHOD_WORDS = {
  letter: 'a letter',
  phone: 'a phone call',
  sms: 'a text (Doorstep sends it)',
  'in-person': 'in person',
  'written-confirmation': 'a written confirmation (of the appointment; an e-mail, a parent-app message)',
};
const TEXT_BY_STAFF = 'a text sent by staff from a school phone';

/** How a recorded notice reads: a text says who sent it. */
function toldWords(told) {
  if (told.method === 'sms') return told.sentBy === 'staff' ? 'a text sent from a school phone' : 'a text';
  return METHOD_WORDS[told.method] ?? told.method;
}

/**
 * The choices the policy allows. A text is Doorstep sending it where the school has an SMS channel,
 * else a text sent by staff from a school phone (still the text the policy asks for). An exemption
 * is offered only where it applies to this pupil (the server says, `exemptions`). Values are
 * `method:<m>`, `method:sms:staff` or `exemption:<x>`.
 */
function choices(rule, familyText, exemptions) {
  return [
    rule.methods.flatMap((m) =>
      m === 'sms'
        ? [
            familyText?.doorstepSends ? h('option', { value: 'method:sms' }, METHOD_WORDS.sms) : null,
            familyText?.doorstepSends ? null : h('option', { value: 'method:sms:staff' }, TEXT_BY_STAFF),
          ]
        : [h('option', { value: `method:${m}` }, METHOD_WORDS[m] ?? m)],
    ),
    exemptions
      .filter((x) => x.applies)
      .map((x) =>
        h('option', { value: `exemption:${x.id}` }, `not told first: ${x.id.replace(/-/g, ' ')} (${x.why})`),
      ),
  ];
}

/** Before leaving: how the family was told (the policy's ways), or the exemption it allows. */
export function familyNotice(d, may) {
  const rule = d.rules.familyNotice;
  const told = d.visit.familyNotice;
  const said = told
    ? h(
        'p',
        { id: 'family-told' },
        told.method
          ? `Family told by ${toldWords(told)} (${fmtDateTime(told.at)}).`
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
    choices(rule, d.familyText, d.familyExemptions ?? []),
  );
  const note = h('input', { type: 'text', id: 'f-familyNote', name: 'familyNote', maxlength: 500 });
  // Recorded: the form is behind "Change", filled in with what was recorded, and says it replaces it.
  if (told) {
    choice.value = told.method
      ? `method:${told.method}${told.method === 'sms' && told.sentBy === 'staff' ? ':staff' : ''}`
      : `exemption:${told.exemption}`;
    note.value = told.note ?? '';
  }
  return h(
    'section',
    { id: 'family-notice' },
    h('h2', {}, 'Telling the family'),
    said,
    rule.methods.includes('letter')
      ? h('p', {}, h('a', { href: `/visits/${d.visit.id}/letter` }, 'Print the letter to the family'))
      : null,
    d.familyText && !d.familyText.doorstepSends
      ? h(
          'div',
          { id: 'family-text' },
          h(
            'p',
            {},
            "This school has no SMS channel in Doorstep: text the family from a school phone, then record it here. The school's words:",
          ),
          h('blockquote', {}, d.familyText.text),
        )
      : null,
    changeBehind(
      told,
      h(
        'form',
        {
          id: 'family-notice-form',
          onsubmit: (e) => {
            e.preventDefault();
            const [kind, value, by] = choice.value.split(':');
            post(
              'family-notice',
              {
                [kind]: value,
                ...(by ? { sentBy: by } : {}),
                ...(note.value ? { note: note.value } : {}),
                replaces: told?.at ?? null,
              },
              told ? 'Recorded: it replaces what was recorded before.' : 'Recorded.',
            );
          },
        },
        told
          ? h(
              'p',
              { class: 'hint', id: 'family-notice-replaces' },
              `This replaces what was recorded ${fmtDateTime(told.at)}; the audit keeps both.`,
            )
          : null,
        field('How the family was told', choice),
        field('Note (optional)', note),
        h('button', { type: 'submit' }, told ? 'Record the change' : 'Record'),
      ),
    ),
  );
}

/** Nothing recorded yet: the form. Recorded: behind "Change how the family was told". */
function changeBehind(told, form) {
  if (!told) return form;
  return h(
    'details',
    { id: 'family-notice-change' },
    h('summary', {}, 'Change how the family was told'),
    form,
  );
}
