/**
 * The controller's commands. Each one is a Raft entry of the controller group.
 *
 * ControllerOp is stored in logs and snapshots: APPEND ONLY, never renumber or
 * reuse a number. Ranges are reserved for what comes next, so related opcodes
 * stay together:
 *    1..31  cluster metadata (brokers, topics, assignments, producer ids)
 *   32..63  users and ACLs
 *   64..95  consumer groups
 */
import type { TopicConfig } from '../../node/protocol/api.ts';
import type { NodeId } from '../raft/types.ts';

export const ControllerOp = {
  RegisterBroker: 1,
  UnregisterBroker: 2,
  CreateTopic: 3,
  DeleteTopic: 4,
  UpdateTopicConfig: 5,
  ReassignPartition: 6,
  SetPartitionLeaderHint: 7,
  AllocateProducerIds: 8,
} as const;
export type ControllerOp = (typeof ControllerOp)[keyof typeof ControllerOp];

export const OP_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(ControllerOp).map(([k, v]) => [v, k]));

/** Topic settings a topic pins; the rest come from each node's defaults. */
export type TopicConfigOverrides = Partial<TopicConfig>;

export interface RegisterBroker {
  op: typeof ControllerOp.RegisterBroker;
  nodeId: NodeId;
  host: string;
  port: number;
  raftHost: string;
  raftPort: number;
  /** '' = no rack. */
  rack: string;
  /** The broker's restart counter: a registration never replaces a newer incarnation's. */
  incarnation: number;
}

export interface UnregisterBroker {
  op: typeof ControllerOp.UnregisterBroker;
  nodeId: NodeId;
}

export interface CreateTopic {
  op: typeof ControllerOp.CreateTopic;
  name: string;
  partitions: number;
  replicationFactor: number;
  config: TopicConfigOverrides;
  /** One replica list per partition, computed by the proposer through placement (apply stays deterministic). */
  assignment: NodeId[][];
}

export interface DeleteTopic {
  op: typeof ControllerOp.DeleteTopic;
  name: string;
}

export interface UpdateTopicConfig {
  op: typeof ControllerOp.UpdateTopicConfig;
  name: string;
  /** Overrides to pin (replacing any earlier value). */
  set: TopicConfigOverrides;
  /** Overrides to drop (back to the node default). */
  remove: (keyof TopicConfig)[];
}

export interface ReassignPartition {
  op: typeof ControllerOp.ReassignPartition;
  topic: string;
  partition: number;
  replicas: NodeId[];
  /** The partition epoch the proposer planned against; a different current epoch rejects the command. */
  partitionEpoch: number;
}

export interface SetPartitionLeaderHint {
  op: typeof ControllerOp.SetPartitionLeaderHint;
  topic: string;
  partition: number;
  /** 0 = unknown. */
  leader: NodeId;
  partitionEpoch: number;
}

export interface AllocateProducerIds {
  op: typeof ControllerOp.AllocateProducerIds;
  count: number;
}

export type ControllerCommand =
  | RegisterBroker
  | UnregisterBroker
  | CreateTopic
  | DeleteTopic
  | UpdateTopicConfig
  | ReassignPartition
  | SetPartitionLeaderHint
  | AllocateProducerIds;
