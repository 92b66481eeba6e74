import { api, bdi, fmtDateTime, fmtTime, h, say } from './app.js';
import { syncRefused, syncSaid } from './words.js';

// The data page's imports: each import with pupils added / updated and marks, its rejected rows grouped
// by why (count and first examples), marks on closed days, and "Sync now" (queues the school's sync).

export function table(caption, cols, rows) {
  return h(
    'table',
    // It scrolls sideways on a narrow screen (a refused import's long error): reachable by keyboard.
    { tabindex: '0' },
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

// Whole-school closures ('#', 'Y4') the register records on days the calendar has the school open:
// the trigger rules already treat those days as closed; the calendar should list them. Counts only.
const CLOSURE = { '#': 'planned whole-school closure', Y4: 'whole site unexpectedly closed' };
function registerClosures(imports) {
  const withClosures = imports.filter((i) => i.register_closure_count > 0);
  if (!withClosures.length) return null;
  return h(
    'div',
    { id: 'register-closures' },
    h(
      'p',
      { class: 'trust-issue' },
      "The register has the school closed all day on days the school calendar has as school days. The trigger rules already count those days as closed. If the school was closed, add the days to the calendar in the config (calendar.closures) so that every count agrees; if only a few pupils' marks say so, correct those marks in the MIS.",
    ),
    withClosures.map((i) =>
      h(
        'details',
        {},
        h(
          'summary',
          {},
          `Import ${i.id} (${i.unit}): ${i.register_closure_count} day(s) closed in the register, open in the calendar`,
        ),
        h(
          'ul',
          {},
          i.register_closures.map((c) =>
            h(
              'li',
              {},
              `${c.date} — ${c.codes.map((x) => `${x} (${CLOSURE[x] ?? 'closed'})`).join(', ')}: ${c.marks} mark(s) of ${c.pupils} pupil(s)`,
            ),
          ),
          i.register_closure_count > i.register_closures.length
            ? h('li', {}, `… and ${i.register_closure_count - i.register_closures.length} more`)
            : null,
        ),
      ),
    ),
  );
}

function rejectionsOf(i) {
  const r = i.rejections;
  if (!r || r.total === 0) return null;
  return h(
    'details',
    { class: 'rejections' },
    h(
      'summary',
      {},
      `Import ${i.id} (`,
      bdi(i.unit),
      `): ${r.total} rejected row${r.total === 1 ? '' : 's'}`,
    ),
    h(
      'ul',
      {},
      r.groups.map((g) =>
        h(
          'li',
          {},
          h('strong', {}, `${g.rows} × ${g.cause}`),
          h(
            'ul',
            {},
            g.idKind
              ? h(
                  'li',
                  {},
                  `${g.ids} ${g.ids === 1 ? g.idKind.replace(/s$/, '') : g.idKind}: `,
                  bdi(g.first.join(', ')),
                  g.ids > g.first.length ? ', …' : '',
                )
              : null,
            h('li', {}, 'first at ', bdi(g.firstAt)),
          ),
        ),
      ),
    ),
  );
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows a queued sync until it is done (or failed), saying where it is; then re-reads the page
 * and says how many imports it made. Gives up saying so after 3 minutes (the job goes on).
 */
async function followSync(jobId, school, before, msg, reload) {
  const started = Date.now();
  while (Date.now() - started < 180_000) {
    await pause(1500);
    let job;
    try {
      job = await api(
        'GET',
        `/api/data/sync/${encodeURIComponent(jobId)}?school=${encodeURIComponent(school)}`,
      );
    } catch (err) {
      return say(msg, `Sync queued; its progress cannot be read (${err.message}).`, true);
    }
    if (job.state === 'completed') {
      const made = await importsSince(school, before);
      const settling = job.stillWriting ?? 0;
      await reload();
      say(msg, syncSaid(job, { ...made, settling }, fmtTime(job.finishedAt)), syncRefused(made));
      // Files still being written (just copied in) are imported by the folder's next sync, seconds
      // on: the page reads its imports again until they are there, and says what came of them.
      if (settling > 0)
        await awaitSettling(school, before, made.applied + made.refused + made.again + settling, msg, reload);
      return;
    }
    if (job.state === 'failed') {
      await reload();
      return say(msg, syncSaid(job, 0), true);
    }
    say(msg, syncSaid(job, 0));
  }
  say(msg, 'Sync still not done after 3 minutes: reload the page later to see its import.');
}

/**
 * The imports made since the import `before` (an id): applied, refused (a file quarantined) and
 * already imported (the same bytes again, not applied) apart.
 */
async function importsSince(school, before) {
  const fresh = await api('GET', `/api/data?school=${encodeURIComponent(school)}`);
  const theirs = fresh.imports.filter((i) => Number(i.id) > before);
  const refused = theirs.filter((i) => i.status === 'refused').length;
  // A file whose very bytes were imported before is recorded, not applied again.
  const again = theirs.filter((i) => i.status === 'already-imported').length;
  return { applied: theirs.length - refused - again, refused, again };
}

/** How often, and how many times, the page looks for the files a sync found still being written. */
const SETTLING_LOOK_MS = 2000;
const SETTLING_LOOKS = 20;

/**
 * After a sync that found files still being written: reads the imports again every 2 s (for up to
 * 40 s) until `expected` imports have been made since `before` (those files applied or refused),
 * then draws the page again and says what the files came to.
 */
async function awaitSettling(school, before, expected, msg, reload) {
  for (let look = 0; look < SETTLING_LOOKS; look++) {
    await pause(SETTLING_LOOK_MS);
    const made = await importsSince(school, before).catch(() => null);
    if (made && made.applied + made.refused + made.again >= expected) {
      await reload();
      return say(
        msg,
        syncSaid({ state: 'completed' }, made, fmtTime(new Date().toISOString())),
        syncRefused(made),
      );
    }
  }
  await reload();
  say(msg, 'The files still being written have not been imported yet: reload the page later to see them.');
}

function syncNow(d, school, msg, reload) {
  const button = h(
    'button',
    {
      type: 'button',
      id: 'sync-now',
      onclick: async () => {
        button.disabled = true;
        const before = Math.max(0, ...d.imports.map((i) => Number(i.id)));
        try {
          const r = await api('POST', '/api/data/sync', { school });
          say(msg, syncSaid({ state: 'waiting' }, 0));
          if (r.jobId) await followSync(r.jobId, school, before, msg, reload);
        } catch (err) {
          say(msg, err.message, true);
        } finally {
          button.disabled = false;
        }
      },
    },
    'Sync now',
  );
  return button;
}

/**
 * What "no rejected rows" means beside refused files: a refused file is refused whole — none of its
 * rows applied, so none is listed as rejected — and its Error says why (newcomer walk: "No rejected
 * rows" under a refused import read as if it had gone in).
 */
export function noRejectedRows(imports) {
  const refused = imports.filter((i) => i.status === 'refused').length;
  if (!refused) return 'No rejected rows.';
  return `No rejected rows in the imports applied. ${refused === 1 ? '1 file was' : `${refused} files were`} refused whole — nothing of ${refused === 1 ? 'it' : 'them'} was applied: the Error column says why.`;
}

export function importsSection(d, school, msg, reload) {
  const rows = d.imports.map((i) => ({
    ...i,
    finished: fmtDateTime(i.finished_at),
    pupils: `${i.pupils_inserted} added, ${i.pupils_updated} updated`,
  }));
  const withRejections = d.imports.map(rejectionsOf).filter(Boolean);
  return h(
    'section',
    { 'aria-labelledby': 'imports-h' },
    h('h2', { id: 'imports-h' }, 'Imports'),
    h('div', { class: 'actions' }, syncNow(d, school, msg, reload)),
    d.imports.length
      ? table(
          'Latest imports',
          [
            ['id', 'Id'],
            ['finished', 'When'],
            ['unit', 'File / page'],
            ['status', 'Status'],
            ['pupils', 'Pupils'],
            ['marks_inserted', 'Marks new'],
            ['marks_updated', 'Marks changed'],
            ['rejected', 'Rejected rows'],
            ['calendar_problems', 'Marks on closed days'],
            ['error', 'Error'],
          ],
          rows,
        )
      : h('p', {}, 'No imports yet.'),
    h('h3', {}, 'Rejected rows, by reason'),
    withRejections.length ? withRejections : h('p', {}, noRejectedRows(d.imports)),
    calendarProblems(d.imports),
    registerClosures(d.imports),
  );
}
