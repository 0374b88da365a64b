/** The raftbus TypeScript client: one import for the client, producer, consumer, admin and errors. */

export type { Acks, CreateTopicSpec, TopicConfig, TopicDescription } from '../node/protocol/api.ts';
export { ErrorCode, RaftbusError } from '../node/protocol/errors.ts';
export type { Headers, RecordInput, StoredRecord } from '../node/storage/batch.ts';
export { Admin, type OffsetQuery, type PartitionOffset } from './admin.ts';
export { Backoff, type BackoffOptions } from './backoff.ts';
export { BatchBuilder, encodeBatchFast } from './batch-builder.ts';
export { BrokerConnection } from './broker-connection.ts';
export {
  type CallOptions,
  type ClientOptions,
  clientDefaults,
  type PartitionInfo,
  parseAddress,
  RaftbusClient,
  type TopicInfo,
} from './client.ts';
export { Connection, type ConnectionOptions, type RequestOptions } from './connection.ts';
export {
  type ConsumedBatch,
  type ConsumedRecord,
  Consumer,
  type ConsumerOptions,
  consumerDefaults,
  type StartOffset,
} from './consumer.ts';
export type { RecordMetadata } from './delivery.ts';
export {
  AbortError,
  BufferFullError,
  ClientClosedError,
  ClientConfigError,
  ConnectionClosedError,
  isRetriable,
  LeaderNotAvailableError,
  ProtocolError,
  RecordTooLargeError,
  TimeoutError,
  TooManyPendingError,
} from './errors.ts';
export { murmur2, partitionForKey, StickyPartitioner } from './partitioner.ts';
export {
  type AcksMode,
  Producer,
  type ProducerOptions,
  type ProducerRecord,
  type ProducerStats,
  producerDefaults,
} from './producer.ts';
