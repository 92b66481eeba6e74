import { scryptSync } from 'node:crypto';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { pinThisThread } from '../core/background-cpus.ts';

/**
 * A password hash off the main thread, at a lower CPU priority and on the background cores: on Linux
 * a thread's nice value and its CPU affinity are its own, so setting them here changes only this
 * thread — a burst of sign-ins yields the cores to the alarm path and PostgreSQL, and never takes the
 * one kept for them (src/core/background-cpus.ts).
 */
try {
  setPriority(10);
} catch {
  // Not permitted here: the hash still runs, at normal priority.
}
const cpus = (workerData as { cpus?: string } | null)?.cpus;
if (cpus !== undefined) pinThisThread(cpus);

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
