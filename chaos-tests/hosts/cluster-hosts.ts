/**
 * `startClusterHosts`: an N-node raftbus cluster, one node per host. The node
 * flags come from cluster/local/plan.ts (`nodeArgs`), the one place that knows
 * them; only the addresses and ports differ per mode:
 *   loopback: 127.0.0.1 and a free block of ports per node (planCluster's layout);
 *   netns: each node on its own private address with the same ports everywhere,
 *          like real machines (client 9092, raft 9192, gossip 9292, http 10092).
 * Every cluster flag is passed (no `raftbus node --help` probe as in
 * cluster/local.ts: the node takes them all now, and the probe costs a Node
 * start, seconds on a loaded machine).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH } from '../../cluster/local/node-child.ts';
import { type LocalNodePlan, nodeArgs, planCluster } from '../../cluster/local/plan.ts';
import { HostsUsageError } from './errors.ts';
import type { HostNetwork } from './host-network.ts';
import { HostedCluster, type HostedNodeSpec, hostedClusterDefaults } from './hosted-cluster.ts';
import { LoopbackNetwork } from './loopback-network.ts';
import { chooseMode } from './mode.ts';
import { NetnsNetwork } from './netns-network.ts';
import type { ClusterHosts, ClusterHostsOptions } from './types.ts';

/** The repo root: node processes run from here, as in the Dockerfile's WORKDIR. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The ports every netns host uses (the layout of planCluster for base 9092, node index 0). */
export const netnsPorts = { client: 9092, raft: 9192, gossip: 9292, http: 10092 } as const;

export interface StartClusterHostsOptions extends ClusterHostsOptions {
  /** Bound on each node's start (listening and /health registered). */
  startTimeoutMs?: number;
  /** Bound on a graceful stop before SIGKILL. */
  stopTimeoutMs?: number;
}

export async function startClusterHosts(o: StartClusterHostsOptions): Promise<ClusterHosts> {
  if (!(Number.isInteger(o.nodes) && o.nodes >= 1)) throw new HostsUsageError(`nodes must be >= 1, got ${o.nodes}`);
  const dir = resolve(o.dir);
  const { mode, reason } = chooseMode(o.mode ?? 'auto');
  let plans = await planCluster({
    nodes: o.nodes,
    basePort: mode === 'loopback' ? 0 : netnsPorts.client,
    dataDir: dir,
    host: '127.0.0.1',
  });
  let network: HostNetwork;
  if (mode === 'loopback') {
    network = new LoopbackNetwork();
  } else {
    const netns = await NetnsNetwork.create(
      plans.map((p) => ({ nodeId: p.nodeId, suffix: `n${p.nodeId}`, names: [`node-${p.nodeId}`] })),
    );
    network = netns;
    plans = onOwnHosts(plans, (id) => netns.addressOf(id));
  }
  const specs: HostedNodeSpec[] = plans.map((plan) => {
    mkdirSync(plan.dataDir, { recursive: true });
    return {
      node: {
        nodeId: plan.nodeId,
        clientAddress: `${plan.host}:${plan.port}`,
        httpBase: `http://${plan.host}:${plan.httpPort}`,
        dataDir: plan.dataDir,
      },
      launch: {
        nodeId: plan.nodeId,
        command: process.execPath,
        args: [CLI_PATH, 'node', ...nodeArgs(plan, 'cluster'), ...(o.nodeArgs ?? [])],
        env: process.env,
        cwd: REPO_ROOT,
        logPath: join(dir, `node-${plan.nodeId}.log`),
      },
      clustered: true,
    };
  });
  const cluster = new HostedCluster(reason, network, specs, {
    startTimeoutMs: o.startTimeoutMs ?? hostedClusterDefaults.startTimeoutMs,
    stopTimeoutMs: o.stopTimeoutMs ?? hostedClusterDefaults.stopTimeoutMs,
  });
  await cluster.startAll();
  return cluster;
}

/** The plans with each node on its own host: its own address, the same ports as every other host. */
function onOwnHosts(plans: LocalNodePlan[], addressOf: (nodeId: number) => string): LocalNodePlan[] {
  const moved = plans.map((p) => ({
    ...p,
    host: addressOf(p.nodeId),
    port: netnsPorts.client,
    raftPort: netnsPorts.raft,
    gossipPort: netnsPorts.gossip,
    httpPort: netnsPorts.http,
  }));
  const peers = moved.map((q) => `${q.nodeId}=${q.host}:${q.raftPort}`);
  for (const p of moved) {
    p.peers = peers;
    p.seeds = moved.filter((q) => q !== p).map((q) => `${q.host}:${q.gossipPort}`);
  }
  return moved;
}
