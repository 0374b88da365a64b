/**
 * The plan of a local cluster: which ports and data directory each node gets,
 * and the one place that turns a node's plan into `raftbus node` flags
 * (`nodeArgs`). Cluster mode needs --raft-port and --peers; the gossip flags
 * (--gossip-port, --seeds) are passed only when the node lists them in
 * `raftbus node --help`, so the launcher works before and after gossip is
 * wired into the node.
 *
 * Port layout from a base port P (node index i = nodeId - 1), so the numbers
 * read the same as the node's own `--http-port auto` (port + 1000):
 *   client P + i, raft P + 100 + i, gossip P + 200 + i, http P + 1000 + i.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { LocalClusterConfigError } from './errors.ts';

/** Nodes one local cluster may have (the port layout leaves room for 100 per role). */
export const localNodesMax = 32;

export const portOffsets = { client: 0, raft: 100, gossip: 200, http: 1000 } as const;

export interface LocalNodePlan {
  nodeId: number;
  host: string;
  port: number;
  httpPort: number;
  raftPort: number;
  gossipPort: number;
  dataDir: string;
  /** Gossip addresses (`host:port`) of the other nodes. */
  seeds: string[];
  /** Every node of the cluster as `id=host:raftPort` (the node's --peers). */
  peers: string[];
  /** Controller group size: 3 when there are 3 nodes or more (5 from 5 nodes), else 1. */
  controllerVoters: number;
}

/**
 * `cluster`: the node understands --raft-port/--gossip-port/--seeds and the
 * nodes form one cluster; `single`: N independent single nodes (until the node
 * wiring lands, or when asked for with --single).
 */
export type LocalClusterMode = 'cluster' | 'single';

export interface PlanOptions {
  nodes: number;
  /** 0 = a free block of ports below the ephemeral range (picked now, by binding and releasing them). */
  basePort: number;
  dataDir: string;
  host: string;
}

export async function planCluster(o: PlanOptions): Promise<LocalNodePlan[]> {
  if (!(Number.isInteger(o.nodes) && o.nodes >= 1 && o.nodes <= localNodesMax))
    throw new LocalClusterConfigError(`--nodes must be an integer in 1..${localNodesMax}, got ${o.nodes}`);
  if (!(Number.isInteger(o.basePort) && o.basePort >= 0 && o.basePort + portOffsets.http + o.nodes - 1 <= 65535))
    throw new LocalClusterConfigError(
      `--base-port must be 0 or leave room for ${o.nodes} nodes below 65536 (base + ${portOffsets.http + o.nodes - 1}), got ${o.basePort}`,
    );
  const base = o.basePort === 0 ? await freeBasePort(o.host, o.nodes) : o.basePort;
  const portOf = (role: keyof typeof portOffsets, i: number): number => base + portOffsets[role] + i;
  const plans: LocalNodePlan[] = [];
  for (let i = 0; i < o.nodes; i++) {
    plans.push({
      nodeId: i + 1,
      host: o.host,
      port: portOf('client', i),
      httpPort: portOf('http', i),
      raftPort: portOf('raft', i),
      gossipPort: portOf('gossip', i),
      dataDir: join(o.dataDir, `node-${i + 1}`),
      seeds: [],
      peers: [],
      controllerVoters: o.nodes >= 5 ? 5 : o.nodes >= 3 ? 3 : 1,
    });
  }
  const peers = plans.map((q) => `${q.nodeId}=${q.host}:${q.raftPort}`);
  for (const p of plans) {
    p.seeds = plans.filter((q) => q !== p).map((q) => `${q.host}:${q.gossipPort}`);
    p.peers = peers;
  }
  return plans;
}

/**
 * The `raftbus node` flags for one node: the only place that knows them.
 * `nodeFlags` is what the node lists in its help (optional flags are passed
 * only when it knows them); omitted = every flag is known.
 */
export function nodeArgs(plan: LocalNodePlan, mode: LocalClusterMode, nodeFlags?: ReadonlySet<string>): string[] {
  const knows = (flag: string): boolean => nodeFlags === undefined || nodeFlags.has(flag);
  const args = [
    '--node-id',
    String(plan.nodeId),
    '--host',
    plan.host,
    '--port',
    String(plan.port),
    '--http-port',
    String(plan.httpPort),
    '--data-dir',
    plan.dataDir,
  ];
  if (mode === 'cluster') {
    args.push('--raft-port', String(plan.raftPort), '--peers', plan.peers.join(','));
    if (knows('--controller-voters')) args.push('--controller-voters', String(plan.controllerVoters));
    if (knows('--gossip-port')) args.push('--gossip-port', String(plan.gossipPort));
    if (knows('--seeds') && plan.seeds.length > 0) args.push('--seeds', plan.seeds.join(','));
  }
  return args;
}

/** Flags the node must list in `raftbus node --help` for `cluster` mode. */
export const clusterFlags = ['--raft-port', '--peers'] as const;

/** The `--flag` names in a help text. */
export function flagsInHelp(help: string): Set<string> {
  return new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? []);
}

/** Random bases tried before giving up on finding a free block. */
const basePortAttemptsMax = 50;
const basePortLowest = 12_000;

/**
 * A base port whose whole layout is free now. The block lies below the
 * kernel's ephemeral range: ports handed out for outgoing connections (the
 * nodes connect to each other while they start) can then never take one of
 * the planned ports before its node binds it.
 */
async function freeBasePort(host: string, nodes: number): Promise<number> {
  const ephemeralLow = ephemeralPortLow();
  const highest = ephemeralLow - 1 - portOffsets.http - nodes;
  if (highest <= basePortLowest)
    throw new LocalClusterConfigError('no room below the ephemeral port range; give --base-port');
  for (let attempt = 0; attempt < basePortAttemptsMax; attempt++) {
    const base = basePortLowest + Math.floor(Math.random() * (highest - basePortLowest));
    const ports = Object.values(portOffsets).flatMap((off) => Array.from({ length: nodes }, (_, i) => base + off + i));
    if (await allBindable(host, ports)) return base;
  }
  throw new LocalClusterConfigError(`no free port block found in ${basePortAttemptsMax} tries; give --base-port`);
}

function ephemeralPortLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 1024) return low;
  } catch {
    // Not Linux: use the IANA ephemeral range.
  }
  return 49_152;
}

async function allBindable(host: string, ports: number[]): Promise<boolean> {
  const servers: Server[] = [];
  try {
    for (const port of ports) {
      const s = createServer();
      servers.push(s);
      const ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, host, () => resolve(true));
      });
      if (!ok) return false;
    }
    return true;
  } finally {
    await Promise.all(
      servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
    );
  }
}
