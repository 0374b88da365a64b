/**
 * The request and response bodies of every api. Bodies are msgpack maps with
 * these shapes; record batches travel in the frame's raw section (see
 * frame.ts), referenced here by their byte length, in body order.
 *
 * Api keys are append-only: never renumber. Each api has a version range; the
 * handshake tells the client what this node speaks.
 */
import type { WireError } from './errors.ts';

export const ApiKey = {
  Handshake: 0,
  Metadata: 1,
  CreateTopics: 2,
  DeleteTopics: 3,
  ListTopics: 4,
  DescribeTopics: 5,
  Produce: 6,
  Fetch: 7,
  ListOffsets: 8,
  /** The idempotent producer asks the controller for {producerId, epoch} (cluster issue). */
  InitProducerId: 9,
  /** Cluster-internal: a node registers itself with the controller leader (cluster mode only). */
  RegisterBroker: 10,
} as const;
export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

/** [minVersion, maxVersion] this build speaks, per api. */
export const API_VERSIONS: Readonly<Record<number, readonly [number, number]>> = {
  [ApiKey.Handshake]: [0, 0],
  [ApiKey.Metadata]: [0, 0],
  [ApiKey.CreateTopics]: [0, 0],
  [ApiKey.DeleteTopics]: [0, 0],
  [ApiKey.ListTopics]: [0, 0],
  [ApiKey.DescribeTopics]: [0, 0],
  [ApiKey.Produce]: [0, 0],
  [ApiKey.Fetch]: [0, 0],
  [ApiKey.ListOffsets]: [0, 0],
  /** Served in cluster mode only: a single node leaves it out of its handshake and answers UNKNOWN_API. */
  [ApiKey.InitProducerId]: [0, 0],
  [ApiKey.RegisterBroker]: [0, 0],
};

/** Produce acknowledgement levels. `none` gets no response frame at all. */
export const Acks = {
  none: 0,
  leader: 1,
  /** Committed on a quorum of fsynced replicas (cluster issue); on a single node equals `leader` after fsync. */
  quorum: -1,
} as const;
export type Acks = (typeof Acks)[keyof typeof Acks];

/** Special timestamps for ListOffsets. */
export const OffsetSpec = {
  latest: -1,
  earliest: -2,
} as const;

/** A response whose whole request failed carries only this. */
export interface ErrorResponse {
  error: WireError;
}

// ---- Handshake ----
export interface HandshakeRequest {
  clientId: string;
  clientVersion: string;
  /** Optional credentials (auth issue); ignored until auth lands. */
  auth?: { mechanism: string; username: string; password: string };
}
export interface HandshakeResponse {
  nodeId: number;
  clusterId: string;
  serverVersion: string;
  /** [apiKey, minVersion, maxVersion] */
  apis: [number, number, number][];
  frameBytesMax: number;
  batchBytesMax: number;
}

// ---- Metadata ----
export interface MetadataRequest {
  /** Omitted or null = all topics. */
  topics?: string[] | null;
}
export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack?: string | null;
}
export interface PartitionMetadata {
  partition: number;
  /** Node id of the leader; -1 when unknown. */
  leader: number;
  replicas: number[];
  isr: number[];
  error?: WireError | null;
}
export interface TopicMetadata {
  name: string;
  error?: WireError | null;
  partitions: PartitionMetadata[];
}
export interface MetadataResponse {
  clusterId: string;
  controllerId: number;
  brokers: BrokerInfo[];
  topics: TopicMetadata[];
}

// ---- Topics ----
export interface TopicConfig {
  /** Delete whole segments older than this; -1 = forever. */
  retentionMs: number;
  /** Keep at most this many bytes per partition (whole segments); -1 = unlimited. */
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  /** Largest batch accepted for this topic. */
  maxBatchBytes: number;
}
export interface CreateTopicSpec {
  name: string;
  partitions: number;
  replicationFactor?: number;
  config?: Partial<TopicConfig>;
}
export interface CreateTopicsRequest {
  topics: CreateTopicSpec[];
  validateOnly?: boolean;
}
export interface TopicResult {
  name: string;
  error?: WireError | null;
}
export interface CreateTopicsResponse {
  topics: TopicResult[];
}
export interface DeleteTopicsRequest {
  topics: string[];
}
export interface DeleteTopicsResponse {
  topics: TopicResult[];
}
export type ListTopicsRequest = Record<string, never>;
export interface ListTopicsResponse {
  topics: { name: string; partitions: number }[];
}
export interface DescribeTopicsRequest {
  topics: string[];
}
export interface PartitionDescription {
  partition: number;
  leader: number;
  replicas: number[];
  logStartOffset: number;
  highWatermark: number;
  sizeBytes: number;
}
export interface TopicDescription {
  name: string;
  error?: WireError | null;
  config: TopicConfig | null;
  partitions: PartitionDescription[];
}
export interface DescribeTopicsResponse {
  topics: TopicDescription[];
}

