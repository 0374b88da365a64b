export { ASSIGN_BROKERS_MAX, ASSIGN_PARTITIONS_MAX, type AssignInput, assignReplicas } from './assign.ts';
export { NotEnoughBrokersError, PlacementInputError } from './errors.ts';
export { type LeaderBalanceInput, planLeaderRebalance } from './leader-balance.ts';
export { planReReplication, type ReReplicationInput, type ReReplicationPlan } from './rereplicate.ts';
export type { LeaderTransfer, PartitionReplicas, PartitionWithLeader, PlacementBroker, ReplicaMove } from './types.ts';
