/**
 * The benchmark's command line: parsed, validated, and expanded into the
 * matrix of runs (the cartesian product of every list-valued option). Bad
 * input is a BenchArgsError naming the option.
 */
import { BenchArgsError } from './errors.ts';

export const targetNames = ['raftbus', 'nats', 'rabbitmq'] as const;
export type TargetName = (typeof targetNames)[number];
export type BatchingMode = 'on' | 'off';

export interface BenchArgs {
  nodes: number;
  replication: number;
  durationSec: number;
  warmupSec: number;
  consumers: boolean;
  /** Peers run after raftbus, with the same workload. */
  vs: TargetName[];
  /** host:port of an already-running raftbus cluster (no cluster is started). */
  target: string[] | null;
  out: string | null;
  /** Partitions of the idle scenario; null: the load scenario. */
  idlePartitions: number | null;
  /** Write V8 CPU profiles of the raftbus nodes here (node --cpu-prof). */
  profileDir: string | null;
  /** Matrix dimensions. */
  sizes: number[];
  partitions: number[];
  producers: number[];
  inFlight: number[];
  batching: BatchingMode[];
}

/** One cell of the matrix, run once per target. */
export interface RunSpec {
  nodes: number;
  replication: number;
  partitions: number;
  sizeBytes: number;
  producers: number;
  inFlight: number;
  batching: boolean;
  durationSec: number;
  warmupSec: number;
  consumers: boolean;
}

export const argDefaults = {
  nodes: 3,
  replication: 3,
  partitions: [6],
  size: [100],
  producers: [4],
  inFlight: [1000],
  batching: ['on', 'off'] as BatchingMode[],
  durationSec: 30,
  warmupSec: 3,
} as const;

/** Limits on the inputs, so one typo cannot ask for a run that never ends or fills the memory. */
export const argLimits = {
  nodes: [1, 32],
  sizeBytes: [16, 1024 * 1024], // 16: the stamp (8) + producer (4) + sequence (4)
  partitions: [1, 100_000],
  producers: [1, 256],
  inFlight: [1, 100_000],
  durationSec: [1, 3_600],
  warmupSec: [0, 600],
  matrixRunsMax: 256,
} as const;

export const benchUsage = `usage: npx node bench/cluster/run.ts [options]
  --nodes N            nodes per cluster (default 3)
  --replication R      replicas per partition (default 3)
  --partitions P[,P]   partitions of the topic (default 6)
  --size B[,B]         value bytes, >= 16 (default 100; suffix k = KiB: 1k)
  --producers N[,N]    producers (default 4)
  --in-flight N[,N]    unacknowledged sends per producer (default 1000)
  --batching on|off|both[,..]  raftbus producer batching (default both); peers always one message per request
  --consumers on|off   one consumer of every partition, for end-to-end latency (default on)
  --duration S         seconds of load per run (default 30)
  --warmup S           first seconds left out of the figures (default 3)
  --vs nats,rabbitmq   also run the same workload against these peers
  --target h:p,...     use a running raftbus cluster instead of starting one
  --out DIR            results folder (default ./bench-results/<utc time>/)
  --idle P             the idle scenario: P partitions, then CPU and RSS per node for --duration seconds
  --profile-dir DIR    write V8 CPU profiles of the raftbus nodes there (--cpu-prof)
Matrix: every list-valued option runs the cartesian product; each run gets a fresh cluster.`;

function intIn(name: string, raw: string, [lo, hi]: readonly [number, number]): number {
  const m = /^(\d+)(k|K|m|M)?$/.exec(raw.trim());
  if (!m) throw new BenchArgsError(`--${name}: "${raw}" is not a whole number`);
  const unit = m[2] === undefined ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024;
  const v = Number(m[1]) * unit;
  if (!(Number.isSafeInteger(v) && v >= lo && v <= hi))
    throw new BenchArgsError(`--${name}: ${v} is outside [${lo}, ${hi}]`);
  return v;
}

