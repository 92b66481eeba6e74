import { api, fmtDateTime, h, londonToday, say } from './app.js';
import { field, msg, page, visitId } from './visit-shared.js';

// A visit's appointment (Thames View 2.7: its record on CPOMS) and the agreements made on it
// (Thames View 4.2/4.3: one not kept → a reminder letter, a note in the attendance record and, on
// continued failure, a follow-up visit).

const timeOf = (iso) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));

/** Before leaving: the appointment's time on the planned date. */
export function appointmentForm(d) {
  const v = d.visit;
  // Where the assessment weighs the timing, a new time withdraws what was given (the server says so).
  const reassessed = d.appointmentSendsBack === true;
  const time = h('input', {
    type: 'time',
    name: 'appointmentTime',
    required: true,
    value: v.appointmentAt ? timeOf(v.appointmentAt) : '',
  });
  return h(
    'section',
    { id: 'appointment' },
    h('h2', {}, 'Appointment'),
    h(
      'p',
      {},
      v.appointmentAt
        ? `Arranged for ${fmtDateTime(v.appointmentAt)}.`
        : `No time arranged yet for ${v.plannedFor}.`,
      d.rules.appointmentRecords
        ? v.appointmentRecords
          ? ` Appointment records written: ${v.appointmentRecords} (a change writes another).`
          : ' The appointment record goes to CPOMS once the visit is booked.'
        : '',
    ),
    // Where the risk assessment weighs the timing, a new time undoes what was given for the old one.
    reassessed
      ? h(
          'p',
          { class: 'hint', id: 'appointment-reassess' },
          'The risk assessment weighs the timing: a new time sends the visit back to be authorised and assessed again.',
        )
      : null,
    h(
      'form',
      {
        id: 'appointment-form',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const moved = time.value !== (v.appointmentAt ? timeOf(v.appointmentAt) : '');
            await api('POST', `/api/visits/${visitId}/appointment`, { time: time.value });
            say(
              msg,
              reassessed && moved
                ? 'Appointment recorded. The visit waits to be authorised and assessed again at its new time.'
                : 'Appointment recorded.',
            );
            await page.load();
          } catch (err) {
            say(msg, err.message, true);
          }
        },
      },
      field(`Time on ${v.plannedFor}`, time),
      h('button', { type: 'submit' }, v.appointmentAt ? 'Change the time' : 'Record the time'),
    ),
  );
}

/** After the visit: the agreements, those found not kept (with their reminder letters), and the form to record one. */
export function agreementsPart(d, may) {
  const o = d.visit.outcome;
  const broken = o.broken ?? [];
  const list = h(
    'ol',
    {},
    o.agreements.map((a, i) =>
      h(
        'li',
        {},
        a,
        broken
          .filter((b) => b.agreement === i)
          .map((b) =>
            h(
              'span',
              { class: 'warn' },
              ` — not kept ${b.on}`,
              d.rules.agreements?.reminderLetter
                ? [
                    ' (',
                    h('a', { href: `/visits/${visitId}/reminder-letter?n=${b.n}` }, 'reminder letter'),
                    ')',
                  ]
                : null,
            ),
          ),
      ),
    ),
  );
  if (!may) return h('section', { id: 'agreements' }, h('h2', {}, 'Agreements'), list);
  const which = h(
    'select',
    { name: 'agreement', required: true },
    // Numbered as the list shows them (from 1); the value is the agreement's place in the record.
    o.agreements.map((a, i) => h('option', { value: String(i) }, `${i + 1}. ${a.slice(0, 80)}`)),
  );
  const on = h('input', { type: 'date', name: 'on', required: true, value: londonToday() });
  const note = h('textarea', { name: 'note', required: true, maxlength: 1000, rows: 2 });
  return h(
    'section',
    { id: 'agreements' },
    h('h2', {}, 'Agreements'),
    list,
    h(
      'form',
      {
        id: 'agreement-broken-form',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const r = await api('POST', `/api/visits/${visitId}/agreement-broken`, {
              agreement: Number(which.value),
              on: on.value,
              note: note.value,
            });
            say(
              msg,
              r.duplicate
                ? 'Already recorded.'
                : `Recorded${r.followUpVisitId ? `; follow-up visit ${r.followUpVisitId} asked for` : ''}.`,
            );
            await page.load();
          } catch (err) {
            say(msg, err.message, true);
          }
        },
      },
      field('Agreement not kept', which),
      field('When', on),
      field('What happened', note),
      h('button', { type: 'submit' }, 'Record the agreement as not kept'),
    ),
  );
}
