/**
 * One small real run: the whole runner (args -> fresh 3-node raftbus cluster ->
 * load -> checks -> results.json, results.md, SVG) for 3 s with tiny numbers.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args.ts';
import { ProgressLine } from './progress.ts';
import type { Results } from './results.ts';
import { runBench } from './run.ts';

const outDir = mkdtempSync(join(tmpdir(), 'raftbus-bench-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('bench/cluster against a real 3-node raftbus cluster', () => {
  it('runs batching off (one record per request) for 3 s, checks and writes every output', async () => {
    const args = parseBenchArgs([
      '--nodes=3',
      '--replication=3',
      '--partitions=3',
      '--size=100',
      '--producers=1',
      '--in-flight=16',
      '--batching=off',
      '--duration=3',
      '--warmup=1',
    ]);
    if (args.help) throw new Error('unexpected help');
    let printed = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        printed += String(chunk);
        cb();
      },
    });
    const res: Results = await runBench(args, {
      outDir,
      io: { stdout: sink, progress: new ProgressLine(sink as unknown as NodeJS.WriteStream) },
      command: 'test',
    });
    expect(res.runs).toHaveLength(1);
    const run = res.runs[0]!;
    expect(run.error).toBeNull();
    const x = run.result!;
    expect(x.invalidReasons).toEqual([]);
    expect(x.acked).toBeGreaterThan(0);
    expect(x.acked + x.failed).toBe(x.requested);
    expect(x.consumedAcked).toBe(x.acked);
    expect(x.recordsPerSec).toBeGreaterThan(0);
    expect(x.ackLatency.count).toBeGreaterThan(0);
    expect(x.processes.filter((p) => p.name.startsWith('node-'))).toHaveLength(3);
    for (const p of x.processes) expect(p.rssMaxBytes).toBeGreaterThan(1024 * 1024);
    expect(printed).toMatch(/target=raftbus,mode=batching-off: ok/);
    const files = readdirSync(outDir);
    expect(files).toContain('results.json');
    expect(files).toContain('results.md');
    expect(files.filter((f) => f.endsWith('.svg'))).toHaveLength(1);
    const json = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as Results;
    expect(json.runs[0]!.result!.acked).toBe(x.acked);
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.versions.raftbus).toMatch(/^raftbus /);
    expect(readFileSync(join(outDir, 'results.md'), 'utf8')).toContain('| raftbus | batching off | ok |');
    // Every node process was stopped (gone, or at most a zombie until its parent reaps it).
    for (const p of x.processes.filter((q) => q.name.startsWith('node-')))
      expect(existsSync(`/proc/${p.pid}`) && !readFileSync(`/proc/${p.pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  }, 90_000);
});
