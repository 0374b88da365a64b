/**
 * The runner's options: CLI parsing, defaults, validation, and the replay
 * command (the exact command line that runs the same seed and schedule again).
 */
import { type NemesisFamily, nemesisFamilies, parseNemesisSpec } from '../nemesis/families.ts';
import { type NemesisTiming, nemesisTimingDefaults } from '../nemesis/loop.ts';

export type ModeOption = 'auto' | 'netns' | 'loopback';

export interface ChaosOptions {
  seed: number;
  durationS: number;
  nodes: number;
  /** `all` or a comma list (families, `partition`). */
  nemesis: string;
  mode: ModeOption;
  /** Default ./chaos-results/<utc-time>-seed-<N>. */
  resultsDir?: string;
  producers: number;
  consumers: number;
  partitions: number;
  /** Passes `--flush never` to every node: Raft groups acknowledge before fsync (deliberately unsafe). */
  unsafeAckBeforeFsync: boolean;
  /** Sends per second at most over all producers. */
  rate: number;
  /** Sends in flight per producer. */
  slots: number;
  timing: NemesisTiming;
  /** Delete the results folder when the run is valid (tests). */
  cleanupOnSuccess?: boolean;
  /** Progress lines (default: stderr). */
  onLine?: (line: string) => void;
  /** Aborting stops the run early; the hosts are closed and the outcome says so (exit code 2). */
  signal?: AbortSignal;
}

export const chaosDefaults = {
  durationS: 600,
  nodes: 5,
  nemesis: 'all',
  mode: 'auto' as ModeOption,
  producers: 3,
  consumers: 2,
  partitions: 4,
  unsafeAckBeforeFsync: false,
  rate: 300,
  slots: 8,
};

/** Largest supported cluster: the fault draws are sized for it (nemesis/random.ts). */
export const nodesMax = 15;

export class ChaosUsageError extends Error {
  override readonly name = 'ChaosUsageError';
  readonly code = 'CHAOS_USAGE';
}

export const chaosHelp = `usage: npx node chaos-tests/run.ts --seed N [options]
  --seed N                   PRNG seed (default: random, printed); the same seed replays the same fault schedule
  --duration S               seconds of faults under load (default ${chaosDefaults.durationS})
  --nodes N                  cluster size, 1..${nodesMax} (default ${chaosDefaults.nodes})
  --nemesis LIST             all | comma list of: partition, ${nemesisFamilies.join(', ')} (default all)
  --mode M                   auto | netns | loopback (default auto: netns when root with ip and iptables)
  --results DIR              results folder (default ./chaos-results/<utc-time>-seed-<N>)
  --producers N              idempotent producers (default ${chaosDefaults.producers})
  --consumers N              consumers (default ${chaosDefaults.consumers})
  --partitions N             partitions of the topic, replication 3 (default ${chaosDefaults.partitions})
  --rate N                   sends per second at most, all producers together (default ${chaosDefaults.rate})
  --slots N                  sends in flight per producer (default ${chaosDefaults.slots})
  --quiet-ms A-B             quiet time before each fault (default ${nemesisTimingDefaults.quietMs.join('-')})
  --fault-ms A-B             duration of each fault (default ${nemesisTimingDefaults.faultMs.join('-')})
  --unsafe-ack-before-fsync  nodes run with --flush never (acks before fsync): kill-all must then lose writes
Exit codes: 0 valid, 1 violations found (the replay command is printed), 2 setup error.`;

function int(name: string, raw: string | undefined, lo: number, hi: number): number {
  const v = Number(raw);
  if (raw === undefined || !Number.isInteger(v) || v < lo || v > hi)
    throw new ChaosUsageError(`--${name} must be an integer in [${lo}, ${hi}], got ${raw}`);
  return v;
}

function range(name: string, raw: string | undefined): readonly [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(raw ?? '');
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || !(lo >= 0 && hi >= lo && hi <= 3_600_000))
    throw new ChaosUsageError(`--${name} must be A-B in ms, got ${raw}`);
  return [lo, hi];
}

/** Parses argv (without node and script); 'help' for --help. */
export function parseChaosArgs(argv: readonly string[], randomSeed: () => number): ChaosOptions | 'help' {
  const o: ChaosOptions = { seed: -1, ...chaosDefaults, timing: { ...nemesisTimingDefaults } };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--unsafe-ack-before-fsync') {
      o.unsafeAckBeforeFsync = true;
      continue;
    }
    const value = argv[++i];
    switch (flag) {
      case '--seed':
        o.seed = int('seed', value, 0, 0xffffffff);
        break;
      case '--duration':
        o.durationS = int('duration', value, 1, 7 * 24 * 3600);
        break;
      case '--nodes':
        o.nodes = int('nodes', value, 1, nodesMax);
        break;
      case '--nemesis':
        if (value === undefined) throw new ChaosUsageError('--nemesis needs a value');
        parseNemesisSpec(value);
        o.nemesis = value;
        break;
      case '--mode':
        if (value !== 'auto' && value !== 'netns' && value !== 'loopback')
          throw new ChaosUsageError(`--mode must be auto, netns or loopback, got ${value}`);
        o.mode = value;
        break;
      case '--results':
        if (!value) throw new ChaosUsageError('--results needs a folder');
        o.resultsDir = value;
        break;
      case '--producers':
        o.producers = int('producers', value, 0, 64);
        break;
      case '--consumers':
        o.consumers = int('consumers', value, 0, 64);
        break;
      case '--partitions':
        o.partitions = int('partitions', value, 1, 256);
        break;
      case '--rate':
        o.rate = int('rate', value, 1, 100_000);
        break;
      case '--slots':
        o.slots = int('slots', value, 1, 64);
        break;
      case '--quiet-ms':
        o.timing = { ...o.timing, quietMs: range('quiet-ms', value) };
        break;
      case '--fault-ms':
        o.timing = { ...o.timing, faultMs: range('fault-ms', value) };
        break;
      default:
        throw new ChaosUsageError(`unknown flag ${flag} (see --help)`);
    }
  }
  if (o.seed < 0) o.seed = randomSeed();
  return o;
}

export function selectedFamilies(o: ChaosOptions): NemesisFamily[] {
  return parseNemesisSpec(o.nemesis);
}

/** The exact command that replays this run (same seed, same schedule, same workload). */
export function replayCommand(o: ChaosOptions): string {
  const parts = [
    'npx node chaos-tests/run.ts',
    `--seed ${o.seed}`,
    `--duration ${o.durationS}`,
    `--nodes ${o.nodes}`,
    `--nemesis ${o.nemesis}`,
    `--mode ${o.mode}`,
    `--producers ${o.producers}`,
    `--consumers ${o.consumers}`,
    `--partitions ${o.partitions}`,
    `--rate ${o.rate}`,
    `--slots ${o.slots}`,
    `--quiet-ms ${o.timing.quietMs.join('-')}`,
    `--fault-ms ${o.timing.faultMs.join('-')}`,
  ];
  if (o.unsafeAckBeforeFsync) parts.push('--unsafe-ack-before-fsync');
  return parts.join(' ');
}

/** ./chaos-results/20261128T001500Z-seed-42 */
export function defaultResultsDir(seed: number, now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `chaos-results/${t}-seed-${seed}`;
}
