/**
 * What a benchmark run writes: results.json (every run, every figure, the
 * machine, the versions), results.md (tables and ratios raftbus / peer) and
 * one SVG chart per group of runs (the same workload on every target/mode).
 */
import type { RunSpec } from './args.ts';
import type { MachineInfo } from './machine.ts';
import type { ProcessFigures } from './proc.ts';
import { type ChartSeries, renderChart } from './svg.ts';
import type { LatencySummary, WorkloadResult } from './workload.ts';

export interface RunRecord {
  /** Self-describing: the workload plus target and mode. */
  name: string;
  /** The workload without the mode: runs of one group share a chart and are compared. */
  group: string;
  target: string;
  /** 'batching on' | 'batching off' (raftbus) | 'per message' (peers). */
  mode: string;
  durability: string;
  spec: RunSpec;
  startedAt: string;
  /** null when the target failed before figures existed (see error). */
  result: WorkloadResult | null;
  error: string | null;
}

export interface IdleRecord {
  name: string;
  target: string;
  partitions: number;
  replication: number;
  nodes: number;
  /** From the topic's creation until every partition had a leader. */
  leadersReadyMs: number;
  /** From the start until the nodes hosted every replica (the idle window starts then). */
  replicasReadyMs: number;
  replicasOpen: number;
  durationSec: number;
  processes: ProcessFigures[];
}

export interface Results {
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  versions: Record<string, string>;
  /** How each run got its cluster. */
  clusterPolicy: string;
  runs: RunRecord[];
  idle: IdleRecord[];
}

export function isValid(r: RunRecord): r is RunRecord & { result: WorkloadResult } {
  return r.error === null && r.result !== null && r.result.valid;
}

