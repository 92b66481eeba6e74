import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * Background work kept off one core. The worker process (imports, trigger evaluation) and password
 * hashing already run at a lower CPU priority, but on a small machine a lower priority is not enough:
 * when an import and a burst of sign-ins keep every core busy, each wake-up on the alarm path (broker
 * → ingest → PostgreSQL → board) waits for a core to be given back, and a bare commit's p99 on this
 * machine kind doubles with two lowest-priority busy loops running (SCHED_IDLE included) while it
 * barely moves with the same two loops held to one core (docs/benchmarks.md, `npm run bench:cores`). So background work
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

/** The programs used, by absolute path (never looked up in PATH). */
const tool = (name: string) => [`/usr/bin/${name}`, `/bin/${name}`].find((p) => existsSync(p));
const TASKSET = tool('taskset');
const NICE = tool('nice');
const TRUE = tool('true');

const run = promisify(execFile);

/**
 * Whether `taskset` may hold a command to `cpus` here now (a container's CPU set may refuse it, or
 * shrink after start). Runs `taskset -c cpus true` without blocking the event loop: the process
 * asking may be the one delivering alarms.
 */
export async function canPin(cpus: string): Promise<boolean> {
  if (TASKSET === undefined || TRUE === undefined) return false;
  try {
    await run(TASKSET, ['-c', cpus, TRUE], { timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Where this process's background work runs under `policy`: `cpus` (undefined: anywhere), and
 * `skipped` when it could have been kept off a core and is not (for the operator's log).
 */
export async function backgroundCpus(
  policy: BackgroundCores,
): Promise<{ cpus: string | undefined; skipped?: string }> {
  if (policy === 'any' || process.platform !== 'linux') return { cpus: undefined };
  let allowed: number[];
  try {
    const line = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!line) return { cpus: undefined, skipped: 'no Cpus_allowed_list in /proc/self/status' };
    allowed = parseCpuList(line[1]!);
  } catch (err) {
    return { cpus: undefined, skipped: `/proc/self/status: ${(err as Error).message}` };
  }
  const list = backgroundCpuList(allowed, policy);
  if (list === undefined) return { cpus: undefined }; // one core: nothing to keep free
  if (TASKSET === undefined) return { cpus: undefined, skipped: 'taskset not found (util-linux)' };
  if (!(await canPin(list))) return { cpus: undefined, skipped: `taskset may not use CPUs ${list} here` };
  return { cpus: list };
}

/**
 * The command that runs `command args` at niceness `nice` and, when `cpus` is given, held to those
 * CPUs — both from the first instruction, so every thread the program starts inherits them.
 * `niced: false` when the `nice` program is missing: the caller lowers the priority itself.
 */
export function backgroundCommand(
  o: { cpus: string | undefined; nice: number },
  command: string,
  args: readonly string[],
): { command: string; args: string[]; niced: boolean } {
  const chain: string[] = [];
  const niced = o.nice > 0 && NICE !== undefined;
  if (niced) chain.push(NICE!, '-n', String(o.nice));
  if (o.cpus !== undefined && TASKSET !== undefined) chain.push(TASKSET, '-c', o.cpus);
  if (chain.length === 0) return { command, args: [...args], niced };
  return { command: chain[0]!, args: [...chain.slice(1), command, ...args], niced };
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
    if (TASKSET === undefined) return false;
    execFileSync(TASKSET, ['-p', '-c', cpus, tid], { stdio: 'ignore', timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}
