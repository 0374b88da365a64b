/**
 * Maps what storage (or anything below the broker) throws to the one wire
 * error type. Storage errors keep their meaning; anything unexpected becomes
 * UNKNOWN_SERVER_ERROR and is flagged so the caller logs it.
 */
import type { TopicMetadata } from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import { topicNameProblem } from '../protocol/validate.ts';
import { BatchFormatError } from '../storage/batch.ts';
import {
  AppendQueueFullError,
  BatchTooLargeError,
  InvalidLogConfigError,
  LogClosedError,
  OffsetOutOfRangeError,
  StorageError,
} from '../storage/errors.ts';

export interface PartitionRef {
  topic: string;
  partition: number;
}

export interface MappedError {
  error: RaftbusError;
  /** True when the cause was not an expected condition and deserves an error log. */
  unexpected: boolean;
}

export function mapError(err: unknown, ref: PartitionRef, shuttingDown: boolean): MappedError {
  if (err instanceof RaftbusError) return { error: err, unexpected: false };
  if (err instanceof BatchFormatError) {
    return { error: new RaftbusError(ErrorCode.CORRUPT_MESSAGE, { detail: err.message }), unexpected: false };
  }
  if (err instanceof BatchTooLargeError) {
    return {
      error: new RaftbusError(ErrorCode.MESSAGE_TOO_LARGE, { bytes: err.bytes, limit: err.limit }),
      unexpected: false,
    };
  }
  if (err instanceof OffsetOutOfRangeError) {
    return {
      error: new RaftbusError(ErrorCode.OFFSET_OUT_OF_RANGE, {
        offset: err.offset,
        start: err.startOffset,
        end: err.endOffset,
      }),
      unexpected: false,
    };
  }
  if (err instanceof LogClosedError) {
    // A log closes for two reasons: the node is stopping or the topic was deleted.
    const error = shuttingDown
      ? new RaftbusError(ErrorCode.SHUTTING_DOWN)
      : new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { ...ref });
    return { error, unexpected: false };
  }
  if (err instanceof AppendQueueFullError) {
    // Backpressure, not a fault: the client retries (STORAGE_ERROR is retriable).
    return { error: new RaftbusError(ErrorCode.STORAGE_ERROR, { detail: err.message }), unexpected: false };
  }
  if (err instanceof InvalidLogConfigError) {
    return { error: new RaftbusError(ErrorCode.INVALID_CONFIG, { detail: err.message }), unexpected: false };
  }
  if (err instanceof StorageError) {
    return { error: new RaftbusError(ErrorCode.STORAGE_ERROR, { detail: err.message }), unexpected: true };
  }
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { error: new RaftbusError(ErrorCode.UNKNOWN_SERVER_ERROR, { detail }), unexpected: true };
}

export function unknownPartition(ref: PartitionRef): RaftbusError {
  return new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: ref.topic, partition: ref.partition });
}

/**
 * The metadata entry of a topic that cannot be described (an invalid name, or
 * no such topic), or null when `exists` and the name is valid.
 */
export function topicMetadataProblem(name: string, exists: boolean): TopicMetadata | null {
  const problem = topicNameProblem(name);
  if (problem !== null) {
    const error = new RaftbusError(ErrorCode.INVALID_TOPIC, { topic: name, detail: problem }).toWire();
    return { name, error, partitions: [] };
  }
  if (!exists) return { name, error: unknownPartition({ topic: name, partition: -1 }).toWire(), partitions: [] };
  return null;
}
