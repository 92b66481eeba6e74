// Plain words the pages share (no DOM: the tests import this module on its own).

/** "1 account", "2 accounts", "0 accounts". */
export function count(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

const SINK_NAMES = { cpoms: 'CPOMS', 'arbor-pastoral': 'Arbor' };

/** A record sink as people say it: CPOMS, Arbor. */
export function sinkName(sink) {
  return SINK_NAMES[sink] ?? sink;
}

/** The sinks of `bySink` (how many records per sink) as people say them: "CPOMS", "CPOMS and Arbor". */
export function sinksSaid(bySink) {
  const names = Object.entries(bySink ?? {})
    .filter(([, n]) => n > 0)
    .map(([s]) => sinkName(s));
  return names.length ? names.join(' and ') : 'CPOMS / Arbor';
}

/**
 * The board's line for records that failed to reach their sink (`bySink`: how many per sink), or
 * null when none did: the data manager retries or dismisses them on the Data page.
 */
export function recordsFailedSaid(bySink) {
  const total = Object.values(bySink ?? {}).reduce((n, k) => n + k, 0);
  if (!total) return null;
  return `${count(total, 'record')} failed to reach ${sinksSaid(bySink)} and ${total === 1 ? 'is' : 'are'} not sent: the data manager retries or dismisses ${total === 1 ? 'it' : 'them'} on the Data page.`;
}

/**
 * What happens to a visit outcome's record: "on its way" only when a sink really sends it; in preview,
 * who can see the note (the Data page is the data manager's: the staff recording it cannot open it). With
 * concerns typed into it and nobody the school names to be told of them, it says so loudly (as
 * "Raise a concern now" does): the concern is in a record nobody may read today — phone the DSL.
 */
export function outcomeSaid(sinks, concerns = { typed: false, told: true }) {
  const sent = (sinks ?? []).filter((s) => s !== 'preview').map((s) => SINK_NAMES[s] ?? s);
  const record =
    sent.length > 0
      ? `Outcome recorded: the record is on its way to ${sent.join(' and ')}.`
      : 'Outcome recorded. Records for this school are in preview: nothing is sent to CPOMS yet. Your data manager can see the note that would be sent, on the Data page.';
  if (concerns.typed && !concerns.told)
    return {
      text: `${record} Its concerns reach no one: the school names no one to be told of a concern — phone the DSL now.`,
      alert: true,
    };
  return record;
}

/**
 * What a school's policy asks of the staff going on a visit (its `visits.competence`), in a sentence;
 * null when it asks nothing.
 */
export function trainingNeeds(p) {
  const asks = [
    p.homeVisitTraining ? 'home-visit training recorded for everyone going' : null,
    p.firstVisitWithExperienced
      ? 'a first home visit made with someone experienced (a visit made in Doorstep, or experience recorded here)'
      : null,
    p.safeguardingTrainedMember ? 'at least one of those going trained in safeguarding' : null,
  ].filter(Boolean);
  return asks.length ? `${p.name}: ${asks.join('; ')}.` : null;
}

/** What became of an alarm command (acknowledge, resolve), from the server's outcome. */
export function alarmOutcomeSaid(alarmId, outcome) {
  switch (outcome) {
    case 'acknowledged':
      return `Alarm ${alarmId} acknowledged.`;
    case 'resolved':
      return `Alarm ${alarmId} resolved.`;
    case 'already-acknowledged':
      return `Alarm ${alarmId} was already acknowledged by someone else.`;
    case 'already-resolved':
      return `Alarm ${alarmId} was already resolved.`;
    case 'missing':
      return `Alarm ${alarmId} is no longer there.`;
    default:
      return `Alarm ${alarmId}: ${outcome ?? 'done'}.`;
  }
}

/** Where an alarm's ladder is: "level 2 of 2 sent (round 3)", numbered within the ladder. */
export function escalationSaid(a) {
  if (a.level === null) return 'paused while acknowledged';
  const l = a.levelSent;
  if (!l) return 'starting';
  return `level ${l.level} of ${l.of} sent${l.round > 1 ? ` (round ${l.round})` : ''}`;
}

/**
 * Whose ladder an alarm follows, when a period's, after its level: " (weekend ladder)"; at a weekend
 * or in a holiday that names none for its kind, the out-of-hours one — said so, never a "weekend
 * ladder" the school does not have. Not recorded (an alarm raised before it was kept): the period.
 */
export function ladderSaid(a) {
  if (!a.ladderPeriod) return '';
  const words = (p) => p.replace(/-/g, ' ');
  if (!a.ladderUsed) return ` (raised ${PERIOD_WHEN[a.ladderPeriod] ?? words(a.ladderPeriod)})`;
  if (a.ladderUsed === a.ladderPeriod) return ` (${words(a.ladderUsed)} ladder)`;
  return ` (${words(a.ladderUsed)} ladder, ${PERIOD_WHEN[a.ladderPeriod] ?? words(a.ladderPeriod)})`;
}

const PERIOD_WHEN = {
  'school-hours': 'in school hours',
  'out-of-hours': 'out of hours',
  weekend: 'at the weekend',
  holiday: 'in a holiday',
};

/**
 * An alarm card's escalation, in the order the card shows it: where the ladder is (whose ladder, and
 * a level brought forward because the messages of the level before it failed); what to do now (the
 * words of the level last sent: a level's instruction is never only in the past); and the next step
 * (not sent, when the ladder has stalled). Each `{ term, text, alert }`; `time` formats an instant.
 */
export function escalationFacts(a, time) {
  const facts = [];
  const l = a.levelSent;
  const early = l?.broughtForward
    ? ` — sent at once, not at its time: level ${l.level - 1}’s messages failed${
        l.broughtForward.failed.length
          ? ` (${l.broughtForward.failed.map((t) => t.replace(':', ' → ')).join(', ')})`
          : ''
      }`
    : '';
  facts.push({ term: 'Escalation', text: `${escalationSaid(a)}${ladderSaid(a)}${early}`, alert: !!early });
  if (a.level !== null && l?.prompt) facts.push({ term: 'Now', text: l.prompt, alert: false, now: true });
  const n = a.nextStep;
  if (n)
    // What the step will do, then (when the level has its own words) what its messages say: a
    // prompt such as "senior leadership paged" is the message, not something already done. A
    // stalled ladder's step was due and is not sent: never read as still to come.
    facts.push({
      term: 'Next step',
      text: `${
        n.overdue
          ? `NOT SENT — due at ${time(n.dueAt)}: ${n.targets.toLowerCase()}; ${
              // The card lists no one to phone (none configured with a number): never "phone them".
              Array.isArray(a.phoneThem) && a.phoneThem.length === 0
                ? 'no one in them to phone (below)'
                : 'phone them yourself'
            }`
          : `At ${time(n.dueAt)}: ${n.targets.toLowerCase()}`
      }${n.prompt !== n.targets ? ` — “${n.prompt}”` : ''}`,
      alert: n.overdue,
    });
  return facts;
}

/** The alarms the wearer raises unseen (a duress, a silent alarm): a phone ringing on them can give them away. */
const UNSEEN_TYPES = ['duress', 'silent'];

/**
 * What an alarm's card says while no one outside the office knows of it — every message failed, or
 * its ladder stalled (`warning`) — or null: its badge, and `phone`, the "Phone yourself" line when
 * the card has no one to list. With people to phone (`phoneThem`) the badge points at the list below;
 * with none — no contacts with a phone number configured for the groups (`phoneNoOneIn`), or only
 * the people the alarm is about — it says so and what the office does instead: call the worker
 * directly (or, with no number for them, says so and to use the staff contact list), then its
 * emergency plan; for a duress or silent alarm never "ring the worker".
 */
export function unheardSaid(a) {
  if (a.warning !== 'no-one-reached' && a.warning !== 'ladder-stalled') return null;
  const failed = a.warning === 'no-one-reached';
  const head = failed
    ? 'EVERY MESSAGE FAILED — no one else knows'
    : 'ESCALATION HAS STOPPED — no one is being paged';
  if (a.phoneThem?.length)
    return {
      badge: `${head}: phone ${failed ? 'them' : 'the next step’s people'} yourself (below)`,
      phone: null,
    };
  const unseen = !a.fromPhone && UNSEEN_TYPES.includes(a.type);
  const groups = a.phoneNoOneIn ?? [];
  const none = groups.length
    ? `no contacts with a phone number are configured for ${groups.join(', ')}`
    : 'there is no one else to phone';
  const plan = 'follow your school’s emergency plan (999 if you fear for them)';
  // No number for the worker nor their partner: "call the worker directly" is no step the office can
  // take from the card, so it names them and where a number is (the school's own staff list).
  const noNumber = !a.staffPhone && !a.partnerPhone;
  const worker = a.staffName ?? 'the worker';
  const them = a.partnerName ? `${worker} or ${a.partnerName} (partner)` : worker;
  const instead = unseen
    ? `${plan}; do not ring the worker — a phone ringing on them can give a ${a.type} alarm away`
    : noNumber
      ? `Doorstep has no phone number for ${them} — ring them from your staff contact list, then ${plan}`
      : `call the worker directly (under Call), then ${plan}`;
  return {
    badge: `${head}, and ${groups.length ? 'no one to phone is configured' : 'there is no one else to phone'}: ${
      unseen
        ? 'follow your emergency plan (do not ring the worker)'
        : noNumber
          ? `ring ${them} from your staff contact list (Doorstep has no number), then follow your emergency plan`
          : 'call the worker directly, then follow your emergency plan'
    }`,
    phone: `No one to list: ${none}${groups.length ? ' (the school’s contacts: tell your admin)' : ''}. ${
      instead[0].toUpperCase() + instead.slice(1)
    }.`,
  };
}

/** A card's line when a person on the alarm's visit said back safe from the phone after it was raised. */
export function backSafeSaid(time) {
  return `marked from the phone at ${time}, after this alarm — call them to be sure, then resolve it (it stays open until you do)`;
}

/**
 * A failed delivery on the board: a record to a sink, an alarm's notification, or a notice to named
 * people. `time` is when (folded: "17:23–17:29"); a folded line says how many (`foldFailed`).
 */
export function failedSaid(f, time) {
  if (f.what === 'notification')
    return `Alarm ${f.alarmId}: ${f.detail.replace(':', ' → ')} at ${time}: ${f.error ?? ''}${f.count > 1 ? ` (${f.count} times)` : ''}`;
  if (f.what === 'notice') {
    const [kind, ...target] = f.detail.split(':');
    return `Notice (${kind.replace(/-/g, ' ')})${f.visitId ? ` of visit ${f.visitId}` : ''} → ${target.join(':')} at ${time}: ${f.error ?? ''}`;
  }
  return `Record ${f.id} (${f.detail}) at ${time}: ${f.error ?? ''}`;
}

/**
 * The badge of a line under Failed deliveries: FAILED only for one that failed. A record still being
 * tried (its sink answering "come back later", written over an hour ago) is NOT DELIVERED YET — it is
 * not failed and may still land: recorded by hand in CPOMS meanwhile, the note would be there twice;
 * a notice to named people tried and still not sent an hour on is NOT SENT YET (red: no one is told).
 * `alarm`: shown red.
 */
export function failedBadge(f) {
  if (!f.pending) return { text: 'FAILED', alarm: true };
  if (f.what === 'notice') return { text: 'NOT SENT YET', alarm: true };
  return { text: 'NOT DELIVERED YET', alarm: false };
}

/**
 * What Failed deliveries was not sent, by kind (`failedNotShown` in /api/board: each kind has its own
 * lines, the rest counted): one sentence a kind with any, never left out unsaid.
 */
export function failedNotShownSaid(more) {
  const n = (k, one, many) => `and ${k} more ${k === 1 ? one : many}`;
  return [
    more?.notices
      ? `${n(more.notices, 'notice to named people', 'notices to named people')} not sent, older than those listed — no one was told of ${more.notices === 1 ? 'it' : 'them'}: ask the safeguarding team.`
      : null,
    more?.records
      ? `${n(more.records, 'failed record', 'failed records')}, older than those listed: every one is on the Data page.`
      : null,
    more?.pending
      ? `${n(more.pending, 'record', 'records')} not delivered yet, written after those listed: still being tried.`
      : null,
  ].filter(Boolean);
}

// What each kind of ladder problem is, said once over the lines of that kind (the data page).
const REACH_KINDS = {
  'reaches-no-one': [
    'level reaches no one: its notification will fail',
    'levels reach no one: their notifications will fail',
  ],
  'some-unreachable': [
    'level leaves some of its people unreachable',
    'levels leave some of their people unreachable',
  ],
  'no-person': ['ladder tells only the board, never a person', 'ladders tell only the board, never a person'],
  'repeats-board-only': [
    'ladder repeats on the board alone once its rounds are spent',
    'ladders repeat on the board alone once their rounds are spent',
  ],
  'late-first-person': [
    'ladder reaches its first person late out of school hours',
    'ladders reach their first person late out of school hours',
  ],
  'seen-by-wearer': ['level posts where the wearer may see it', 'levels post where the wearer may see them'],
  'no-reports': ['channel gives no delivery reports', 'channels give no delivery reports'],
  'replies-unverifiable': [
    'channel asks for replies it cannot verify',
    'channels ask for replies they cannot verify',
  ],
};

/**
 * The data page's "Who the ladders reach": one group per kind of problem (a school with every ladder
 * board-only had thirty red lines one after another), the groups with a warning first, each headed
 * with how many and what they are, its lines kept whole beneath.
 */
export function reachGroups(problems) {
  const groups = new Map();
  for (const p of problems) {
    const g = groups.get(p.kind) ?? { kind: p.kind, warning: false, messages: [] };
    g.warning ||= Boolean(p.warning);
    g.messages.push(p.message);
    groups.set(p.kind, g);
  }
  return [...groups.values()]
    .sort((a, b) => Number(b.warning) - Number(a.warning))
    .map((g) => {
      const n = g.messages.length;
      const todo = g.kind === 'reaches-no-one' ? channelsToSet(g.messages) : null;
      // Every one of them for want of a channel not set up yet (a new install, the example config):
      // what there is to do, not something broken.
      if (todo)
        return {
          ...g,
          said: `${n} ${n === 1 ? 'level reaches' : 'levels reach'} no one yet: ${todo.join(' and ')} ${
            todo.length === 1 ? 'is' : 'are'
          } not configured — to do: set ${todo.length === 1 ? 'it' : 'them'} up, with the contacts ${
            n === 1 ? 'it names' : 'they name'
          }`,
        };
      const [one, many] = REACH_KINDS[g.kind] ?? [`problem (${g.kind})`, `problems (${g.kind})`];
      return { ...g, said: `${n} ${n === 1 ? one : many}` };
    });
}

/** The channels (`channels.sms`, …) whose absence is the whole of `messages`, or null when something else is. */
function channelsToSet(messages) {
  const channels = new Set();
  for (const m of messages) {
    const c = /, but (channels\.[a-z-]+) is not configured: it reaches no one$/.exec(m);
    if (!c) return null;
    channels.add(c[1]);
  }
  return channels.size ? [...channels] : null;
}

const CONNECTOR_NAMES = { mis: 'MIS', records: 'records', channels: 'channels', fobs: 'fob broker' };

/** A connector as people say it: the MIS, records, channels, the fobs' MQTT broker. */
export function connectorName(c) {
  return CONNECTOR_NAMES[c] ?? c;
}

/**
 * The data page's line about a "Sync now": queued, running, done (with the imports it made, or that
 * the drop folder had nothing new), or failed. `made` is the imports the sync made: a number (all
 * applied), or `{ applied, refused, settling }` — a refused file is said first, as an error
 * (`syncRefused`), never counted as a "new import"; files the sync found still being written
 * (`settling`, just copied in) are said to come in a few seconds, never "nothing new".
 */
export function syncSaid(job, made, time) {
  const {
    applied,
    refused,
    again = 0,
    settling = 0,
  } = typeof made === 'number' ? { applied: made, refused: 0 } : made;
  if (job.state === 'completed') {
    const same =
      again > 0
        ? ` ${count(again, 'file')} ${again === 1 ? 'was' : 'were'} imported before (the same bytes): not applied again.`
        : '';
    const writing =
      settling > 0
        ? ` ${count(settling, 'file')} ${settling === 1 ? 'is' : 'are'} still being written: ${settling === 1 ? 'it' : 'they'} will be imported in a few seconds (this page shows ${settling === 1 ? 'it' : 'them'} below).`
        : '';
    if (refused > 0)
      return `Sync done at ${time}: ${count(refused, 'file')} refused — see below${
        applied > 0 ? `; ${count(applied, 'new import')}` : ''
      }.${same}${writing}`;
    if (applied > 0) return `Sync done at ${time}: ${count(applied, 'new import')} (below).${same}${writing}`;
    return settling > 0
      ? `Sync done at ${time}: nothing imported yet.${same}${writing}`
      : `Sync done at ${time}: nothing new to import.${same}`;
  }
  if (job.state === 'failed')
    return 'Sync failed: the server’s log says why (a refused file is listed below).';
  if (job.state === 'active') return 'Sync running: the MIS is being read…';
  return 'Sync queued: the MIS is read next; this line says when it is done.';
}

/** Whether a finished sync's line is an error: it refused a file. */
export function syncRefused(made) {
  return typeof made !== 'number' && made.refused > 0;
}

/**
 * The fob feeds of a school as one line, from the server's `fobFeeds` (the board and the data page
 * read the same): not arriving, connected but quiet (or nothing yet), or arriving.
 */
export function fobFeedsSaid(feeds) {
  if (!feeds) return { ok: true, text: 'No fob feed is configured for this school.' };
  if (feeds.down.length) return { ok: false, text: 'Fob alarms from this school are NOT arriving.' };
  if (feeds.refusing?.length)
    return {
      ok: false,
      text: 'A fob feed is sending messages Doorstep refuses, every one: alarms may not be arriving.',
    };
  const b = feeds.broker;
  if (b?.silent)
    return {
      ok: false,
      text:
        b.secondsAgo === null
          ? 'No event from the broker yet: fob alarms are not known to arrive.'
          : 'The broker has been quiet for longer than the school allows: fob alarms may not be arriving.',
    };
  return { ok: true, text: 'Every fob feed is arriving.' };
}

/** A day as the board's toolbar says it, in Europe/London: "Tuesday 1 December 2026" (whatever the ICU's punctuation). */
export function daySaid(at) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/London',
  }).formatToParts(at);
  const part = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('weekday')} ${part('day')} ${part('month')} ${part('year')}`;
}

/**
 * The board's day in its toolbar: the London date its answer is for (`day`, "2026-12-05" — the day of
 * its "Today's visits" and "Resolved today"), so a board left open over midnight turns the page's
 * date with its lists, never keeping the day it was opened on. `now`: without the server's day.
 */
export function boardDaySaid(day, now) {
  // Noon UTC of that date is the same date in London, summer or winter.
  return daySaid(/^\d{4}-\d{2}-\d{2}$/.test(day ?? '') ? new Date(`${day}T12:00:00Z`) : now);
}

/**
 * An alarm's notifications as its card lists them: the same message to the same target with the same
 * outcome, sent again round after round (every text failing for want of a channel), is one line with
 * its first and last time and how many — not sixteen lines pushing Acknowledge off the screen.
 */
export function foldTold(notifications) {
  return foldRepeats(
    notifications,
    (n) => n.target,
    (line, n) => line.delivery === n.delivery && line.deliveryText === n.deliveryText,
  );
}

/**
 * The board's failed deliveries folded as the alarm cards fold their Told lines (`foldTold`): an
 * alarm's same message to the same people failing the same way, round after round, is one line with
 * its first and last time and count (`count`, `firstAt`, `lastAt`); newest first. A record or a
 * notice is one message however often it was tried: never folded with another.
 */
export function foldFailed(failed) {
  const oldestFirst = [...(failed ?? [])].sort((a, b) => a.at.localeCompare(b.at));
  return foldRepeats(
    oldestFirst,
    (f) => (f.what === 'notification' ? `notification ${f.alarmId} ${f.detail}` : `${f.what} ${f.id}`),
    (line, f) => line.error === f.error,
  ).sort((a, b) => b.lastAt.localeCompare(a.lastAt));
}

/**
 * Repeats folded, oldest first: an item folds into the latest line of its `key` while `same(line,
 * item)` holds (count, lastAt), else starts a new line — so failed, delivered, failed is three lines,
 * the last one said the latest outcome.
 */
function foldRepeats(items, key, same) {
  const lines = [];
  const latest = new Map();
  for (const n of items ?? []) {
    const line = latest.get(key(n));
    if (line && same(line, n)) {
      line.count++;
      line.lastAt = n.at;
    } else {
      const fresh = { ...n, firstAt: n.at, lastAt: n.at, count: 1 };
      latest.set(key(n), fresh);
      lines.push(fresh);
    }
  }
  return lines;
}

/**
 * Thames View 3.5, as the board's visit card and the phone page say it: the parent/carer's warning
 * that they are running late (`n`: `at`, `by` — the name of who recorded it, `cancelAfterMinutes` —
 * the pack's lateness limit), with `time` the pages' clock format.
 */
export function parentLateSaid(n, time) {
  const by = n.by ? ` by ${n.by}` : '';
  const limit = n.cancelAfterMinutes
    ? `; cancel once they are over ${n.cancelAfterMinutes} minutes late`
    : '';
  return `Parent said they are running late — recorded${by} at ${time(n.at)}: do not go in until they arrive${limit}`;
}

/**
 * How far off a position may be, in the unit a reader takes in: "±12 m", "±1.5 km", "±150 km" (a
 * tablet placed by its IP address or Wi-Fi) — never "±150000 m", and never rounded away. The same
 * words as the lone-worker incident record's (src/records/templates/lone-worker-incident.ts
 * `accuracySaid`; a test holds the two to one table).
 */
export function accuracySaid(metres) {
  if (metres < 1000) return `±${Math.round(metres)} m`;
  const km = metres / 1000;
  return `±${km < 10 ? Number(km.toFixed(1)) : Math.round(km).toLocaleString('en-GB')} km`;
}
