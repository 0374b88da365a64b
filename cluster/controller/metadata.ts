/** The metadata image the controller state machine holds: plain data, identical on every node. */
import type { NodeId } from '../raft/types.ts';
import type { TopicConfigOverrides } from './commands.ts';

export interface BrokerRecord {
  nodeId: NodeId;
  host: string;
  port: number;
  raftHost: string;
  raftPort: number;
  rack: string;
  incarnation: number;
  /** Metadata epoch of the registration. */
  registeredEpoch: number;
}

export interface PartitionRecord {
  partition: number;
  /** The partition's Raft group id: unique in the cluster, never reused. */
  groupId: number;
  /** replicas[0] is the preferred leader. */
  replicas: NodeId[];
  /** Grows by one on every reassignment; ReassignPartition must name the current one. */
  epoch: number;
  /** Last leader reported for the partition, 0 if none (a hint: the Raft group decides). */
  leaderHint: NodeId;
}

export interface TopicRecord {
  name: string;
  /** Unique, never reused (a recreated topic of the same name gets a new id). */
  topicId: number;
  replicationFactor: number;
  config: TopicConfigOverrides;
  partitions: PartitionRecord[];
  createdEpoch: number;
}

/** A read-only view of the whole image. */
export interface MetadataImage {
  /** Grows by one with every command that changed something. */
  readonly epoch: number;
  /** Raft index of the last applied entry. */
  readonly appliedIndex: number;
  readonly brokers: ReadonlyMap<NodeId, Readonly<BrokerRecord>>;
  readonly topics: ReadonlyMap<string, Readonly<TopicRecord>>;
  /** Next producer id AllocateProducerIds hands out. */
  readonly nextProducerId: number;
  readonly nextGroupId: number;
  readonly nextTopicId: number;
}

/** Every partition as placement sees it. */
export function partitionReplicas(image: MetadataImage): { topic: string; partition: number; replicas: NodeId[] }[] {
  const out: { topic: string; partition: number; replicas: NodeId[] }[] = [];
  for (const t of image.topics.values()) {
    for (const p of t.partitions) out.push({ topic: t.name, partition: p.partition, replicas: [...p.replicas] });
  }
  return out;
}
