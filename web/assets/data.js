import { api, bdi, fmtDateTime, h, say, startSchoolPage } from './app.js';

// The data manager's page: per school, connectors, last sync, imports and their errors, quarantined
// files, the outbox (with preview records readable) and connection tests that send nothing.

const msg = document.getElementById('message');
const content = document.getElementById('content');
let school;

function table(caption, cols, rows) {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        cols.map(([, l]) => h('th', { scope: 'col' }, l)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          cols.map(([k]) => h('td', {}, r[k] ?? '')),
        ),
      ),
    ),
  );
}

async function test(connector, out) {
  say(out, `Testing ${connector}…`);
  try {
    const r = await api('POST', '/api/data/test-connection', { school, connector });
    out.replaceChildren(
      ...r.results.map((x) =>
        h(
          'p',
          { class: x.ok ? 'ok' : 'error' },
          h('strong', {}, x.ok ? 'OK ' : 'FAILED '),
          `${x.name}: ${x.detail}`,
        ),
      ),
    );
    if (!r.results.length) say(out, 'Nothing configured to test.');
  } catch (err) {
    say(out, err.message, true);
  }
}

const CLOSED = {
  inset: 'INSET day',
  'bank-holiday': 'bank holiday',
  closure: 'closure',
  weekend: 'weekend',
  holiday: 'school holiday',
  'before-term': 'before term starts',
  'after-term': 'after term ends',
};

// Marks on days the calendar says the school was closed: kept, but the trigger rules ignore them
// until the calendar (or the MIS) is corrected. Ids, dates and lines only.
function calendarProblems(imports) {
  const withProblems = imports.filter((i) => i.calendar_problems > 0);
  if (!withProblems.length) return h('p', {}, 'No marks on days the calendar says are closed.');
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'trust-issue' },
      'Some marks fall on days the school calendar says are closed. They are kept, but the trigger rules count only school days: correct the calendar in the config if the school met, or the marks in the MIS if it did not.',
    ),
    withProblems.map((i) =>
      h(
        'details',
        {},
        h('summary', {}, `Import ${i.id} (${i.unit}): ${i.calendar_problems} mark(s) on closed days`),
        h(
          'ul',
          {},
          (i.calendar_problems_first ?? []).map((p) =>
            h(
              'li',
              {},
              `${p.date} ${p.session} — ${CLOSED[p.closed] ?? p.closed}${p.note ? ` (${p.note})` : ''}: pupil `,
              bdi(p.pupil),
              `, mark ${p.code}, ${p.where}`,
            ),
          ),
          i.calendar_problems > (i.calendar_problems_first ?? []).length
            ? h('li', {}, `… and ${i.calendar_problems - i.calendar_problems_first.length} more`)
            : null,
        ),
      ),
    ),
  );
}

