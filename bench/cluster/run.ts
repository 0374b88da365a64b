/**
 * `npx node bench/cluster/run.ts [options]` (see args.ts for the options):
 * runs the workload matrix against raftbus and, with --vs, the peers, one
 * fresh cluster per run; prints a summary, writes results.json, results.md and
 * one SVG per group into --out; exits 1 when any run is INVALID or failed,
 * 2 on bad arguments.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BenchArgs,
  benchUsage,
  expandMatrix,
  parseBenchArgs,
  type RunSpec,
  runName,
  type TargetName,
} from './args.ts';
import { BenchArgsError } from './errors.ts';
import { machineInfo } from './machine.ts';
import { ProcessSampler } from './proc.ts';
import { ProgressLine } from './progress.ts';
import { raftbusTarget } from './raftbus-target.ts';
import {
  chartFileOf,
  chartOf,
  groupsOf,
  type IdleRecord,
  isValid,
  type Results,
  type RunRecord,
  renderMarkdown,
} from './results.ts';
import type { BenchTarget } from './target.ts';
import { runWorkload } from './workload.ts';

/** How long the idle scenario waits for every replica to be open before it measures. */
const idleReplicasTimeoutMs = 600_000;

export type TargetFactory = (name: TargetName) => Promise<BenchTarget>;

/** Peers come from bench/peers/<name>.ts (natsTarget, rabbitmqTarget), loaded only when asked for. */
export function defaultTargets(a: BenchArgs): TargetFactory {
  return async (name) => {
    if (name === 'raftbus') {
      return raftbusTarget({
        ...(a.target ? { brokers: a.target } : {}),
        ...(a.profileDir ? { profileDir: resolve(a.profileDir) } : {}),
      });
    }
    const file = `../peers/${name}.ts`;
    const mod = (await import(file)) as Record<string, unknown>;
    const make = mod[`${name}Target`];
    if (typeof make !== 'function') throw new Error(`bench/peers/${name}.ts exports no ${name}Target()`);
    return (make as () => BenchTarget)();
  };
}

export interface BenchIo {
  stdout: NodeJS.WritableStream;
  progress: ProgressLine;
}

function utcStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** One run: a fresh cluster (or a fresh topic on --target), the workload, the stop. */
async function runOne(target: BenchTarget, spec: RunSpec, mode: string, io: BenchIo): Promise<RunRecord> {
  const group = runName(spec).replace(/,batching=(on|off)$/, '');
  const rec: RunRecord = {
    name: `${group},target=${target.name},mode=${mode.replace(' ', '-')}`,
    group,
    target: target.name,
    mode,
    durability: target.durability,
    spec,
    startedAt: new Date().toISOString(),
    result: null,
    error: null,
  };
  const dir = mkdtempSync(join(tmpdir(), `raftbus-bench-${target.name}-`));
  try {
    await target.start({ nodes: spec.nodes, replication: spec.replication, partitions: spec.partitions, dir });
    rec.result = await runWorkload(target, spec, {
      onProgress: (p) => io.progress.update(`${target.name} ${mode}`, p),
    });
  } catch (err) {
    rec.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } finally {
    io.progress.done();
    await target.stop().catch((err: unknown) => {
      rec.error ??= `stop failed: ${(err as Error).message}`;
    });
    rmSync(dir, { recursive: true, force: true });
  }
  const x = rec.result;
  io.stdout.write(
    x
      ? `${rec.name}: ${x.valid ? 'ok' : `INVALID (${x.invalidReasons.join('; ')})`} ${Math.round(x.recordsPerSec).toLocaleString('en-US')} records/s, ${x.payloadMBPerSec.toFixed(1)} MB/s, ack p50 ${x.ackLatency.p50Ms.toFixed(2)} p99 ${x.ackLatency.p99Ms.toFixed(2)} p99.9 ${x.ackLatency.p999Ms.toFixed(2)} ms${x.endToEndLatency ? `, e2e p50 ${x.endToEndLatency.p50Ms.toFixed(2)} p99 ${x.endToEndLatency.p99Ms.toFixed(2)} ms` : ''}\n`
      : `${rec.name}: ERROR ${rec.error}\n`,
  );
  return rec;
}

