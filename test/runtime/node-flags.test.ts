import { describe, expect, it } from 'vitest';
import {
  execArgvFor,
  IMPORT_NODE_FLAGS,
  INGEST_NODE_FLAGS,
  nodeFlagsFor,
} from '../../src/runtime/node-flags.ts';

describe('the Node flags a command runs with', () => {
  it('start: the alarm path heap size wherever the ingest role runs, by every way of giving --role', () => {
    for (const args of [
      ['start'],
      ['start', '--config', 'x.yaml'],
      ['start', '--role', 'ingest'],
      ['start', '--role', 'all'],
      ['start', '-r', 'web,ingest'],
      ['start', '--role=ingest'],
      ['start', '-ringest,web'],
      ['start', '--role', 'web', '--role', ' ingest'],
    ])
      expect(nodeFlagsFor(args), args.join(' ')).toEqual(INGEST_NODE_FLAGS);
    for (const args of [
      ['start', '--role', 'web,worker'],
      ['start', '--role', 'worker'],
      ['start', '-r', 'web'],
      ['start', '--role=ingest', '--role', 'web'],
    ])
      expect(nodeFlagsFor(args), args.join(' ')).toEqual([]);
  });

  it('import: the small young generation; other commands: none', () => {
    expect(nodeFlagsFor(['import', 'a.xml'])).toEqual(IMPORT_NODE_FLAGS);
    expect(nodeFlagsFor(['check'])).toEqual([]);
    expect(nodeFlagsFor([])).toEqual([]);
    // Another command's --role (an account's roles) says nothing about the process.
    expect(nodeFlagsFor(['user', 'add', '--role', 'ingest'])).toEqual([]);
  });

  it('adds what the command wants, drops what it does not, keeps every other flag', () => {
    expect(execArgvFor(['start'], [])).toEqual(INGEST_NODE_FLAGS);
    expect(execArgvFor(['start'], ['--inspect', ...INGEST_NODE_FLAGS])).toEqual([
      '--inspect',
      ...INGEST_NODE_FLAGS,
    ]);
    // A worker child started from an ingest process: not the alarm path's heap size.
    expect(execArgvFor(['start', '--role', 'worker'], ['--inspect', ...INGEST_NODE_FLAGS])).toEqual([
      '--inspect',
    ]);
    expect(execArgvFor(['import', 'a.xml'], [...INGEST_NODE_FLAGS])).toEqual(IMPORT_NODE_FLAGS);
    expect(execArgvFor(['check'], [])).toEqual([]);
  });
});
