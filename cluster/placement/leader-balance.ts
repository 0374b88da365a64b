/**
 * Leader rebalancing: the preferred leader of a partition is its first
 * replica. When a broker returns, the partitions it prefers but does not
 * lead should transfer leadership back to it (Kafka's preferred leader
 * election), which restores the even leader spread the assignment made.
 */
import type { NodeId } from '../raft/types.ts';
import type { LeaderTransfer, PartitionWithLeader } from './types.ts';

export interface LeaderBalanceInput {
  partitions: readonly PartitionWithLeader[];
  /** Brokers able to lead now. */
  live: readonly NodeId[];
  /** Stop after this many transfers (a burst of transfers stalls many groups at once). */
  transfersMax?: number;
}

export function planLeaderRebalance(input: LeaderBalanceInput): LeaderTransfer[] {
  const live = new Set(input.live);
  const max = input.transfersMax ?? Number.POSITIVE_INFINITY;
  const sorted = [...input.partitions].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
  );
  const out: LeaderTransfer[] = [];
  for (const p of sorted) {
    if (out.length >= max) break;
    const preferred = p.replicas[0];
    // No known leader: the group is electing; a transfer needs a leader to send it.
    if (preferred === undefined || p.leader === 0 || p.leader === preferred) continue;
    if (!live.has(preferred)) continue;
    out.push({ topic: p.topic, partition: p.partition, from: p.leader, to: preferred });
  }
  return out;
}