const num = (v: number, digits = 0): string =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';
const ms = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)}` : '-');

/** raftbus / peer; '-' when either side is missing or zero. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(a > 0) || !(b > 0)) return '-';
  return `${(a / b).toFixed(2)}x`;
}

function latencyCells(l: LatencySummary | null): string[] {
  return l ? [ms(l.p50Ms), ms(l.p99Ms), ms(l.p999Ms), ms(l.maxMs)] : ['-', '-', '-', '-'];
}

function processCell(list: ProcessFigures[], which: 'nodes' | 'bench'): string {
  const ps = list.filter((p) => (which === 'bench' ? p.name === 'bench' : p.name !== 'bench'));
  if (ps.length === 0) return '-';
  return ps.map((p) => `${num(p.cpuPercent)}% ${mib(p.rssMaxBytes)} MiB`).join(', ');
}

export function groupsOf(runs: RunRecord[]): Map<string, RunRecord[]> {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const list = groups.get(r.group) ?? [];
    list.push(r);
    groups.set(r.group, list);
  }
  return groups;
}

/** File name of a group's chart. */
export function chartFileOf(group: string): string {
  return `chart-${group.replace(/[^a-zA-Z0-9=.-]+/g, '_')}.svg`;
}

export function chartOf(group: string, runs: RunRecord[]): string {
  const series: ChartSeries[] = runs
    .filter((r) => r.result !== null)
    .map((r) => ({
      label: `${r.target} ${r.mode}${r.result!.valid ? '' : ' (INVALID)'}: ${num(r.result!.recordsPerSec)} rec/s`,
      ackCurve: r.result!.ackLatency.curve,
      e2eCurve: r.result!.endToEndLatency?.curve ?? null,
      timeline: r.result!.timeline,
      warmupSec: r.spec.warmupSec,
    }));
  return renderChart(group, series);
}

export function renderMarkdown(res: Results): string {
  const m = res.machine;
  const out: string[] = [];
  out.push(`# Cluster benchmark ${res.startedAt}`, '');
  out.push(`Command: \`${res.command}\``, '');
  out.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ${m.kernel}, Node ${m.node}; load average at start ${m.loadAverage.join(' / ')}.`,
  );
  out.push(
    `Versions: ${Object.entries(res.versions)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
  );
  out.push(`Clusters: ${res.clusterPolicy}`, '');
  if (res.runs.length > 0) {
    out.push('## Runs', '');
    out.push(
      '| run | target | mode | status | records/s | MB/s | ack p50 / p99 / p99.9 / max ms | e2e p50 / p99 / p99.9 / max ms | nodes CPU, RSS max | bench CPU, RSS max | CPU us/record nodes / bench |',
    );
    out.push('| --- | --- | --- | --- | ---: | ---: | --- | --- | --- | --- | --- |');
    for (const r of res.runs) {
      const x = r.result;
      const status = r.error ? `ERROR: ${r.error}` : x && !x.valid ? `INVALID: ${x.invalidReasons.join('; ')}` : 'ok';
      out.push(
        `| ${r.group} | ${r.target} | ${r.mode} | ${status} | ${x ? num(x.recordsPerSec) : '-'} | ${x ? num(x.payloadMBPerSec, 1) : '-'} | ${latencyCells(x?.ackLatency ?? null).join(' / ')} | ${latencyCells(x?.endToEndLatency ?? null).join(' / ')} | ${x ? processCell(x.processes, 'nodes') : '-'} | ${x ? processCell(x.processes, 'bench') : '-'} | ${x ? `${num(x.nodeCpuUsPerRecord, 1)} / ${num(x.benchCpuUsPerRecord, 1)}` : '-'} |`,
      );
    }
    out.push('');
    out.push(
      'records/s and MB/s: acknowledgements inside the measured window (after warmup) per second; MB = 10^6 bytes of values. Latency: acknowledgement = send to acknowledgement; end-to-end = consumer receive time minus the send stamp. CPU: % of one core over the window (utime+stime); RSS max: largest VmRSS sampled; CPU us/record: CPU time of all nodes together (and of the bench process) per acknowledged record in the window.',
      '',
    );
    out.push('Checks per run: requested, acked, failed, unsettled, consumed-of-acked:', '');
    for (const r of res.runs) {
      if (!r.result) continue;
      const x = r.result;
      out.push(
        `- ${r.name}: requested ${num(x.requested)}, acked ${num(x.acked)}, failed ${num(x.failed)}, unsettled ${x.unsettled}, consumed ${num(x.consumedAcked)} of ${num(x.acked)} acked (duplicates ${x.duplicatesConsumed}, unexpected ${x.unexpectedConsumed})${statsText(x.producerStats)}${x.consumerStats.resumedAfterError ? `; consumer resumed ${x.consumerStats.resumedAfterError} times after a retriable error` : ''}${x.errors.length > 0 ? `; errors: ${x.errors.join(' | ')}` : ''}`,
      );
    }
    out.push('');
    const ratios = ratioRows(res.runs);
    if (ratios.length > 0) {
      out.push('## Ratios raftbus / peer (same workload, same run; latency ratios < 1 mean raftbus is faster)', '');
      out.push(
        '| workload | raftbus mode | peer | records/s | MB/s | ack p50 | ack p99 | ack p99.9 | e2e p50 | e2e p99 | e2e p99.9 |',
      );
      out.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      out.push(...ratios, '');
    }
    out.push('## Durability of an acknowledgement', '');
    const seen = new Set<string>();
    for (const r of res.runs) {
      if (seen.has(r.target)) continue;
      seen.add(r.target);
      out.push(`- ${r.target}: ${r.durability}`);
    }
    out.push('', '## Charts', '');
    for (const group of groupsOf(res.runs).keys())
      out.push(`- ${group}: [${chartFileOf(group)}](${chartFileOf(group)})`);
    out.push('');
  }
  if (res.idle.length > 0) {
    out.push('## Idle', '');
    out.push(
      'Times from the start of the cluster. The window starts once every node hosts every replica (raftbus_raft_groups on /metrics), not merely once every partition has a leader.',
      '',
    );
    out.push(
      '| scenario | every partition led after | every replica open after | per node: CPU (% of a core), RSS max / peak MiB |',
    );
    out.push('| --- | ---: | ---: | --- |');
    for (const i of res.idle) {
      const cells = i.processes
        .filter((p) => p.name !== 'bench')
        .map((p) => `${p.name} ${p.cpuPercent.toFixed(1)}% ${mib(p.rssMaxBytes)} / ${mib(p.rssPeakBytes)}`)
        .join(', ');
      out.push(
        `| ${i.name} | ${num(i.leadersReadyMs / 1000, 1)} s | ${num(i.replicasReadyMs / 1000, 1)} s (${num(i.replicasOpen)} replicas) | ${cells} |`,
      );
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function statsText(st: Record<string, number>): string {
  const parts = Object.entries(st).map(([k, v]) => `${k} ${num(v)}`);
  const { recordsSent, batchesSent, requestsSent } = st;
  if (recordsSent && batchesSent) parts.push(`records/batch ${num(recordsSent / batchesSent, 1)}`);
  if (batchesSent && requestsSent) parts.push(`batches/request ${num(batchesSent / requestsSent, 2)}`);
  return parts.length > 0 ? `; producers: ${parts.join(', ')}` : '';
}

function ratioRows(runs: RunRecord[]): string[] {
  const rows: string[] = [];
  for (const [group, list] of groupsOf(runs)) {
    const ours = list.filter((r) => r.target === 'raftbus' && isValid(r));
    const peers = list.filter((r) => r.target !== 'raftbus' && isValid(r));
    for (const a of ours) {
      for (const b of peers) {
        const x = a.result!;
        const y = b.result!;
        rows.push(
          `| ${group} | ${a.mode} | ${b.target} | ${ratio(x.recordsPerSec, y.recordsPerSec)} | ${ratio(x.payloadMBPerSec, y.payloadMBPerSec)} | ${ratio(x.ackLatency.p50Ms, y.ackLatency.p50Ms)} | ${ratio(x.ackLatency.p99Ms, y.ackLatency.p99Ms)} | ${ratio(x.ackLatency.p999Ms, y.ackLatency.p999Ms)} | ${ratio(x.endToEndLatency?.p50Ms, y.endToEndLatency?.p50Ms)} | ${ratio(x.endToEndLatency?.p99Ms, y.endToEndLatency?.p99Ms)} | ${ratio(x.endToEndLatency?.p999Ms, y.endToEndLatency?.p999Ms)} |`,
        );
      }
    }
  }
  return rows;
}
