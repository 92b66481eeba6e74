import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { senderHash } from '../../src/store/sms-replies.ts';

describe('a phone number kept as a hash', () => {
  it('is keyed: without the key, hashing every number finds nothing', () => {
    const kept = senderHash('the-school-sms-auth-token', 'alpha', '+447700900123');
    expect(senderHash('the-school-sms-auth-token', 'alpha', '+447700900123')).toBe(kept);
    expect(senderHash('another-token', 'alpha', '+447700900123')).not.toBe(kept);
    // What an unkeyed hash of the same text would be: the number is not found by trying numbers.
    const tries = Array.from({ length: 1000 }, (_, i) => `+447700${900000 + i}`);
    const found = tries.find(
      (n) => createHash('sha256').update(`alpha\n${n}`).digest('base64url').slice(0, 22) === kept,
    );
    expect(found).toBeUndefined();
  });
});
