import type { Redis } from 'ioredis';

/** Removes every key a test file created under its unique prefix, then disconnects. */
export async function dropRedisPrefix(conn: Redis, prefix: string): Promise<void> {
  const keys = await conn.keys(`${prefix}:*`);
  if (keys.length) await conn.del(...keys);
  conn.disconnect();
}
