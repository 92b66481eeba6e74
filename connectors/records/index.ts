import { ArborPastoralSink } from './arbor-pastoral/sink.ts';
import { CpomsSink } from './cpoms/sink.ts';
import { PreviewSink } from './preview/sink.ts';
import type { RecordsSettings } from './settings.ts';
import type { RecordSink } from './types.ts';

/** The record sink a school's config asks for. */
export function sinkFor(school: { readonly records: RecordsSettings }): RecordSink {
  const r = school.records;
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
