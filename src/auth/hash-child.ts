import { argon2Sync, scryptSync } from 'node:crypto';

/**
 * Password hashing in a process of its own, started by src/auth/password.ts under `nice` and
 * `taskset` (the background cores) from its first instruction. Not a thread of the web process: each
 * hash maps its memory (argon2id 19 MB, a stored scrypt hash 128 MB) and faults every page of it in
 * (~32,000 faults an scrypt hash, ~100,000 a second while sign-ins ran), and in a shared address space those faults and the unmapping after each hash take
 * the same memory-map lock the board's event loop needs whenever it touches new memory — so a burst
 * of sign-ins stalled the delivery of live alarms. Here they are this process's alone.
 *
 * One job at a time (`{ id, password, salt, len, o }` → `{ id, key }` or `{ id, error }`); nothing is
 * logged, and a password never leaves this process except as its derived key; it is given none of
 * its parent's environment. Its parent gone (the IPC channel closes), it ends: a parent that is
 * SIGKILLed never leaves a hasher behind.
 */
/** What one hash is made with: the algorithm and its parameters (src/auth/password.ts reads them from a stored hash). */
export type KdfParams =
  | { alg: 'argon2id'; memory: number; passes: number; parallelism: number }
  | { alg: 'scrypt'; N: number; r: number; p: number };

interface Job {
  id: number;
  password: string;
  salt: Uint8Array;
  len: number;
  o: KdfParams;
}

function derive(m: Job): Uint8Array {
  if (m.o.alg === 'argon2id')
    return argon2Sync('argon2id', {
      message: m.password,
      nonce: m.salt,
      memory: m.o.memory,
      passes: m.o.passes,
      parallelism: m.o.parallelism,
      tagLength: m.len,
    });
  return scryptSync(m.password, m.salt, m.len, { N: m.o.N, r: m.o.r, p: m.o.p, maxmem: 256 * 1024 * 1024 });
}

process.on('message', (m: Job) => {
  let reply: { id: number; key: Uint8Array } | { id: number; error: string };
  try {
    reply = { id: m.id, key: derive(m) };
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
  }
  process.send?.(reply);
});
process.on('disconnect', () => process.exit(0));
// Not ended by the signals a terminal's Ctrl-C or a service manager sends the whole process group:
// its parent may still be finishing the sign-ins in flight as it stops, and when the parent is gone
// the channel closes and this ends (above). A hasher that stops answering is killed by its parent.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