// ---- Produce ----
export interface ProducePartitionData {
  topic: string;
  partition: number;
  /** Length of this partition's batch in the raw section (one batch per entry). */
  batchBytes: number;
}
export interface ProduceRequest {
  acks: Acks;
  timeoutMs: number;
  partitions: ProducePartitionData[];
}
export interface ProducePartitionResult {
  topic: string;
  partition: number;
  error?: WireError | null;
  /** Offset given to the first record of the batch; -1 on error. */
  baseOffset: number;
  logAppendTimeMs: number;
}
export interface ProduceResponse {
  partitions: ProducePartitionResult[];
}

// ---- Fetch ----
export interface FetchPartition {
  topic: string;
  partition: number;
  offset: number;
  /** Bytes at most for this partition; at least one whole batch is returned if one exists at `offset`. */
  maxBytes: number;
}
export interface FetchRequest {
  /** Long poll: wait up to this long for minBytes to be available. */
  maxWaitMs: number;
  minBytes: number;
  /** Bytes at most for the whole response. */
  maxBytes: number;
  partitions: FetchPartition[];
}
export interface FetchPartitionResult {
  topic: string;
  partition: number;
  error?: WireError | null;
  /** Offsets below this are committed and visible. */
  highWatermark: number;
  logStartOffset: number;
  /** Length of this partition's data (whole batches) in the raw section. */
  bytes: number;
}
export interface FetchResponse {
  partitions: FetchPartitionResult[];
}

// ---- ListOffsets ----
export interface ListOffsetsPartition {
  topic: string;
  partition: number;
  /** OffsetSpec.latest, OffsetSpec.earliest, or a timestamp in ms (first offset with timestamp >= it). */
  timestamp: number;
}
export interface ListOffsetsRequest {
  partitions: ListOffsetsPartition[];
}
export interface ListOffsetsResult {
  topic: string;
  partition: number;
  error?: WireError | null;
  /** -1 when no record has a timestamp >= the one asked. */
  offset: number;
  timestamp: number;
}
export interface ListOffsetsResponse {
  partitions: ListOffsetsResult[];
}

// ---- InitProducerId ----
export interface InitProducerIdRequest {
  /**
   * A producer that already holds an id and wants a bumped epoch (fencing its
   * older incarnation) sends it here; a new producer omits both (or sends -1).
   */
  producerId?: number;
  producerEpoch?: number;
}
export interface InitProducerIdResponse {
  /** Non-negative id, unique in the cluster (allocated by the controller). */
  producerId: number;
  /** 0..32767; a bump fences batches of the same id with a lower epoch. */
  producerEpoch: number;
}
/**
 * Idempotent produce, how the pieces fit (no new fields in Produce):
 * - the batch header carries producerId, producerEpoch, baseSequence (node/storage/batch.ts);
 * - baseSequence = records this producer sent before to this partition (mod 2^31), so batch n+1
 *   starts at batch n's baseSequence + recordCount;
 * - the partition leader accepts the next expected sequence, answers a batch it already holds
 *   with DUPLICATE_SEQUENCE and `baseOffset` = the original batch's base offset (also in
 *   `error.details.baseOffset`), and a gap with OUT_OF_ORDER_SEQUENCE.
 */

// ---- RegisterBroker (cluster-internal, node to controller leader) ----
/** Answered with an empty body once committed, or NOT_CONTROLLER with the leader hint. */
export interface RegisterBrokerRequest {
  nodeId: number;
  host: string;
  port: number;
  raftHost: string;
  raftPort: number;
  rack: string;
  /** Restart counter of the registering node: an older one than registered is rejected. */
  incarnation: number;
}
