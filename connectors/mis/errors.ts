import { type DoorstepError, doorstepError } from '../../src/errors.ts';
import type { Where } from './types.ts';

export function describeWhere(w: Where): string {
  const parts = [w.unit];
  if (w.line !== undefined) parts.push(`line ${w.line}`);
  if (w.record !== undefined) parts.push(`record ${w.record}`);
  return parts.join(', ');
}

/**
 * The input cannot be read as what it claims to be. Names the file, the line/record and the field,
 * and what was expected; never the value when the field may hold personal data.
 */
export function malformed(where: Where, field: string | undefined, expected: string): DoorstepError {
  const at = describeWhere(where);
  return doorstepError('IMPORT_MALFORMED', `${at}${field ? `, field ${field}` : ''}: ${expected}`, {
    details: [at, ...(field ? [field] : [])],
  });
}
