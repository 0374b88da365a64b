/** The `raftbus` command line against a real node: topics, produce from stdin, consume, bad usage. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../cli/raftbus.ts';
import { NodeProcess } from '../../client/test-support/node-process.ts';

function memoryIo(env: Record<string, string> = {}): CliIo & { out(): string; err(): string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.setEncoding('utf8').on('data', (s: string) => {
    o += s;
  });
  err.setEncoding('utf8').on('data', (s: string) => {
    e += s;
  });
  return { stdin: new PassThrough(), stdout: out, stderr: err, env, out: () => o, err: () => e };
}

const BIN = fileURLToPath(new URL('../../bin/raftbus.mjs', import.meta.url));

let dir: string;
let node: NodeProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftbus-e2e-cli-'));
  node = await NodeProcess.start({ dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (bounded by a timeout that kills it by pid). */
function raftbus(
  args: string[],
  { stdin = '', env = {} }: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, RAFTBUS_BROKER: node.address, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`raftbus ${args.join(' ')} did not finish: ${stderr}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** Runs the CLI in this process through main() (what bin/raftbus.mjs calls): the same code without a process start. */
async function inProcess(args: string[], stdin = ''): Promise<Run> {
  const io = memoryIo({ RAFTBUS_BROKER: node.address });
  (io.stdin as PassThrough).end(stdin);
  const code = await main(args, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

describe('raftbus CLI', () => {
  it('creates, lists, describes and deletes a topic', async () => {
    const created = await raftbus(['topic', 'create', 'clicks', '--partitions', '3', '--retention-ms', '3600000']);
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toContain('created topic clicks with 3 partitions');
    const listed = await inProcess(['topic', 'list', '--broker', node.address]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toContain('clicks\t3');
    const described = await inProcess(['topic', 'describe', 'clicks']);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('retentionMs=3600000');
    expect(described.stdout.trim().split('\n')).toHaveLength(2 + 3);
    const again = await raftbus(['topic', 'create', 'clicks', '--partitions', '3']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('TOPIC_ALREADY_EXISTS');
    expect((await inProcess(['topic', 'delete', 'clicks'])).code).toBe(0);
    const gone = await inProcess(['topic', 'describe', 'clicks']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('produces lines from stdin and consumes them back', async () => {
    expect((await inProcess(['topic', 'create', 'lines', '--partitions', '2'])).code).toBe(0);
    const lines = Array.from({ length: 500 }, (_, i) => `k${i % 7}\tline ${i}`);
    const produced = await raftbus(['produce', 'lines', '--keyed'], { stdin: `${lines.join('\n')}\n` });
    expect(produced.code).toBe(0);
    expect(produced.stdout).toMatch(/^produced 500 records to lines, failed 0/);
    const consumed = await raftbus(['consume', 'lines', '--count', '500', '--format', 'json', '--timeout-ms', '20000']);
    expect(consumed.code).toBe(0);
    const rows = consumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; value: string; partition: number; offset: number });
    expect(rows).toHaveLength(500);
    expect(new Set(rows.map((r) => r.value))).toEqual(new Set(lines.map((l) => l.split('\t')[1])));
    for (const r of rows)
      expect(
        r.value.endsWith(` ${r.key.slice(1)}`) || Number(r.value.split(' ')[1]) % 7 === Number(r.key.slice(1)),
      ).toBe(true);
    const text = await inProcess(['consume', 'lines', '--partition', '0', '--from', '0', '--count', '2']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toHaveLength(2);
    expect(text.stdout).toMatch(/^k\d\tline \d+\n/);
  });

  it('generates records and reports a summary', async () => {
    expect((await inProcess(['topic', 'create', 'gen', '--partitions', '1'])).code).toBe(0);
    const r = await raftbus(['produce', 'gen', '--generate', '2000', '--size', '64']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^produced 2000 records to gen, failed 0 in|^produced 2000 records to gen, failed 0,/);
    const c = await inProcess(['consume', 'gen', '--from', '1999', '--count', '1']);
    expect(c.stdout).toBe(`key-1999\t1999${'x'.repeat(60)}\n`);
  });

  it('fails with exit code 1 when consume --count is not reached in time', async () => {
    expect((await inProcess(['topic', 'create', 'empty', '--partitions', '1'])).code).toBe(0);
    const r = await inProcess(['consume', 'empty', '--count', '1', '--timeout-ms', '1500']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('got 0 of 1 records');
  });

  it('bad usage exits 2 with a message (spawned)', async () => {
    const r = await raftbus(['consume', 't', '--wat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^raftbus: /);
    expect(r.stderr).toContain('usage: raftbus consume');
  });

  // The usage matrix runs in-process through main() (what the bin calls): same code, no process start per case.
  it.each([
    [['bogus']],
    [['topic']],
    [['topic', 'create', 'x']],
    [['topic', 'create', 'x', '--partitions', 'many']],
    [['topic', 'list', 'extra']],
    [['produce']],
    [['produce', 't', '--keyed', '--key', 'k']],
    [['produce', 't', '--acks', 'all']],
    [['produce', 't', '--size', '10']],
    [['consume', 't', '--from', 'yesterday']],
    [['consume', 't', '--format', 'xml']],
    [['consume', 't', '--count', '0']],
  ])('bad usage %j returns 2 with a message', async (args) => {
    const io = memoryIo();
    expect(await main(args, io)).toBe(2);
    expect(io.err()).toMatch(/^raftbus: /);
    expect(io.err()).toContain('usage:');
    expect(io.out()).toBe('');
  });

  it('prints help with exit code 0', async () => {
    const r = await raftbus(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: raftbus <command>');
    const io = memoryIo();
    expect(await main(['produce', '--help'], io)).toBe(0);
    expect(io.out()).toContain('--generate N');
    expect(await main([], memoryIo())).toBe(2);
  });
});
