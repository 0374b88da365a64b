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
