import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backgroundCommand,
  backgroundCpuList,
  backgroundCpus,
  canPin,
  formatCpuList,
  parseCpuList,
} from '../../src/core/background-cpus.ts';

describe('background cores', () => {
  it('reads and writes the kernel’s CPU lists', () => {
    expect(parseCpuList('0-1')).toEqual([0, 1]);
    expect(parseCpuList('0-3,6,8-9\n')).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(formatCpuList([9, 1, 2, 3, 6, 8])).toBe('1-3,6,8-9');
    expect(formatCpuList([4])).toBe('4');
    for (const bad of ['', '1-', 'a', '3-1', '1,,2', '0-99999'])
      expect(() => parseCpuList(bad), bad).toThrow(/CPU (list|range)/);
  });

  it('round-trips any set of CPUs', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 64 }),
        (cpus) => {
          const sorted = [...cpus].sort((a, b) => a - b);
          expect(parseCpuList(formatCpuList(cpus))).toEqual(sorted);
        },
      ),
    );
  });

  it('leaves the first CPU the process may use to the alarm path, and pins nothing on one core or with any', () => {
    expect(backgroundCpuList([0, 1], 'leave-first')).toBe('1');
    expect(backgroundCpuList([2, 3, 4, 5, 7], 'leave-first')).toBe('3-5,7');
    expect(backgroundCpuList([5, 3], 'leave-first')).toBe('5');
    expect(backgroundCpuList([0], 'leave-first')).toBeUndefined();
    expect(backgroundCpuList([0, 1, 2], 'any')).toBeUndefined();
  });

  it('runs a command under nice and taskset, by their absolute paths, only as asked', () => {
    expect(backgroundCommand({ cpus: undefined, nice: 0 }, '/usr/bin/node', ['a.ts', '--x'])).toEqual({
      command: '/usr/bin/node',
      args: ['a.ts', '--x'],
      niced: false,
    });
    const run = backgroundCommand({ cpus: '1-3', nice: 10 }, '/usr/bin/node', ['a.ts']);
    expect(run.command).toMatch(/^\/(usr\/)?bin\/nice$/);
    expect(run.niced).toBe(true);
    expect(run.args).toEqual([
      '-n',
      '10',
      expect.stringMatching(/^\/(usr\/)?bin\/taskset$/),
      '-c',
      '1-3',
      '/usr/bin/node',
      'a.ts',
    ]);
  });

  it('checks that the CPUs may be used here before pinning to them, and pins nothing under any', async () => {
    expect(await backgroundCpus('any')).toEqual({ cpus: undefined });
    expect(await canPin('4095')).toBe(false); // no such CPU: taskset refuses
    const here = await backgroundCpus('leave-first');
    if (here.cpus !== undefined) expect(await canPin(here.cpus)).toBe(true);
    else expect(here.skipped ?? 'one core').toBeTruthy();
  });
});
