#!/usr/bin/env node
// Doorstep's CLI entry. The sources are TypeScript run by Node's built-in type stripping, and
// passwords are hashed with node:crypto's argon2 (Node >= 24.7, built with OpenSSL 3.2 or newer);
// `npm install` brings Node 24 into node_modules/.bin for npm scripts and npx.
import * as crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 7) || typeof crypto.argon2Sync !== 'function') {
  process.stderr.write(
    `doorstep: needs Node 24.7 or newer with node:crypto's argon2 (this is ${process.version}, OpenSSL ${process.versions.openssl}); run it through npx or npm scripts, which use the Node 24 that npm install brought.\n`,
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
