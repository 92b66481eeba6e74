/**
 * Text that came from outside (a dropped file's name, an error message quoting a file) made safe to
 * write into a one-line note, a log line or a page: control characters (newlines included), the
 * Unicode line/paragraph separators and the bidirectional formatting characters (which can make a
 * name read backwards, e.g. `invoice<RLO>txt.exe`) become `_`.
 */
const UNSAFE = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

/** One line of outside text, unable to break a line or reorder what follows it. */
export function safeText(text: string): string {
  return text.replace(UNSAFE, '_');
}

/** A file name to show or record: `safeText`, and without path separators either. */
export function safeFileName(name: string): string {
  return safeText(name).replace(/[/\\]/g, '_');
}
