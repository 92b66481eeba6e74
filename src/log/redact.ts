/**
 * Personal data and secrets must never reach a log line. Pino's path-based `redact` needs every
 * path spelled out in advance; Doorstep logs objects from many sources (MIS rows, fob payloads,
 * HTTP headers), so instead every log object is walked and any field whose *name* says it holds
 * personal data or a secret is replaced, at any depth. Field names are compared after lower-casing
 * and dropping `_`, `-` and spaces, so `first_name`, `FirstName` and `first-name` are one key
 * (and `mis_id`, `misId` and `MIS ID`).
 */
export const REDACTED = '[redacted]';

const EXACT_KEYS = [
  // names
  'name',
  'names',
  'fullname',
  'firstname',
  'forename',
  'forenames',
  'legalforename',
  'preferredforename',
  'middlename',
  'middlenames',
  'surname',
  'lastname',
  'legalsurname',
  'preferredsurname',
  'familyname',
  'givenname',
  'preferredname',
  'displayname',
  'staffname',
  'pupilname',
  'studentname',
  'parentname',
  'contactname',
  'username',
  // pupil ids: a CTF school's pupil id is the UPN, a national identifier that stays with the
  // child; an MIS id is the pupil's too. Logs carry Doorstep's own ids (alarm, visit, import,
  // school), never a pupil's.
  'upn',
  'upns',
  'misid',
  'misids',
  'pupilmisid',
  'pupilmisids',
  'pupilid',
  'pupilids',
  // addresses and location
  'address',
  'addresses',
  'street',
  'town',
  'city',
  'county',
  'locality',
  'postcode',
  'zip',
  'zipcode',
  'latitude',
  'longitude',
  'lat',
  'lon',
  'lng',
  'location',
  'coordinates',
  // contact details
  'phone',
  'phones',
  'telephone',
  'tel',
  'mobile',
  'mobilephone',
  'homephone',
  'workphone',
  'email',
  'emailaddress',
  'contacts',
  // dates of birth
  'dob',
  'dateofbirth',
  'birthdate',
  'birthday',
  // free text
  'note',
  'notes',
  'body',
  'text',
  'comment',
  'comments',
  'description',
  'freetext',
  'content',
  'summary',
  'agreements',
  'concerns',
  'reason',
  'message',
  'risknotes',
  'safeword',
  // secrets and credentials
  'password',
  'passphrase',
  'token',
  'accesstoken',
  'refreshtoken',
  'apikey',
  'secret',
  'clientsecret',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'webhooksignature',
  'xapikey',
  'credentials',
].map(normaliseKey);

const EXACT = new Set(EXACT_KEYS);
/** Fragments that mark a key as sensitive wherever they appear in it. */
const FRAGMENTS = [
  'address',
  'phone',
  'postcode',
  'password',
  'secret',
  'token',
  'surname',
  'forename',
  'birth',
  'upn',
];

/** Fields of an Error that Doorstep writes itself and that carry no personal data. */
const ERROR_FIELDS = new Set(['type', 'message', 'stack', 'code']);
/**
 * Fields of a database error that quote the data it was given, never logged: PostgreSQL's `detail` (a
 * key's values), `where` (the JSON around a bad character), `internalQuery`, `hint`; and what the
 * embedded store (PGlite) attaches to every error it throws — the query's `params` and its
 * `queryOptions` (a pupil's name, address, a fob's position). The SQL text (`query`) holds
 * placeholders only and is kept.
 */
const ERROR_DATA_FIELDS = new Set(['detail', 'where', 'hint', 'internalQuery', 'params', 'queryOptions']);

/**
 * An error's message (or stack), without the value a database's data exception quotes: PostgreSQL
 * (and PGlite) write the bad input into the message of every SQLSTATE class 22 error —
 * `invalid input syntax for type integer: "Amelia"`. Every other message is Doorstep's own or names
 * objects (a table, a constraint), and is kept.
 */
function errorMessage(err: Error, text: string | undefined = err.message): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^22[0-9A-Z]{3}$/.test(code) || text === undefined) return text;
  // From the first quote to the last on each line: PostgreSQL does not escape a quote inside the
  // value it quotes, so pairing quotes would leave part of a value with one (`Am"elia`) in the log.
  return text
    .split('\n')
    .map((line) => {
      const first = line.indexOf('"');
      if (first < 0) return line;
      const last = line.lastIndexOf('"');
      return last > first
        ? `${line.slice(0, first)}"${REDACTED}"${line.slice(last + 1)}`
        : `${line.slice(0, first)}"${REDACTED}`;
    })
    .join('\n');
}

/**
 * The same error with the value a database data exception quotes cut from its message and stack, for
 * what is kept outside the logs: a failed job's reason and stack trace in Redis (shown on
 * /admin/queues). Any other thrown value is returned as it is.
 */
export function withoutQuotedData<T>(err: T): T {
  if (!(err instanceof Error)) return err;
  const message = errorMessage(err);
  if (message === err.message) return err;
  const stack = errorMessage(err, err.stack);
  err.message = message ?? '';
  if (stack !== undefined) err.stack = stack;
  return err;
}

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[\s_-]/g, '');
}

export function isSensitiveKey(key: string): boolean {
  const k = normaliseKey(key);
  return EXACT.has(k) || FRAGMENTS.some((f) => k.includes(f));
}

/**
 * Returns a copy of `value` with sensitive fields replaced. Errors keep their message, code and
 * stack (messages are written by Doorstep and carry ids only). Cycles are cut.
 */
export function redactDeep(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, seen));
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  const source =
    value instanceof Error
      ? { ...value, type: value.name, message: errorMessage(value), stack: errorMessage(value, value.stack) }
      : (value as Record<string, unknown>);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (!(value instanceof Error) && typeof toJSON === 'function') {
    return redactDeep(toJSON.call(value), seen);
  }
  const isError = value instanceof Error;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(source)) {
    const keep = isError && ERROR_FIELDS.has(key);
    const data = isError && ERROR_DATA_FIELDS.has(key);
    out[key] =
      !keep && (data || isSensitiveKey(key)) && v !== undefined && v !== null
        ? REDACTED
        : redactDeep(v, seen);
  }
  return out;
}
