/**
 * Re-replication after broker loss: for each partition holding a replica on
 * a dead broker, pick a live replacement (least loaded, rack rule), and say
 * which replica list the partition should move to. The caller decides which
 * brokers count as dead (dead longer than its threshold); this stays pure.
 */
import type { NodeId } from '../raft/types.ts';
import { minBy } from './assign.ts';
import { loadOf } from './load.ts';
import { rackEligible } from './racks.ts';
import type { PartitionReplicas, PlacementBroker, ReplicaMove } from './types.ts';

export interface ReReplicationInput {
  partitions: readonly PartitionReplicas[];
  /** Brokers that may take replicas (alive, registered). */
  live: readonly PlacementBroker[];
  /** Brokers whose replicas must go. */
  dead: readonly NodeId[];
  /** Stop after this many moves (the reconciler applies them over several passes). */
  movesMax?: number;
  /** Rack of every broker known (dead ones included), so surviving replicas count for the rack rule. */
  rackOf?: ReadonlyMap<NodeId, string>;
}

export interface ReReplicationPlan {
  moves: ReplicaMove[];
  /** Partitions with a dead replica and no live broker to take its place. */
  stuck: { topic: string; partition: number }[];
}

/**
 * New replica list = surviving replicas in their order, then replacements.
 * A dead preferred leader thus hands preference to the next survivor, which
 * most likely already leads the partition.
 */
export function planReReplication(input: ReReplicationInput): ReReplicationPlan {
  const dead = new Set(input.dead);
  const live = [...input.live].filter((b) => !dead.has(b.nodeId)).sort((a, b) => a.nodeId - b.nodeId);
  const rackOf = new Map<NodeId, string>(input.rackOf ?? []);
  for (const b of live) rackOf.set(b.nodeId, b.rack);
  const load = loadOf(
    live.map((b) => b.nodeId),
    input.partitions,
  );
  const movesMax = input.movesMax ?? Number.POSITIVE_INFINITY;
  const sorted = [...input.partitions].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
  );
  const moves: ReplicaMove[] = [];
  const stuck: { topic: string; partition: number }[] = [];
  for (const p of sorted) {
    if (moves.length >= movesMax) break;
    const removed = p.replicas.filter((id) => dead.has(id));
    if (removed.length === 0) continue;
    const next = p.replicas.filter((id) => !dead.has(id));
    const added: NodeId[] = [];
    for (let i = 0; i < removed.length; i++) {
      const free = live.filter((b) => !next.includes(b.nodeId));
      if (free.length === 0) break;
      const pick = minBy(rackEligible(free, next, rackOf), (b) => {
        const l = load.get(b.nodeId)!;
        return [l.replicas, l.leaders, b.nodeId];
      });
      next.push(pick.nodeId);
      added.push(pick.nodeId);
      load.get(pick.nodeId)!.replicas++;
    }
    if (added.length < removed.length) {
      stuck.push({ topic: p.topic, partition: p.partition });
      // Still worth moving what we can: fewer dead voters means a safer quorum.
      if (added.length === 0) continue;
    }
    moves.push({ topic: p.topic, partition: p.partition, from: [...p.replicas], to: next, added, removed });
  }
  return { moves, stuck };
}
