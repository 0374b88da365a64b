/**
 * `raftbus cluster up --nodes N [--base-port P] [--data-dir D] [--host H] [--single]`:
 * starts N `raftbus node` processes on this machine, prints their endpoints,
 * forwards Ctrl-C (SIGINT) and SIGTERM to every child as SIGTERM and waits for
 * all of them, restarts nothing by itself, and exits non-zero when a child
 * dies unexpectedly (after stopping the others).
 *
 * The node flags live in one place (local/plan.ts). When the node lists the
 * cluster flags (--raft-port, --peers) in `raftbus node --help`, the nodes form
 * one cluster (controller on the first 3 nodes, or 5 from 5 nodes, or 1); else
 * the launcher starts N independent single nodes and says so. --single asks
 * for that mode explicitly.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { LocalClusterConfigError, NodeExitedError } from './local/errors.ts';
import { type ChildExit, CLI_PATH, NodeChild } from './local/node-child.ts';
import {
  clusterFlags,
  flagsInHelp,
  type LocalClusterMode,
  type LocalNodePlan,
  nodeArgs,
  planCluster,
} from './local/plan.ts';

export { LocalClusterConfigError, NodeExitedError, NodeStartTimeoutError } from './local/errors.ts';
export type { LocalClusterMode, LocalNodePlan } from './local/plan.ts';

export interface LocalClusterOptions {
  nodes: number;
  /** First client port (see local/plan.ts for the layout); 0 = any free ports. */
  basePort?: number;
  dataDir?: string;
  host?: string;
  /** Default: `cluster` when the node lists the cluster flags, else `single`. */
  mode?: LocalClusterMode;
  /** Bound on the start of every node (listening + /health ok). */
  startTimeoutMs?: number;
  /** Bound on a graceful stop, after which remaining children get SIGKILL. */
  stopTimeoutMs?: number;
  /** Receives every output line of every node, prefixed `[node i]`. */
  onLine?: (line: string) => void;
  /**
   * A node that exits on its own: `stop-all` (default, the CLI's behaviour) stops
   * the others and fails `done`; `keep-running` leaves the rest up (chaos tests).
   */
  onNodeExit?: 'stop-all' | 'keep-running';
}

export const localClusterDefaults = {
  basePort: 9092,
  dataDir: './.raftbus/cluster',
  host: '127.0.0.1',
  startTimeoutMs: 30_000,
  stopTimeoutMs: 20_000,
  onNodeExit: 'stop-all',
} as const;

export interface LocalNodeInfo {
  nodeId: number;
  pid: number;
  /** `host:port` for clients. */
  client: string;
  metricsUrl: string;
  healthUrl: string;
  dataDir: string;
  raftPort: number;
  gossipPort: number;
}

export class LocalCluster {
  readonly mode: LocalClusterMode;
  /**
   * Settles once a stop has finished (every child exited): resolves when each
   * one exited cleanly (code 0 or by SIGTERM), rejects with NodeExitedError when
   * a child died on its own (with `onNodeExit: 'stop-all'` the others are then
   * stopped) or exited uncleanly during the stop.
   */
  readonly done: Promise<void>;
  private readonly children = new Map<number, NodeChild>();
  private readonly args = new Map<number, string[]>();
  private readonly o: Required<Pick<LocalClusterOptions, 'stopTimeoutMs' | 'startTimeoutMs' | 'onNodeExit'>> &
    Pick<LocalClusterOptions, 'onLine'>;
  /** Children killed or stopped on request: their exit is no failure. */
  private readonly expectedExits = new Set<NodeChild>();
  private stopping: Promise<void> | null = null;
  private failure: NodeExitedError | null = null;
  private settle!: { resolve: () => void; reject: (err: Error) => void };

  constructor(mode: LocalClusterMode, plans: LocalNodePlan[], args: string[][], o: LocalCluster['o']) {
    this.mode = mode;
    this.o = o;
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.done.catch(() => {}); // observed by whoever awaits it; no unhandled rejection meanwhile
    plans.forEach((plan, i) => {
      this.args.set(plan.nodeId, args[i]!);
      this.spawn(plan);
    });
  }

  /** The nodes as they run now (a restarted node has a new pid). */
  get nodes(): LocalNodeInfo[] {
    return [...this.children.values()].map((c) => ({
      nodeId: c.plan.nodeId,
      pid: c.pid,
      client: `${c.plan.host}:${c.plan.port}`,
      metricsUrl: c.metricsUrl,
      healthUrl: c.healthUrl,
      dataDir: c.plan.dataDir,
      raftPort: c.plan.raftPort,
      gossipPort: c.plan.gossipPort,
    }));
  }

