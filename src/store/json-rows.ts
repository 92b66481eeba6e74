/**
 * A text column's value in rows sent as one JSON document (read with `jsonb_to_recordset`), stored as
 * a one-row write stores it. node-pg and PGlite send a lone surrogate (text cut inside an emoji) as
 * U+FFFD; JSON text escapes it (`\ud83d`), which PostgreSQL's JSON parser refuses, failing the whole
 * batch with "invalid input syntax for type json". (In a jsonb column, a one-row write refuses it too.)
 */
export function textCell<T extends string | null | undefined>(value: T): T {
  return (typeof value === 'string' ? value.toWellFormed() : value) as T;
}
