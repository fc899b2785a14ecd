#!/usr/bin/env node
// A `solc` command line for py-solc-x, brownie and Slither, backed by the official solcjs (npm `solc`).
// `--version` answers in the native format (py-solc-x parses `+commit.`); `--standard-json` reads the input
// JSON on stdin, resolves imports from --base-path, --include-path and node_modules, and prints only the JSON.
'use strict';
const fs = require('fs');
const path = require('path');

const projectRoot = path.resolve(__dirname, '..');
const solc = require(path.join(projectRoot, 'node_modules', 'solc'));

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc-shim: only --version and --standard-json are supported (got: ' + args.join(' ') + ')\n');
  process.exit(2);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--base-path' || args[i] === '--include-path') roots.push(path.resolve(args[++i]));
  else if (args[i] === '--allow-paths') i++; // solcjs has no file-system sandbox to configure
}
roots.push(process.cwd(), projectRoot, path.join(projectRoot, 'node_modules'));

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    } catch (e) {
      // try the next root
    }
  }
  return { error: 'File not found: ' + importPath + ' (searched ' + roots.join(', ') + ')' };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
