#!/usr/bin/env node
// Doorstep's CLI entry. The sources are TypeScript run by Node's built-in type stripping
// (Node >= 22.18; `npm install` brings Node 24 into node_modules/.bin for npm scripts and npx).
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `doorstep: needs Node 22.18 or newer (this is ${process.version}); run it through npx or npm scripts, which use the Node 24 that npm install brought.\n`,
  );
  process.exit(1);
}

// Some commands want V8 flags that only the command line sets (src/runtime/node-flags.ts says which
// and why): run again with them, in place — the same pid, so signals and supervisors see one process.
const { execArgvFor } = await import('../src/runtime/node-flags.ts');
const args = process.argv.slice(2);
const flags = execArgvFor(args, process.execArgv);
if (flags.join(' ') !== process.execArgv.join(' ') && typeof process.execve === 'function') {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  process.execve(process.execPath, [process.execPath, ...flags, main, ...args], process.env);
}
await import('../src/cli/main.ts');
