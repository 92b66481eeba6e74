// Plain words the pages share (no DOM: the tests import this module on its own).

/** "1 account", "2 accounts", "0 accounts". */
export function count(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

const SINK_NAMES = { cpoms: 'CPOMS', 'arbor-pastoral': 'Arbor' };

/** What happens to a visit outcome's record: "on its way" only when a sink really sends it. */
export function outcomeSaid(sinks) {
  const sent = (sinks ?? []).filter((s) => s !== 'preview').map((s) => SINK_NAMES[s] ?? s);
  if (sent.length > 0) return `Outcome recorded: the record is on its way to ${sent.join(' and ')}.`;
  return 'Outcome recorded. Records for this school are in preview: nothing is sent to CPOMS yet (the Data page shows the note that would be).';
}