function list(raw: string): string[] {
  const items = raw.split(',').map((x) => x.trim());
  if (items.some((x) => x === '')) throw new BenchArgsError(`"${raw}" has an empty item`);
  return items;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function onOff(name: string, raw: string): boolean {
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new BenchArgsError(`--${name}: expected on or off, got "${raw}"`);
}

export type Parsed = { help: true } | ({ help: false } & BenchArgs);

export function parseBenchArgs(argv: readonly string[]): Parsed {
  const a: BenchArgs = {
    nodes: argDefaults.nodes,
    replication: argDefaults.replication,
    durationSec: argDefaults.durationSec,
    warmupSec: argDefaults.warmupSec,
    consumers: true,
    vs: [],
    target: null,
    out: null,
    idlePartitions: null,
    profileDir: null,
    sizes: [...argDefaults.size],
    partitions: [...argDefaults.partitions],
    producers: [...argDefaults.producers],
    inFlight: [...argDefaults.inFlight],
    batching: [...argDefaults.batching],
  };
  let replicationGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('--')) throw new BenchArgsError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    let raw: string;
    if (eq > 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new BenchArgsError(`--${name} needs a value`);
      raw = next;
    }
    switch (name) {
      case 'nodes':
        a.nodes = intIn(name, raw, argLimits.nodes);
        break;
      case 'replication':
        a.replication = intIn(name, raw, argLimits.nodes);
        replicationGiven = true;
        break;
      case 'partitions':
        a.partitions = unique(list(raw).map((x) => intIn(name, x, argLimits.partitions)));
        break;
      case 'size':
        a.sizes = unique(list(raw).map((x) => intIn(name, x, argLimits.sizeBytes)));
        break;
      case 'producers':
        a.producers = unique(list(raw).map((x) => intIn(name, x, argLimits.producers)));
        break;
      case 'in-flight':
        a.inFlight = unique(list(raw).map((x) => intIn(name, x, argLimits.inFlight)));
        break;
      case 'batching':
        a.batching = unique(
          list(raw).flatMap((x): BatchingMode[] => {
            if (x === 'both') return ['on', 'off'];
            if (x === 'on' || x === 'off') return [x];
            throw new BenchArgsError(`--batching: expected on, off or both, got "${x}"`);
          }),
        );
        break;
      case 'consumers':
        a.consumers = onOff(name, raw);
        break;
      case 'duration':
        a.durationSec = intIn(name, raw, argLimits.durationSec);
        break;
      case 'warmup':
        a.warmupSec = intIn(name, raw, argLimits.warmupSec);
        break;
      case 'vs':
        a.vs = unique(
          list(raw).map((x) => {
            if (x !== 'nats' && x !== 'rabbitmq')
              throw new BenchArgsError(`--vs: unknown peer "${x}" (nats, rabbitmq)`);
            return x;
          }),
        );
        break;
      case 'target':
        a.target = list(raw).map((x) => {
          if (!/^[^\s:,]+:\d{1,5}$/.test(x)) throw new BenchArgsError(`--target: "${x}" is not host:port`);
          return x;
        });
        break;
      case 'out':
        if (raw.trim() === '') throw new BenchArgsError('--out needs a folder');
        a.out = raw;
        break;
      case 'idle':
        a.idlePartitions = intIn(name, raw, argLimits.partitions);
        break;
      case 'profile-dir':
        if (raw.trim() === '') throw new BenchArgsError('--profile-dir needs a folder');
        a.profileDir = raw;
        break;
      default:
        throw new BenchArgsError(`unknown option --${name}`);
    }
  }
  if (!replicationGiven) a.replication = Math.min(a.replication, a.nodes);
  if (a.replication > a.nodes) throw new BenchArgsError(`--replication ${a.replication} exceeds --nodes ${a.nodes}`);
  if (a.warmupSec >= a.durationSec && a.idlePartitions === null)
    throw new BenchArgsError(`--warmup ${a.warmupSec} leaves nothing of --duration ${a.durationSec} to measure`);
  if (a.target && a.idlePartitions !== null)
    throw new BenchArgsError('--idle starts its own cluster; it does not take --target');
  if (a.target && a.profileDir) throw new BenchArgsError('--profile-dir needs a cluster the benchmark starts');
  const runs = a.sizes.length * a.partitions.length * a.producers.length * a.inFlight.length * a.batching.length;
  if (runs > argLimits.matrixRunsMax)
    throw new BenchArgsError(`the matrix has ${runs} runs, more than ${argLimits.matrixRunsMax}`);
  return { help: false, ...a };
}

/** The cartesian product, partitions outermost (one cluster layout at a time), batching innermost. */
export function expandMatrix(a: BenchArgs): RunSpec[] {
  const out: RunSpec[] = [];
  for (const partitions of a.partitions)
    for (const sizeBytes of a.sizes)
      for (const producers of a.producers)
        for (const inFlight of a.inFlight)
          for (const batching of a.batching)
            out.push({
              nodes: a.nodes,
              replication: a.replication,
              partitions,
              sizeBytes,
              producers,
              inFlight,
              batching: batching === 'on',
              durationSec: a.durationSec,
              warmupSec: a.warmupSec,
              consumers: a.consumers,
            });
  return out;
}

/** A self-describing name: `nodes=3,rf=3,partitions=6,size=100B,producers=4,in-flight=1000,batching=on`. */
export function runName(r: RunSpec): string {
  return `nodes=${r.nodes},rf=${r.replication},partitions=${r.partitions},size=${r.sizeBytes}B,producers=${r.producers},in-flight=${r.inFlight},batching=${r.batching ? 'on' : 'off'}`;
}