  /** Waits until every node is healthy (in a cluster: registered with the controller). */
  async ready(): Promise<void> {
    const signal = AbortSignal.timeout(this.o.startTimeoutMs);
    await Promise.all([...this.children.values()].map((c) => c.ready(signal, this.mode === 'cluster')));
  }

  /** kill -9 one node (a crash, for tests); not counted as a failure. Resolves once it is gone. */
  async kill(nodeId: number): Promise<void> {
    const c = this.child(nodeId);
    this.expectedExits.add(c);
    c.kill();
    await c.exited;
  }

  /** Starts a node again that was killed, with the same ports and data dir; resolves once it is healthy. */
  async restart(nodeId: number): Promise<void> {
    const c = this.child(nodeId);
    if (c.running) throw new LocalClusterConfigError(`node ${nodeId} is still running`);
    if (this.stopping) throw new LocalClusterConfigError('the cluster is stopping');
    const fresh = this.spawn(c.plan);
    await fresh.ready(AbortSignal.timeout(this.o.startTimeoutMs), this.mode === 'cluster');
  }

  /** SIGTERM to every running child, SIGKILL to those still running after stopTimeoutMs; waits for all. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const children = [...this.children.values()];
    for (const c of children) c.terminate();
    const timer = setTimeout(() => {
      for (const c of children) c.kill();
    }, this.o.stopTimeoutMs);
    let exits: ChildExit[];
    try {
      exits = await Promise.all(children.map((c) => c.exited));
    } finally {
      clearTimeout(timer);
    }
    if (this.failure) {
      this.settle.reject(this.failure);
      return;
    }
    const bad = exits.findIndex((e, i) => !cleanExit(e) && !children[i]!.killedOnRequest);
    if (bad >= 0) {
      const c = children[bad]!;
      this.settle.reject(new NodeExitedError(c.plan.nodeId, exits[bad]!.code, exits[bad]!.signal, 'during the stop'));
      return;
    }
    this.settle.resolve();
  }

  private child(nodeId: number): NodeChild {
    const c = this.children.get(nodeId);
    if (!c) throw new LocalClusterConfigError(`no node ${nodeId} in this cluster`);
    return c;
  }

  private spawn(plan: LocalNodePlan): NodeChild {
    const onLine = this.o.onLine;
    const c = new NodeChild(plan, this.args.get(plan.nodeId)!, (line) => onLine?.(`[node ${plan.nodeId}] ${line}`));
    this.children.set(plan.nodeId, c);
    void c.exited.then((exit) => {
      if (this.expectedExits.has(c)) {
        c.killedOnRequest = true;
        return;
      }
      if (this.stopping || this.o.onNodeExit === 'keep-running') return;
      this.failure = new NodeExitedError(plan.nodeId, exit.code, exit.signal, c.tail.slice(-5).join(' | '));
      void this.stop();
    });
    return c;
  }
}

function cleanExit(e: ChildExit): boolean {
  return e.code === 0 || e.signal === 'SIGTERM';
}

/** The flags `raftbus node --help` lists. */
export function nodeFlags(): Set<string> {
  const r = spawnSync(process.execPath, [CLI_PATH, 'node', '--help'], { encoding: 'utf8', timeout: 20_000 });
  return flagsInHelp(`${r.stdout ?? ''}${r.stderr ?? ''}`);
}

/** `cluster` when the node knows every cluster flag. */
export function detectMode(flags: ReadonlySet<string> = nodeFlags()): LocalClusterMode {
  return clusterFlags.every((f) => flags.has(f)) ? 'cluster' : 'single';
}

/**
 * Starts the nodes and waits until every one is healthy (in a cluster: also
 * registered with the controller, so a topic created next can use every node);
 * on any failure stops those started and throws.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const o = { ...localClusterDefaults, ...options };
  const dataDir = resolve(o.dataDir);
  const plans: LocalNodePlan[] = await planCluster({ nodes: o.nodes, basePort: o.basePort, dataDir, host: o.host });
  const flags = nodeFlags();
  const mode = o.mode ?? detectMode(flags);
  if (mode === 'cluster' && detectMode(flags) !== 'cluster')
    throw new LocalClusterConfigError(`this node does not take the cluster flags (${clusterFlags.join(', ')})`);
  for (const plan of plans) mkdirSync(plan.dataDir, { recursive: true });
  const cluster = new LocalCluster(
    mode,
    plans,
    plans.map((plan) => nodeArgs(plan, mode, flags)),
    { stopTimeoutMs: o.stopTimeoutMs, startTimeoutMs: o.startTimeoutMs, onNodeExit: o.onNodeExit, onLine: o.onLine },
  );
  try {
    await cluster.ready();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

export const clusterHelp = `usage: raftbus cluster up --nodes N [--base-port P] [--data-dir D] [--host H] [--single]
starts N raftbus node processes on this machine and prints their endpoints.
  --nodes N          1..32 (default 3)
  --base-port P      client ports P..P+N-1, raft P+100.., gossip P+200.., http (/health, /metrics) P+1000..
                     (default 9092; 0 = a free block below the ephemeral port range)
  --data-dir D       node i keeps its data in D/node-i (default ./.raftbus/cluster)
  --host H           address every node listens on (default 127.0.0.1)
  --single           start independent single nodes (no cluster flags); the default when the node
                     does not know --raft-port/--peers
Ctrl-C stops every node (SIGTERM) and waits for them. Nothing is restarted; if a node dies on its own
the others are stopped and the command exits 1.`;

interface ClusterIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Parses `up ...`; throws LocalClusterConfigError on bad usage. */
export function parseClusterArgs(argv: string[]): 'help' | LocalClusterOptions {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') return 'help';
  if (sub !== 'up') throw new LocalClusterConfigError(`unknown cluster subcommand "${sub}" (expected up)`);
  const o: LocalClusterOptions = { nodes: 3 };
  const int = (name: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v))
      throw new LocalClusterConfigError(`--${name} needs a non-negative integer`);
    return Number(v);
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq > 0 ? eq : undefined) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? rest[++i];
    if (name === 'help' || name === 'h') return 'help';
    else if (name === 'nodes') o.nodes = int(name, value());
    else if (name === 'base-port') o.basePort = int(name, value());
    else if (name === 'data-dir') o.dataDir = value() ?? '';
    else if (name === 'host') o.host = value() ?? '';
    else if (name === 'single') o.mode = 'single';
    else throw new LocalClusterConfigError(`unknown option "${arg}"`);
  }
  if (o.dataDir === '') throw new LocalClusterConfigError('--data-dir needs a value');
  if (o.host === '') throw new LocalClusterConfigError('--host needs a value');
  return o;
}

