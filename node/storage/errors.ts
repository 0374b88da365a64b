/** Typed storage errors. The broker maps each to a protocol error code. */
export { BatchFormatError } from './batch.ts';

export class StorageError extends Error {
  override readonly name: string = 'StorageError';
  readonly code: string = 'STORAGE_ERROR';
}

export class OffsetOutOfRangeError extends StorageError {
  override readonly name = 'OffsetOutOfRangeError';
  override readonly code = 'OFFSET_OUT_OF_RANGE';
  readonly offset: number;
  readonly startOffset: number;
  readonly endOffset: number;
  constructor(offset: number, startOffset: number, endOffset: number) {
    super(`offset ${offset} is outside [${startOffset}, ${endOffset}]`);
    this.offset = offset;
    this.startOffset = startOffset;
    this.endOffset = endOffset;
  }
}

export class BatchTooLargeError extends StorageError {
  override readonly name = 'BatchTooLargeError';
  override readonly code = 'MESSAGE_TOO_LARGE';
  readonly bytes: number;
  readonly limit: number;
  constructor(bytes: number, limit: number) {
    super(`batch of ${bytes} bytes exceeds the limit of ${limit}`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

export class LogClosedError extends StorageError {
  override readonly name = 'LogClosedError';
  override readonly code = 'LOG_CLOSED';
  constructor() {
    super('the log is closed');
  }
}

/*
 * Additions by the storage engine (additive only; nothing above is renamed).
 */

/** A LogConfig (or FileLogOptions) value that cannot work; `key` names the bad field. */
export class InvalidLogConfigError extends StorageError {
  override readonly name = 'InvalidLogConfigError';
  override readonly code = 'INVALID_LOG_CONFIG';
  readonly key: string;
  constructor(key: string, detail: string) {
    super(`invalid log config ${key}: ${detail}`);
    this.key = key;
  }
}

/** truncateFrom(offset) where offset falls inside a batch rather than at its start. */
export class NotBatchBoundaryError extends StorageError {
  override readonly name = 'NotBatchBoundaryError';
  override readonly code = 'NOT_BATCH_BOUNDARY';
  readonly offset: number;
  readonly batchBaseOffset: number;
  constructor(offset: number, batchBaseOffset: number) {
    super(`offset ${offset} is inside the batch starting at ${batchBaseOffset}, not at a batch boundary`);
    this.offset = offset;
    this.batchBaseOffset = batchBaseOffset;
  }
}

/** Too many bytes are queued for writing; the caller should back off and retry. */
export class AppendQueueFullError extends StorageError {
  override readonly name = 'AppendQueueFullError';
  override readonly code = 'APPEND_QUEUE_FULL';
  readonly queuedBytes: number;
  readonly limit: number;
  constructor(queuedBytes: number, limit: number) {
    super(`append queue holds ${queuedBytes} bytes, limit ${limit}`);
    this.queuedBytes = queuedBytes;
    this.limit = limit;
  }
}

/**
 * A write or fdatasync failed. After a failed fdatasync the page cache can no
 * longer be trusted (the "fsyncgate" lesson), so the log refuses all further
 * work until it is reopened and recovered from disk.
 */
export class LogFailedError extends StorageError {
  override readonly name = 'LogFailedError';
  override readonly code = 'LOG_FAILED';
  override readonly cause: unknown;
  constructor(detail: string, cause?: unknown) {
    super(`the log failed and must be reopened: ${detail}`);
    this.cause = cause;
  }
}

/** Bytes on disk that must have been a valid batch are not (found while reading or opening). */
export class CorruptSegmentError extends StorageError {
  override readonly name = 'CorruptSegmentError';
  override readonly code = 'CORRUPT_SEGMENT';
  readonly file: string;
  readonly position: number;
  constructor(file: string, position: number, detail: string) {
    super(`corrupt data in ${file} at byte ${position}: ${detail}`);
    this.file = file;
    this.position = position;
  }
}

/** appendStamped() got a batch stamped for a different offset than the one it would land at. */
export class StampedOffsetMismatchError extends StorageError {
  override readonly name = 'StampedOffsetMismatchError';
  override readonly code = 'STAMPED_OFFSET_MISMATCH';
  readonly expectedOffset: number;
  readonly stampedOffset: number;
  constructor(expectedOffset: number, stampedOffset: number) {
    super(`a stamped batch says base offset ${stampedOffset} but the log ends at ${expectedOffset}`);
    this.expectedOffset = expectedOffset;
    this.stampedOffset = stampedOffset;
  }
}
