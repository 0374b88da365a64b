/**
 * Raft benchmarks (npm run bench:raft):
 *  1. commits/s of one 3-replica group, fsync on, closed loop with a window of
 *     proposals in flight: in-process hub, and 3 hosts in this one process over
 *     loopback TCP;
 *  2. CPU of 3 node processes each hosting N idle groups over TCP.
 * Prints the figures and the machine, and writes bench/raft-results.md.
 *   --quick   shorter runs (smoke check)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IdleCpuResult, runIdleCpu } from './raft/idle-cpu.ts';
import { runThroughput, type ThroughputCase, type ThroughputResult } from './raft/throughput.ts';

const quick = process.argv.includes('--quick');
const here = path.dirname(fileURLToPath(import.meta.url));

function machine(): string {
  const cpus = os.cpus();
  return (
    `${cpus[0]?.model ?? 'unknown cpu'} x${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `${os.type()} ${os.release()}, Node ${process.versions.node}, tmpdir ${os.tmpdir()}`
  );
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const throughput: ThroughputResult[] = [];
  const cases: ThroughputCase[] = [];
  for (const transport of ['memory', 'tcp'] as const) {
    for (const sizeBytes of [128, 1024]) {
      cases.push({ transport, sizeBytes, window: 1000, durationMs: quick ? 1500 : 5000, requestsMax: 5_000_000 });
    }
  }
  for (const c of cases) {
    const r = await runThroughput(c);
    throughput.push(r);
    console.log(
      `${r.name}: ${fmt(r.commitsPerSec)} commits/s (${fmt(r.mbPerSec, 1)} MB/s), p50 ${fmt(r.p50Ms, 1)} ms, ` +
        `p99 ${fmt(r.p99Ms, 1)} ms, ${fmt(r.entriesPerFsync)} entries/fsync; ` +
        `requested ${r.requested} = committed ${r.committed} + failed ${r.failed}`,
    );
  }
  const idle: IdleCpuResult[] = [];
  const idleCases = [
    { groups: 1000, quiesce: true, windowMs: quick ? 5000 : 30_000, tickMs: 50 },
    { groups: 1000, quiesce: false, windowMs: quick ? 5000 : 30_000, tickMs: 50 },
  ];
  for (const c of idleCases) {
    try {
      const r = await runIdleCpu(c);
      idle.push(r);
      console.log(
        `${r.name}: CPU per node ${r.cpuPercent.map((x) => `${x.toFixed(1)}%`).join(' / ')} ` +
          `(/proc: ${r.procCpuPercent.map((x) => `${x.toFixed(1)}%`).join(' / ')}), ` +
          `frames/s per node ${r.framesPerSecPerNode.map((x) => x.toFixed(0)).join(' / ')}, ` +
          `leaders ${r.leadersPerNode.join(' / ')}, settled in ${fmt(r.settleMs / 1000, 1)} s`,
      );
    } catch (err) {
      console.log(`nodes=3,groups=${c.groups},quiesce=${c.quiesce}: FAILED ${(err as Error).message.slice(0, 300)}`);
    }
  }
  const md = [
    '# Raft benchmark results',
    '',
    `Machine: ${machine()}.`,
    `Command: \`npm run bench:raft\`${quick ? ' -- --quick' : ''} (${new Date().toISOString()}).`,
    '',
    '## One group, 3 replicas, fsync on (commits/s)',
    '',
    'All three replicas run in ONE process (one core does the work of three nodes). `memory` = in-process hub',
    '(every batch still goes through the wire codec); `tcp` = three TcpTransports over loopback in that process.',
    'File storage in the tmpdir; a proposal resolves once applied on the leader after a quorum fsync.',
    '',
    '| case | commits/s | MB/s | p50 ms | p99 ms | entries/fsync | requested = ok + failed |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...throughput.map(
      (r) =>
        `| ${r.name} | ${fmt(r.commitsPerSec)} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ` +
        `${fmt(r.entriesPerFsync)} | ${r.requested} = ${r.committed} + ${r.failed} |`,
    ),
    '',
    '## Idle groups: CPU per node process (% of one core)',
    '',
    'Three `bench/raft/idle-node.ts` processes over loopback TCP, file storage, one 50 ms ticker per process.',
    'Measured after every group has a leader (and, with quiescing, all are quiet), over the stated window.',
    '',
    '| case | CPU % per node (cpuUsage) | CPU % per node (/proc) | frames/s per node | group ticks/s per node | leaders per node | settle s |',
    '|---|---|---|---|---|---|---:|',
    ...idle.map(
      (r) =>
        `| ${r.name} | ${r.cpuPercent.map((x) => x.toFixed(1)).join(' / ')} | ` +
        `${r.procCpuPercent.map((x) => x.toFixed(1)).join(' / ')} | ` +
        `${r.framesPerSecPerNode.map((x) => x.toFixed(0)).join(' / ')} | ` +
        `${r.groupTicksPerSecPerNode.map((x) => fmt(x)).join(' / ')} | ${r.leadersPerNode.join(' / ')} | ` +
        `${fmt(r.settleMs / 1000, 1)} |`,
    ),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(here, 'raft-results.md'), md);
  console.log(`wrote ${path.join(here, 'raft-results.md')}`);
}

await main();
