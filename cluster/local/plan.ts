/**
 * The plan of a local cluster: which ports and data directory each node gets,
 * and the one place that turns a node's plan into `raftbus node` flags. When
 * the node learns new cluster flags, only `nodeArgs` changes.
 *
 * Port layout from a base port P (node index i = nodeId - 1), so the numbers
 * read the same as the node's own `--http-port auto` (port + 1000):
 *   client P + i, raft P + 100 + i, gossip P + 200 + i, http P + 1000 + i.
 */
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
}

/**
 * `cluster`: the node understands --raft-port/--gossip-port/--seeds and the
 * nodes form one cluster; `single`: N independent single nodes (until the node
 * wiring lands, or when asked for with --single).
 */
export type LocalClusterMode = 'cluster' | 'single';

export interface PlanOptions {
  nodes: number;
  /** 0 = any free ports (picked now, by binding and releasing them). */
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
  const free = o.basePort === 0 ? await freePorts(o.host, o.nodes * 4) : [];
  const portOf = (role: keyof typeof portOffsets, i: number): number =>
    o.basePort === 0 ? free[i * 4 + Object.keys(portOffsets).indexOf(role)]! : o.basePort + portOffsets[role] + i;
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
    });
  }
  for (const p of plans) p.seeds = plans.filter((q) => q !== p).map((q) => `${q.host}:${q.gossipPort}`);
  return plans;
}

/** The `raftbus node` flags for one node: the only place that knows them. */
export function nodeArgs(plan: LocalNodePlan, mode: LocalClusterMode): string[] {
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
    args.push('--raft-port', String(plan.raftPort), '--gossip-port', String(plan.gossipPort));
    if (plan.seeds.length > 0) args.push('--seeds', plan.seeds.join(','));
  }
  return args;
}

/** Flags the node must list in `raftbus node --help` for `cluster` mode. */
export const clusterFlags = ['--raft-port', '--gossip-port', '--seeds'] as const;

/** Distinct free ports, found by holding `count` ephemeral listeners open at once, then closing them. */
async function freePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, host, resolve);
      });
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('listener has no port');
      ports.push(a.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
