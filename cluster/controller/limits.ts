/** Every bound the controller enforces: commands, the image, and the service's queues. */
export const ControllerLimits = {
  /** Largest encoded command accepted at propose and at apply. */
  commandBytesMax: 1024 * 1024,
  brokersMax: 10_000,
  topicsMax: 100_000,
  partitionsPerTopicMax: 10_000,
  /** Longest replica list a partition may have (and the largest replication factor). */
  replicasMax: 16,
  hostCharsMax: 255,
  rackCharsMax: 64,
  /** Largest block AllocateProducerIds hands out at once. */
  producerIdBlockMax: 1_000_000,
  /** Raft group ids below this are reserved for system groups (the controller is group 1). */
  firstPartitionGroupId: 16,
} as const;

/** The controller's own Raft group id on every node. */
export const CONTROLLER_GROUP_ID = 1;
