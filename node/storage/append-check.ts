/**
 * The checks every log runs on a batch before accepting it. Header, exact
 * length and CRC only: the records are never decoded on the append path.
 */
import { BatchFormatError, type BatchHeader, HEADER_BYTES, validateBatch } from './batch.ts';
import { BatchTooLargeError, StorageError } from './errors.ts';

/** Returns the batch header or throws BatchTooLargeError, BatchFormatError or StorageError (bad term). */
export function checkAppendable(batch: Uint8Array, term: number, maxBatchBytes: number): BatchHeader {
  if (!(batch instanceof Uint8Array)) throw new BatchFormatError('a batch must be a Uint8Array');
  if (batch.byteLength > maxBatchBytes) throw new BatchTooLargeError(batch.byteLength, maxBatchBytes);
  if (!Number.isSafeInteger(term) || term < 0)
    throw new StorageError(`term must be a non-negative integer, got ${term}`);
  const header = validateBatch(batch);
  // A header may claim any count, and offsets are assigned from it; a record takes at least one body byte.
  if (header.recordCount > header.batchBytes - HEADER_BYTES) {
    throw new BatchFormatError(`record count ${header.recordCount} cannot fit in ${header.batchBytes} bytes`);
  }
  return header;
}
