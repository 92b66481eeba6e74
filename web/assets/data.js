import { api, bdi, fmtDateTime, h, replaceKeepingInput, say, startSchoolPage } from './app.js';
import { importsSection, table } from './data-imports.js';
import { overviewSection } from './data-overview.js';
import { failedRecordsSection, showRecord } from './data-records.js';
import { connectorName, count, fobFeedsSaid, reachGroups, sinkName } from './words.js';

// The data manager's page: per school, records that failed (each retried or dismissed here),
// connectors, last sync, imports and their errors, quarantined files, the outbox (with preview
// records readable) and connection tests that send nothing.

const msg = document.getElementById('message');
const content = document.getElementById('content');
let school;

// The connections a data manager can test here (as `doorstep check` tests them), in its order.
const CONNECTIONS = ['mis', 'records', 'channels', 'fobs'];
const headed = (c) => {
  const n = connectorName(c);
  return `${n[0].toUpperCase()}${n.slice(1)} connection`;
};

// Each connection's last test keeps its own lines (testing the records does not wipe the MIS's),
// headed with what was tested and when.
async function test(connector, out) {
  let part = out.querySelector(`[data-connector="${connector}"]`);
  if (!part) {
    part = h('div', { 'data-connector': connector });
    const parts = [...out.children, part].sort(
      (a, b) => CONNECTIONS.indexOf(a.dataset.connector) - CONNECTIONS.indexOf(b.dataset.connector),
    );
    out.replaceChildren(...parts);
  }
  const lines = h('div', {});
  part.replaceChildren(h('h3', {}, headed(connector)), lines);
  say(lines, `Testing the ${connectorName(connector)} connection…`);
  try {
    const r = await api('POST', '/api/data/test-connection', { school, connector });
    part.replaceChildren(
      h('h3', {}, `${headed(connector)}, tested ${fmtDateTime(new Date().toISOString())}`),
      ...r.results.map((x) =>
        h(
          'p',
          { class: x.ok ? (x.warning ? 'ok trust-issue' : 'ok') : 'error' },
          h('strong', {}, x.ok ? (x.warning ? 'WARNING ' : 'OK ') : 'FAILED '),
          `${x.name}: ${x.detail}`,
        ),
      ),
    );
    if (!r.results.length) part.append(h('p', {}, 'Nothing configured to test.'));
  } catch (err) {
    say(lines, err.message, true);
  }
}

