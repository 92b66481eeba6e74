import type { Redis } from 'ioredis';

/**
 * Sessions that ended (signed out, or every session of a user disabled or given a new password) are
 * announced on this Redis channel, so every process closes the live streams they hold at once.
 */
export function sessionsChannel(prefix: string): string {
  return `${prefix}:sessions-ended`;
}

/** One session (by its token hash) or every session of one user. */
export type SessionsEnded = { tokenHash: string } | { userId: string };

/** Tells every process, after the commit that ended the session(s). A lost message is caught by the streams' periodic re-check. */
export async function publishSessionsEnded(
  publisher: Redis | undefined,
  prefix: string,
  ended: SessionsEnded,
): Promise<void> {
  if (!publisher) return;
  await publisher.publish(sessionsChannel(prefix), JSON.stringify(ended)).catch(() => 0);
}

export function parseSessionsEnded(message: string): SessionsEnded | undefined {
  try {
    const m = JSON.parse(message) as Record<string, unknown>;
    if (typeof m.tokenHash === 'string') return { tokenHash: m.tokenHash };
    if (typeof m.userId === 'string') return { userId: m.userId };
  } catch {
    // not ours
  }
  return undefined;
}