/** The idle scenario: a topic of N partitions, every partition led, then CPU and RSS per node. */
async function runIdle(a: BenchArgs, io: BenchIo): Promise<IdleRecord> {
  const partitions = a.idlePartitions!;
  const target = raftbusTarget({
    spreadOverTopics: true,
    ...(a.profileDir ? { profileDir: resolve(a.profileDir) } : {}),
  });
  const dir = mkdtempSync(join(tmpdir(), 'raftbus-bench-idle-'));
  try {
    const t0 = Date.now();
    await target.start({ nodes: a.nodes, replication: a.replication, partitions, dir });
    const leadersReadyMs = Date.now() - t0;
    const expected = partitions * a.replication;
    const replicas = await target.waitForReplicas(expected, idleReplicasTimeoutMs);
    const replicasReadyMs = Date.now() - t0;
    if (replicas < expected)
      io.stdout.write(
        `idle: only ${replicas} of ${expected} replicas open after ${replicasReadyMs} ms; measuring anyway\n`,
      );
    const sampler = new ProcessSampler(target.processes());
    sampler.begin();
    const ticker = setInterval(() => sampler.sample(), 1_000);
    await new Promise((r) => setTimeout(r, a.durationSec * 1_000));
    clearInterval(ticker);
    const rec: IdleRecord = {
      name: `idle,nodes=${a.nodes},rf=${a.replication},partitions=${partitions},topics=${Math.ceil(partitions / 1024)},duration=${a.durationSec}s`,
      target: target.name,
      partitions,
      replication: a.replication,
      nodes: a.nodes,
      leadersReadyMs,
      replicasReadyMs,
      replicasOpen: replicas,
      durationSec: a.durationSec,
      processes: sampler.end(),
    };
    io.stdout.write(
      `${rec.name}: cluster start + leaders ${(leadersReadyMs / 1000).toFixed(1)} s, every replica open ${(replicasReadyMs / 1000).toFixed(1)} s; ${rec.processes.map((p) => `${p.name} ${p.cpuPercent.toFixed(1)}% CPU ${(p.rssMaxBytes / 2 ** 20).toFixed(0)} MiB`).join(', ')}\n`,
    );
    return rec;
  } finally {
    await target.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs everything the arguments ask for; returns the results (also written to `outDir`). */
export async function runBench(
  a: BenchArgs,
  o: { targets?: TargetFactory; io?: BenchIo; outDir?: string; command?: string } = {},
): Promise<Results> {
  const io = o.io ?? { stdout: process.stdout, progress: new ProgressLine() };
  const targets = o.targets ?? defaultTargets(a);
  const started = new Date();
  const outDir = resolve(o.outDir ?? a.out ?? join('bench-results', utcStamp(started)));
  mkdirSync(outDir, { recursive: true });
  const res: Results = {
    command: o.command ?? `npx node bench/cluster/run.ts ${process.argv.slice(2).join(' ')}`,
    startedAt: started.toISOString(),
    finishedAt: '',
    machine: machineInfo(),
    versions: {},
    clusterPolicy: a.target
      ? `raftbus: the running cluster at ${a.target.join(',')} (a fresh topic per run); peers: a fresh cluster per run`
      : 'a fresh cluster per run and target (new processes, new data dir), stopped after the run',
    runs: [],
    idle: [],
  };
  if (a.idlePartitions !== null) {
    res.versions.raftbus = await (await targets('raftbus')).version();
    res.idle.push(await runIdle(a, io));
  } else {
    const names: TargetName[] = ['raftbus', ...a.vs];
    for (const name of names) {
      try {
        res.versions[name] = await (await targets(name)).version();
      } catch (err) {
        res.versions[name] = `unavailable: ${(err as Error).message}`;
      }
    }
    for (const spec of expandMatrix(a)) {
      res.runs.push(await runOne(await targets('raftbus'), spec, spec.batching ? 'batching on' : 'batching off', io));
      // Peers publish one message per request whatever the batching: one run per group, with the last batching.
      const last = spec.batching === (a.batching.at(-1) === 'on');
      if (!last) continue;
      for (const peer of a.vs) {
        let target: BenchTarget;
        try {
          target = await targets(peer);
        } catch (err) {
          const group = runName(spec).replace(/,batching=(on|off)$/, '');
          res.runs.push({
            name: `${group},target=${peer},mode=per-message`,
            group,
            target: peer,
            mode: 'per message',
            durability: 'unknown',
            spec: { ...spec, batching: false },
            startedAt: new Date().toISOString(),
            result: null,
            error: `target unavailable: ${(err as Error).message}`,
          });
          io.stdout.write(`${peer}: unavailable: ${(err as Error).message}\n`);
          continue;
        }
        res.runs.push(await runOne(target, { ...spec, batching: false }, 'per message', io));
      }
    }
  }
  res.finishedAt = new Date().toISOString();
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(res, null, 2)}\n`);
  writeFileSync(join(outDir, 'results.md'), renderMarkdown(res));
  for (const [group, runs] of groupsOf(res.runs)) writeFileSync(join(outDir, chartFileOf(group)), chartOf(group, runs));
  io.stdout.write(`results: ${outDir}/results.md\n`);
  return res;
}

/** Exit code: 0 all valid, 1 a run INVALID or failed, 2 bad arguments. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof BenchArgsError) {
      process.stderr.write(`bench: ${err.message}\n${benchUsage}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${benchUsage}\n`);
    return 0;
  }
  const res = await runBench(parsed);
  const bad = res.runs.filter((r) => !isValid(r));
  for (const r of bad)
    process.stderr.write(`INVALID ${r.name}: ${r.error ?? r.result?.invalidReasons.join('; ') ?? 'no result'}\n`);
  return bad.length > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