/**
 * `raftbus cluster ...`: resolves with the exit code once every node has
 * exited: 0 after Ctrl-C/SIGTERM with clean stops, 1 when a node died or did
 * not start, 2 on bad usage.
 */
export async function runClusterCli(argv: string[], io: ClusterIo = process): Promise<number> {
  let options: 'help' | LocalClusterOptions;
  try {
    options = parseClusterArgs(argv);
  } catch (err) {
    if (err instanceof LocalClusterConfigError) {
      io.stderr.write(`raftbus cluster: ${err.message}\n${clusterHelp}\n`);
      return 2;
    }
    throw err;
  }
  if (options === 'help') {
    io.stdout.write(`${clusterHelp}\n`);
    return 0;
  }
  // Signals that arrive while nodes start stop them as soon as the start settles.
  let interrupted = false;
  let cluster: LocalCluster | null = null;
  const onSignal = (): void => {
    interrupted = true;
    if (cluster) void cluster.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    try {
      cluster = await startLocalCluster({ ...options, onLine: (line) => io.stderr.write(`${line}\n`) });
    } catch (err) {
      if (err instanceof LocalClusterConfigError) {
        io.stderr.write(`raftbus cluster: ${err.message}\n`);
        return 2;
      }
      io.stderr.write(`raftbus cluster: ${(err as Error).message}\n`);
      return 1;
    }
    if (cluster.mode === 'single') {
      io.stderr.write(
        'raftbus cluster: mode single: the nodes run independently (--single, or the node does not take the cluster flags)\n',
      );
    }
    for (const n of cluster.nodes) {
      io.stdout.write(
        `node ${n.nodeId} pid=${n.pid} client=${n.client} metrics=${n.metricsUrl} health=${n.healthUrl} data=${n.dataDir}\n`,
      );
    }
    io.stdout.write(`cluster up: ${cluster.nodes.length} nodes, mode ${cluster.mode}; Ctrl-C stops them\n`);
    if (interrupted) void cluster.stop();
    try {
      await cluster.done;
      io.stdout.write('cluster stopped\n');
      return 0;
    } catch (err) {
      io.stderr.write(`raftbus cluster: ${(err as Error).message}\n`);
      return 1;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
