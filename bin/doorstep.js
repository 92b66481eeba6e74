#!/usr/bin/env node
// Doorstep's CLI entry. The sources are TypeScript run by Node's built-in type stripping
// (Node >= 22.18; `npm install` brings Node 24 into node_modules/.bin for npm scripts and npx).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `doorstep: needs Node 22.18 or newer (this is ${process.version}); run it through npx or npm scripts, which use the Node 24 that npm install brought.\n`,
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
