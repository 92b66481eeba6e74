#!/usr/bin/env node
// Doorstep's CLI entry. The sources are TypeScript run by Node's built-in type stripping
// (Node >= 22.18; `npm install` brings Node 24 into node_modules/.bin for npm scripts and npx).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `doorstep: needs Node 22.18 or newer (this is ${process.version}); run it through npx or npm scripts, which use the Node 24 that npm install brought.\n`,
  );
  process.exit(1);
}

// `doorstep import` streams a file through many short-lived objects: a small young generation keeps
// its memory flat (and is faster). V8 takes this only on the command line, so re-run with it.
const IMPORT_FLAGS = ['--max-semi-space-size=4'];
if (process.argv[2] === 'import' && !IMPORT_FLAGS.every((f) => process.execArgv.includes(f))) {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, [...IMPORT_FLAGS, main, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
await import('../src/cli/main.ts');
