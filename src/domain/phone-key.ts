/**
 * One phone number however it was typed — "07700 900123", "+44 7700 900123", "0044 7700-900123",
 * "+44 (0)7700 900123" — as one key: the "(0)" written after a country code (not dialled) dropped,
 * spaces, dashes, dots and brackets dropped, an international `00` read as `+`, and a national
 * number (leading 0) read as a UK one (+44). For telling whether two numbers are the same phone;
 * `e164` says whether the key is a number that can be dialled. Pure.
 */
export function phoneKey(phone: string): string {
  const s = phone.replace(/\(0\)/g, '').replace(/[\s().-]/g, '');
  if (s.startsWith('+')) return s;
  if (s.startsWith('00')) return `+${s.slice(2)}`;
  if (s.startsWith('0')) return `+44${s.slice(1)}`;
  return s;
}

/**
 * A number as people type it, read as the SMS and call providers take it (E.164: `+`, the country
 * code, no spaces, no trunk 0 — a UK number is never +44 0…), or null when it cannot be read as a
 * phone. The one reading of a typed number: accounts keep theirs in it, the number given when
 * leaving on a visit is read by it, and every number is posted to the provider through it.
 */
export function e164(phone: string): string | null {
  const key = phoneKey(phone.trim());
  return /^\+(?!440)[1-9]\d{6,14}$/.test(key) ? key : null;
}
