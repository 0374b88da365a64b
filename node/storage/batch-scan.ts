/**
 * Walks the batches stored in a byte range of a segment file, reading in
 * blocks. Used by recovery (verify every header and CRC), by index rebuilds
 * and by reads (find the batch holding an offset after an index lookup).
 */
import {
  BatchFormatError,
  type BatchHeader,
  batchCrcOk,
  HEADER_BYTES,
  lastOffsetOf,
  readBatchHeader,
} from './batch.ts';
import type { LogFile } from './log-file.ts';

/** No stored batch can be larger than this (validateLogConfig caps maxBatchBytes here). */
export const STORED_BATCH_BYTES_MAX = 256 * 1024 * 1024;
/** Header-only scans hop from header to header; a small block covers an index interval of small batches. */
const HEADER_SCAN_BLOCK_BYTES = 16 * 1024;
/** CRC scans read whole batches; a large block keeps syscalls few. */
const CRC_SCAN_BLOCK_BYTES = 1024 * 1024;

export interface ScanOptions {
  /** Check each batch's CRC (recovery); otherwise headers only. */
  verifyCrc: boolean;
  /** When set, every batch must start at this offset and continue without gaps. */
  expectBaseOffset?: number;
}

export interface ScanBad {
  position: number;
  reason: string;
}

export interface ScanResult {
  /** Byte right after the last good batch visited. */
  endPosition: number;
  /** Offset after the last good batch visited, or null if none was. */
  nextOffset: number | null;
  /** Set when the scan stopped at something that is not a whole, valid batch. */
  bad: ScanBad | null;
  /** True when `visit` asked to stop. */
  stopped: boolean;
}

/** Called for each good batch; return false to stop. */
export type BatchVisitor = (position: number, header: BatchHeader) => boolean | undefined;

/**
 * Visits the batches in [from, to). Stops at the first bad one and reports it
 * (a torn tail is a batch that runs past `to`). Never throws on bad data.
 */
export async function scanBatches(
  file: LogFile,
  from: number,
  to: number,
  options: ScanOptions,
  visit: BatchVisitor,
): Promise<ScanResult> {
  const block = options.verifyCrc ? CRC_SCAN_BLOCK_BYTES : HEADER_SCAN_BLOCK_BYTES;
  // allocUnsafe: only bytes actually read are ever looked at.
  let buf: Uint8Array = Buffer.allocUnsafe(Math.min(block, Math.max(HEADER_BYTES, to - from)));
  let bufStart = from;
  let bufLen = 0;
  let pos = from;
  let expect = options.expectBaseOffset;
  let nextOffset: number | null = null;
  const result = (bad: ScanBad | null, stopped: boolean): ScanResult => ({
    endPosition: pos,
    nextOffset,
    bad,
    stopped,
  });

  // Bounded: every iteration advances pos by a whole batch (>= HEADER_BYTES + 1) or returns.
  while (pos < to) {
    if (to - pos < HEADER_BYTES) return result({ position: pos, reason: `torn header: ${to - pos} bytes left` }, false);
    // Make sure the header (and, when verifying, the whole batch) is in the buffer.
    if (pos + HEADER_BYTES > bufStart + bufLen) {
      bufStart = pos;
      bufLen = await file.read(buf.subarray(0, Math.min(buf.byteLength, to - pos)), pos);
      if (bufLen < HEADER_BYTES) return result({ position: pos, reason: 'short read of a header' }, false);
    }
    let header: BatchHeader;
    try {
      header = readBatchHeader(buf.subarray(0, bufLen), pos - bufStart);
    } catch (err) {
      if (err instanceof BatchFormatError)
        return result({ position: pos, reason: `bad header: ${err.message}` }, false);
      throw err;
    }
    if (header.batchBytes > STORED_BATCH_BYTES_MAX) {
      return result({ position: pos, reason: `batch length ${header.batchBytes} is impossible` }, false);
    }
    if (header.recordCount > header.batchBytes - HEADER_BYTES) {
      return result({ position: pos, reason: `record count ${header.recordCount} cannot fit the batch` }, false);
    }
    if (pos + header.batchBytes > to) {
      return result({ position: pos, reason: `torn batch: needs ${header.batchBytes} bytes, ${to - pos} left` }, false);
    }
    if (expect !== undefined && header.baseOffset !== expect) {
      return result({ position: pos, reason: `batch base offset ${header.baseOffset}, expected ${expect}` }, false);
    }
    if (options.verifyCrc) {
      if (pos + header.batchBytes > bufStart + bufLen) {
        if (header.batchBytes > buf.byteLength) buf = Buffer.allocUnsafe(header.batchBytes);
        bufStart = pos;
        bufLen = await file.read(buf.subarray(0, Math.min(buf.byteLength, to - pos)), pos);
        if (bufLen < header.batchBytes) return result({ position: pos, reason: 'short read of a batch' }, false);
      }
      const at = pos - bufStart;
      if (!batchCrcOk(buf.subarray(at, at + header.batchBytes))) {
        return result({ position: pos, reason: 'CRC mismatch' }, false);
      }
    }
    const keepGoing = visit(pos, header);
    pos += header.batchBytes;
    nextOffset = lastOffsetOf(header) + 1;
    if (expect !== undefined) expect = nextOffset;
    if (keepGoing === false) return result(null, true);
  }
  return result(null, false);
}
