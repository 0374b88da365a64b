/**
 * runNodeCli in a real child process: it prints its one line, serves, exits 0
 * on SIGTERM after a graceful stop, and exits 2 on a bad flag.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey, type MetadataResponse } from './protocol/api.ts';
import { RawClient } from './server/test-support.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function runCli(args: string[]): { child: ChildProcess; exited: Promise<number | null>; stdout: () => string } {
  const script = `import { runNodeCli } from ${JSON.stringify(MAIN)}; await runNodeCli(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => out };
}

function waitForLine(get: () => string, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = (): void => {
      const m = get().match(re);
      if (m) resolve(m);
      else if (Date.now() > deadline) reject(new Error(`no line matching ${re} in: ${get()}`));
      else setTimeout(check, 20);
    };
    check();
  });
}

describe('raftbus node (runNodeCli)', () => {
  it('prints where it listens, serves, and exits 0 on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raftbus-cli-'));
    dirs.push(dir);
    const run = runCli([
      '--port',
      '0',
      '--http-port',
      'off',
      '--data-dir',
      dir,
      '--node-id',
      '7',
      '--log-level',
      'warn',
    ]);
    const m = await waitForLine(run.stdout, /raftbus node 7 listening on 127\.0\.0\.1:(\d+) data=(\S+)\n/);
    expect(m[2]).toBe(dir);
    const c = await RawClient.connect(Number(m[1]));
    await c.handshake();
    const md = await c.call<MetadataResponse>(ApiKey.Metadata, {});
    expect(md.body.brokers[0]!.nodeId).toBe(7);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    await c.closed;
  });

  it('exits 2 and names the flag on bad configuration', async () => {
    const run = runCli(['--port', 'ninety']);
    expect(await run.exited).toBe(2);
    expect(run.stdout()).toMatch(/--port/);
  });
});
