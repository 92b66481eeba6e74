import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Background work kept off one core. The worker process (imports, trigger evaluation) and password
 * hashing already run at a lower CPU priority, but on a small machine a lower priority is not enough:
 * when an import and a burst of sign-ins keep every core busy, each wake-up on the alarm path (broker
 * → ingest → PostgreSQL → board) waits for a core to be given back, and a bare commit's p99 on this
 * machine kind doubles with two lowest-priority busy loops running (SCHED_IDLE included) while it
 * barely moves with the same two loops held to one core (README, performance). So background work
 * runs on every core but the first the process may use: the alarm path and the database always find
 * one core that background work never takes, and may still use the others.
 *
 * Linux only, through `taskset` (util-linux, on every Debian/Ubuntu install): Node has no affinity
 * call. Elsewhere, or with one core, or without `taskset`, nothing is pinned and the lower priority
 * is all there is.
 */
export type BackgroundCores = 'leave-first' | 'any';

/** `0-3,6` → [0, 1, 2, 3, 6]; throws on anything else. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part);
    if (!m) throw new Error(`expected a CPU list like 0-3,6, got ${JSON.stringify(text)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`expected a CPU range low-high, got ${JSON.stringify(part)}`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** [1, 2, 3, 6] → `1-3,6`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The CPUs background work may use given the ones the process may use: all but the lowest. */
export function backgroundCpuList(allowed: readonly number[], policy: BackgroundCores): string | undefined {
  if (policy === 'any' || allowed.length < 2) return undefined;
  return formatCpuList([...allowed].sort((a, b) => a - b).slice(1));
}

const tasksetWorks = new Map<string, boolean>();
/** Whether `taskset` is there and may hold a command to `cpus` here (a container may refuse). */
function canPin(cpus: string): boolean {
  let ok = tasksetWorks.get(cpus);
  if (ok === undefined) {
    try {
      execFileSync('taskset', ['-c', cpus, 'true'], { stdio: 'ignore', timeout: 2000 });
      ok = true;
    } catch {
      ok = false;
    }
    tasksetWorks.set(cpus, ok);
  }
  return ok;
}

/**
 * This process's background CPU list under `policy`, or undefined when nothing is to be pinned (not
 * Linux, one core, no `taskset` or not allowed to use it, or `any`).
 */
export function backgroundCpus(policy: BackgroundCores): string | undefined {
  if (policy === 'any' || process.platform !== 'linux') return undefined;
  let allowed: number[];
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const line = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
    if (!line) return undefined;
    allowed = parseCpuList(line[1]!);
  } catch {
    return undefined;
  }
  const list = backgroundCpuList(allowed, policy);
  return list !== undefined && canPin(list) ? list : undefined;
}

/** `[command, args]` that run `command args` on `cpus` (unchanged when `cpus` is undefined). */
export function onCpus(
  cpus: string | undefined,
  command: string,
  args: readonly string[],
): [string, string[]] {
  return cpus === undefined ? [command, [...args]] : ['taskset', ['-c', cpus, command, ...args]];
}

/**
 * Pins the calling thread (only it: on Linux affinity is per thread) to `cpus`; threads it starts
 * later inherit it. Returns whether it took.
 */
export function pinThisThread(cpus: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
    if (!/^\d+$/.test(tid)) return false;
    execFileSync('taskset', ['-p', '-c', cpus, tid], { stdio: 'ignore', timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}
