#!/usr/bin/env node
// The `raftbus` command: runs the compiled CLI (dist/) when built, else the
// TypeScript source directly (Node >= 22.18 / 24 strips types).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli/raftbus.js', import.meta.url);
const target = existsSync(fileURLToPath(built)) ? built : new URL('../cli/raftbus.ts', import.meta.url);
const { main } = await import(target.href);
const code = await main(process.argv.slice(2));
if (process.argv[2] !== 'node') process.exitCode = code;