// Retention: how long each kind of data is kept, and what the last purge removed (counts only).
function retentionSection(d) {
  const run = d.lastPurge;
  return h(
    'section',
    {},
    h('h2', {}, 'Retention'),
    table(
      'How long each kind of data is kept (days, unless named in years)',
      [
        ['kind', 'Kind of data'],
        ['period', 'Kept'],
      ],
      Object.entries(d.retention).map(([kind, period]) => ({ kind, period: String(period) })),
    ),
    run
      ? h(
          'p',
          { id: 'last-purge' },
          `Last purge ${fmtDateTime(run.finishedAt)}${run.complete ? '' : ' (stopped at its bound; the next run goes on)'}` +
            `${run.error ? ` — failed: ${run.error}` : ''}: ` +
            (Object.entries(run.removed)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ') || 'nothing was due'),
        )
      : h('p', { id: 'last-purge' }, 'No purge has run yet.'),
  );
}

async function load() {
  const d = await api('GET', `/api/data?school=${encodeURIComponent(school)}`);
  const out = h('div', { id: 'test-results', role: 'status' });
  const preview = h('pre', { id: 'record-body', class: 'record' });
  content.replaceChildren(
    h(
      'section',
      {},
      h('h2', {}, 'Connectors'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'MIS'),
        h('dd', {}, d.connectors.mis),
        h('dt', {}, 'Records'),
        h('dd', {}, d.connectors.records),
        h('dt', {}, 'Channels'),
        h('dd', {}, d.connectors.channels.join(', ') || 'board only'),
        h('dt', {}, 'Fob transports'),
        h('dd', {}, d.connectors.fobTransports.join(', ') || 'none'),
        h('dt', {}, 'Last sync'),
        h('dd', {}, fmtDateTime(d.lastSync)),
        h('dt', {}, 'Rejected fob messages'),
        h('dd', {}, String(d.rejectedFobEvents)),
      ),
      h(
        'div',
        { class: 'actions' },
        ['mis', 'records', 'channels'].map((c) =>
          h('button', { type: 'button', onclick: () => test(c, out) }, `Test ${c} connection`),
        ),
      ),
      out,
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Imports'),
      d.imports.length
        ? table(
            'Latest imports',
            [
              ['id', 'Id'],
              ['source', 'Source'],
              ['unit', 'File / page'],
              ['status', 'Status'],
              ['marks_inserted', 'Marks new'],
              ['marks_updated', 'Marks changed'],
              ['rejected', 'Rejected rows'],
              ['calendar_problems', 'Marks on closed days'],
              ['error', 'Error'],
            ],
            d.imports,
          )
        : h('p', {}, 'No imports yet.'),
      calendarProblems(d.imports),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Who the ladders reach'),
      d.reachability.length
        ? h(
            'ul',
            {},
            d.reachability.map((r) =>
              h('li', { class: r.kind === 'reaches-no-one' ? 'trust-issue' : '' }, r.message),
            ),
          )
        : h('p', {}, 'Every level of every ladder reaches someone.'),
      h('h3', {}, 'Who the policy says is told'),
      d.noticeGaps.length
        ? h(
            'ul',
            {},
            d.noticeGaps.map((g) => h('li', { class: 'trust-issue' }, g)),
          )
        : h('p', {}, 'Everyone the policy names is reached by the notices set.'),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Fob feeds and event ids'),
      d.fobFeedsDown.length
        ? h(
            'ul',
            {},
            d.fobFeedsDown.map((f) =>
              h(
                'li',
                { class: 'trust-issue' },
                `${f.transport}: not arriving since ${fmtDateTime(f.since)} — ${f.reason ?? ''}`,
              ),
            ),
          )
        : h('p', {}, 'Every fob feed is arriving.'),
      d.fobIdConflicts.length
        ? table(
            'Event ids seen before with other content (a device or gateway re-using ids, or someone pre-empting them)',
            [
              ['receivedAt', 'Received'],
              ['deviceId', 'Device'],
              ['vendorEventId', 'Event id'],
              ['type', 'Type'],
              ['transport', 'Transport'],
              ['alarmId', 'Alarm raised'],
              ['trustIssue', 'Not verified'],
            ],
            d.fobIdConflicts,
          )
        : h('p', {}, 'No event id conflicts.'),
    ),
    retentionSection(d),
    h(
      'section',
      {},
      h('h2', {}, 'Quarantined files'),
      d.quarantined.length
        ? h(
            'ul',
            {},
            d.quarantined.map((q) =>
              h(
                'li',
                {},
                bdi(q.file),
                ` (${q.bytes === null ? `${q.kind}, not followed` : `${q.bytes} bytes`}, ${fmtDateTime(q.at)})`,
              ),
            ),
          )
        : h('p', {}, 'None.'),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Outbox'),
      h(
        'p',
        {},
        Object.entries(d.outbox)
          .map(([k, v]) => `${k}: ${v}`)
          .join(' · ') || 'empty',
      ),
      d.records.length
        ? h(
            'ul',
            {},
            d.records.map((r) =>
              h(
                'li',
                {},
                `#${r.id} ${r.kind} [${r.status}] ${r.title} `,
                h(
                  'button',
                  {
                    type: 'button',
                    onclick: async () => {
                      const b = await api('GET', `/api/outbox/${r.id}`);
                      preview.textContent = `${b.title}\n\n${b.body}`;
                    },
                  },
                  `Show record ${r.id}`,
                ),
              ),
            ),
          )
        : null,
      preview,
    ),
  );
}

async function main() {
  await startSchoolPage((id) => {
    school = id;
    return load();
  });
}

main().catch((e) => say(msg, e.message, true));
