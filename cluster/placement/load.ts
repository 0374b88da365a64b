/** Per-broker counters placement balances: replicas held and partitions preferred-led. */
import type { NodeId } from '../raft/types.ts';
import type { PartitionReplicas } from './types.ts';

export interface BrokerLoad {
  replicas: number;
  leaders: number;
}

/** Load of every broker in `brokers` from existing assignments (brokers absent from the map are ignored). */
export function loadOf(brokers: readonly NodeId[], partitions: readonly PartitionReplicas[]): Map<NodeId, BrokerLoad> {
  const load = new Map<NodeId, BrokerLoad>();
  for (const id of brokers) load.set(id, { replicas: 0, leaders: 0 });
  for (const p of partitions) {
    p.replicas.forEach((id, i) => {
      const l = load.get(id);
      if (!l) return;
      l.replicas++;
      if (i === 0) l.leaders++;
    });
  }
  return load;
}