// Retention: how long each kind of data is kept, and what the last purge removed (counts only).
function retentionSection(d) {
  const run = d.lastPurge;
  return h(
    'section',
    {},
    h('h2', {}, 'Retention'),
    table(
      'How long each kind of data is kept (the setting is under retention: in the config)',
      [
        ['kind', 'Kind of data'],
        ['period', 'Kept'],
        ['setting', 'Setting'],
      ],
      Object.entries(d.retention).map(([setting, period]) => ({
        kind: d.retentionWords?.[setting] ?? setting,
        period: setting.endsWith('Years')
          ? count(period, 'academic year', 'academic years')
          : count(period, 'day', 'days'),
        setting,
      })),
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

/** The fob feeds, from the same server answer as the board's: down, quiet, or arriving. */
function fobFeedsPart(feeds) {
  const said = fobFeedsSaid(feeds);
  const b = feeds?.broker;
  return h(
    'div',
    { id: 'fob-feeds' },
    h('p', { class: said.ok ? '' : 'trust-issue' }, said.text),
    feeds?.down.length
      ? h(
          'ul',
          {},
          feeds.down.map((f) =>
            h(
              'li',
              { class: 'trust-issue' },
              `${f.transport}: not arriving since ${fmtDateTime(f.since)} — ${f.reason ?? 'no connection'}`,
            ),
          ),
        )
      : null,
    feeds?.refusing?.length
      ? h(
          'ul',
          { id: 'fob-feeds-refusing' },
          feeds.refusing.map((f) =>
            h(
              'li',
              { class: 'trust-issue' },
              `${f.transport}: every message refused since ${fmtDateTime(f.since)} (${f.refused} in a row) — the last: ${f.reason ?? 'no reason kept'}. A secret or token changed on one side only, or the vendor's format changed?`,
            ),
          ),
        )
      : null,
    b?.lastEventAt
      ? h(
          'p',
          {},
          `Last event from the broker ${fmtDateTime(b.lastEventAt)} (quiet allowed: ${b.thresholdSeconds} s).`,
        )
      : null,
  );
}

async function load() {
  const d = await api('GET', `/api/data?school=${encodeURIComponent(school)}`);
  const out = h('div', { id: 'test-results', role: 'status' });
  const preview = h('pre', { id: 'record-body', class: 'record' });
  // Kept as typed through a re-read (another record retried or dismissed, a sync followed): a
  // half-typed dismissal reason and its opened form, found by their ids.
  replaceKeepingInput(content, [
    failedRecordsSection(d.recordsFailed, school, msg, load),
    await overviewSection(),
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
        // When a sync last ran without failing (one that found nothing new too), and when one last
        // changed something: a quiet week reads as a working sync, not a stopped one.
        h('dt', {}, 'Last sync'),
        h('dd', { id: 'last-sync' }, d.sync.lastOkAt ? fmtDateTime(d.sync.lastOkAt) : 'none yet'),
        h('dt', {}, 'Last import applied'),
        h('dd', { id: 'last-applied' }, d.lastSync ? fmtDateTime(d.lastSync) : 'none yet'),
        ...(d.calendarEnds
          ? [h('dt', {}, 'Calendar'), h('dd', { class: 'trust-issue', id: 'calendar-ends' }, d.calendarEnds)]
          : []),
        ...(d.marksStale
          ? [h('dt', {}, 'Marks'), h('dd', { class: 'trust-issue', id: 'marks-stale' }, d.marksStale)]
          : []),
        ...(d.sync.failingSince
          ? [
              h('dt', {}, 'Sync failing'),
              h(
                'dd',
                { class: 'trust-issue', id: 'sync-failing' },
                `Every sync since ${fmtDateTime(d.sync.failingSince)} has failed (${d.sync.failures} ${d.sync.failures === 1 ? 'try' : 'tries'}): no marks are coming in, so no trigger can fire. Last error: ${d.sync.lastError ?? 'not recorded'}`,
              ),
            ]
          : []),
        // An import's trigger evaluation given up after a day of tries: its pupils wait for the nightly run.
        ...(d.evaluationsGivenUp ?? []).flatMap((said) => [
          h('dt', {}, 'Trigger evaluation'),
          h('dd', { class: 'trust-issue evaluation-given-up' }, said),
        ]),
        h('dt', {}, 'Rejected fob messages'),
        h('dd', {}, String(d.rejectedFobEvents)),
      ),
      h(
        'div',
        { class: 'actions' },
        CONNECTIONS.map((c) =>
          h('button', { type: 'button', onclick: () => test(c, out) }, `Test ${connectorName(c)} connection`),
        ),
      ),
      out,
    ),
    importsSection(d, school, msg, load),
    h(
      'section',
      {},
      h('h2', {}, 'Who the ladders reach'),
      d.reachability.length
        ? h(
            'div',
            { id: 'reach-groups' },
            reachGroups(d.reachability).map((g) =>
              h(
                'details',
                { class: g.warning ? 'trust-issue' : '', open: g.messages.length <= 3 },
                h('summary', {}, g.said),
                h(
                  'ul',
                  {},
                  g.messages.map((m) => h('li', {}, m)),
                ),
              ),
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
      (d.watchGaps ?? []).length
        ? h(
            'ul',
            { id: 'watch-gaps' },
            d.watchGaps.map((g) => h('li', { class: 'trust-issue' }, g)),
          )
        : null,
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Fob feeds and event ids'),
      fobFeedsPart(d.fobFeeds),
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
                // Delivered, but on no student: it waits in the sink's tray for a person to attach it.
                r.unmatched ? `(unmatched: in the ${sinkName(r.sink)} tray, on no pupil yet) ` : null,
                h(
                  'button',
                  // What the sink is given besides the text (a preview: what go-live would send).
                  { type: 'button', onclick: () => showRecord(r.id, preview) },
                  `Show record ${r.id}`,
                ),
              ),
            ),
          )
        : null,
      preview,
    ),
  ]);
}

async function main() {
  await startSchoolPage((id) => {
    school = id;
    return load();
  });
}

main().catch((e) => say(msg, e.message, true));
