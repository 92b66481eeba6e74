import { ArborPastoralSink } from './arbor-pastoral/sink.ts';
import { CpomsSink } from './cpoms/sink.ts';
import { PreviewSink } from './preview/sink.ts';
import type { RecordsSettings } from './settings.ts';
import type { RecordSink } from './types.ts';

/** A school's sinks by name: its main one (every kind) and its `alsoRecordTo` ones (their kinds). */
export function sinkSettingsOf(school: {
  readonly records: RecordsSettings;
  readonly alsoRecordTo: readonly (RecordsSettings & { kinds: readonly string[] })[];
}): { settings: RecordsSettings; kinds: readonly string[] | 'all' }[] {
  return [
    { settings: school.records, kinds: 'all' },
    ...school.alsoRecordTo.map((s) => ({ settings: s, kinds: s.kinds })),
  ];
}

/** The settings of the school's sink of this name (an outbox row's `sink`), if it has one. */
export function sinkSettingsNamed(
  school: Parameters<typeof sinkSettingsOf>[0],
  sink: string,
): RecordsSettings | undefined {
  return sinkSettingsOf(school).find((e) => e.settings.sink === sink)?.settings;
}

/** The sink for one set of settings. */
export function sinkOf(r: RecordsSettings): RecordSink {
  switch (r.sink) {
    case 'cpoms':
      return new CpomsSink({ baseUrl: r.baseUrl, token: r.token, wire: r.wire, timeoutMs: r.timeoutMs });
    case 'arbor-pastoral':
      return new ArborPastoralSink({
        baseUrl: r.baseUrl,
        username: r.username,
        password: r.password,
        timeoutMs: r.timeoutMs,
        noteType: r.noteType,
      });
    case 'preview':
      return new PreviewSink();
  }
}
