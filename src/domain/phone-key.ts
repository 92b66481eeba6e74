/**
 * One phone number however it was typed — "07700 900123", "+44 7700 900123", "0044 7700-900123" —
 * as one key: spaces, dashes, dots and brackets dropped, an international `00` read as `+`, and a
 * national number (leading 0) read as a UK one (+44). For telling whether two numbers are the same
 * phone, never for dialling. Pure.
 */
export function phoneKey(phone: string): string {
  const s = phone.replace(/[\s().-]/g, '');
  if (s.startsWith('+')) return s;
  if (s.startsWith('00')) return `+${s.slice(2)}`;
  if (s.startsWith('0')) return `+44${s.slice(1)}`;
  return s;
}
