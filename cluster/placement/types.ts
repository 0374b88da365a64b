/** Inputs and outputs of placement. Everything here is plain data: placement is pure. */
import type { NodeId } from '../raft/types.ts';

/** A broker that may hold replicas. `rack` '' means "no rack set". */
export interface PlacementBroker {
  nodeId: NodeId;
  rack: string;
}

/** One partition's replica list; replicas[0] is the preferred leader. */
export interface PartitionReplicas {
  topic: string;
  partition: number;
  replicas: NodeId[];
}

export interface PartitionWithLeader extends PartitionReplicas {
  /** The current leader, 0 if none is known. */
  leader: NodeId;
}

/** Replace a partition's replica list (the controller turns this into a ReassignPartition command). */
export interface ReplicaMove {
  topic: string;
  partition: number;
  from: NodeId[];
  to: NodeId[];
  added: NodeId[];
  removed: NodeId[];
}

export interface LeaderTransfer {
  topic: string;
  partition: number;
  from: NodeId;
  to: NodeId;
}
