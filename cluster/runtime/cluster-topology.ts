/**
 * Who is who at bootstrap, from the static peer list: every node id, each
 * one's Raft address, and the controller group's first configuration (the
 * lowest `controllerVoters` ids vote, every other node follows as a learner,
 * so each node holds the metadata image). Every node computes the same
 * answer from the same list, which the first configuration requires.
 */
import type { NodeConfig } from '../../node/config.ts';
import type { PeerAddress } from '../raft/transport/tcp-transport.ts';

export interface ClusterTopology {
  nodeIds: number[];
  raftAddresses: Map<number, PeerAddress>;
  controllerVoters: number[];
  controllerLearners: number[];
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
  readonly code = 'CLUSTER_TOPOLOGY_INVALID';
}

export function topologyOf(config: NodeConfig): ClusterTopology {
  const ids = new Set<number>([config.nodeId]);
  const raftAddresses = new Map<number, PeerAddress>();
  for (const p of config.peers) {
    ids.add(p.nodeId);
    if (p.nodeId !== config.nodeId) raftAddresses.set(p.nodeId, { host: p.host, port: p.port });
  }
  const nodeIds = [...ids].sort((a, b) => a - b);
  if (nodeIds.length < config.controllerVoters) {
    throw new TopologyError(`${nodeIds.length} nodes known, ${config.controllerVoters} controller voters wanted`);
  }
  const controllerVoters = nodeIds.slice(0, config.controllerVoters);
  const controllerLearners = nodeIds.slice(config.controllerVoters);
  return { nodeIds, raftAddresses, controllerVoters, controllerLearners };
}
