import { scryptSync } from 'node:crypto';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

/**
 * A password hash off the main thread, at a lower CPU priority: on Linux a thread's nice value is its
 * own, so setting it here lowers only this thread — a burst of sign-ins yields the cores to the alarm
 * path and PostgreSQL instead of competing with them.
 */
try {
  setPriority(10);
} catch {
  // Not permitted here: the hash still runs, at normal priority.
}

interface Job {
  id: number;
  password: string;
  salt: Uint8Array;
  len: number;
  o: { N: number; r: number; p: number };
}

parentPort!.on('message', (m: Job) => {
  try {
    const key = scryptSync(m.password, m.salt, m.len, { ...m.o, maxmem: 256 * 1024 * 1024 });
    parentPort!.postMessage({ id: m.id, key });
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
});
