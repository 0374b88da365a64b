/**
 * MemoryLog: the PartitionLog contract held in memory, for tests of the layers
 * above storage. Same validation, offsets, reads, timestamps, truncation and
 * retention as FileLog; segments are virtual (they only group batches so that
 * roll and retention behave alike). Nothing is durable; flush() does nothing.
 */

import { checkAppendable } from './append-check.ts';
import { type BatchHeader, lastOffsetOf, stampBatch } from './batch.ts';
import { validateLogConfig } from './config.ts';
import { LogClosedError, NotBatchBoundaryError, OffsetOutOfRangeError, StorageError } from './errors.ts';
import type { AppendResult, LogConfig, PartitionLog, ReadResult } from './log.ts';

interface MemBatch {
  header: BatchHeader;
  bytes: Uint8Array;
}

interface MemSegment {
  baseOffset: number;
  batches: MemBatch[];
  bytes: number;
  maxTimestamp: number;
  firstAppendMs: number | null;
}

export interface MemoryLogOptions {
  nowMs?: () => number;
}

const REL_OFFSET_MAX = 0xffff_ffff;

function newSegment(baseOffset: number): MemSegment {
  return { baseOffset, batches: [], bytes: 0, maxTimestamp: -1, firstAppendMs: null };
}

/** Index of the batch holding `offset` in a segment, or -1. */
function findBatch(seg: MemSegment, offset: number): number {
  let lo = 0;
  let hi = seg.batches.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const h = seg.batches[mid]!.header;
    if (lastOffsetOf(h) < offset) lo = mid + 1;
    else if (h.baseOffset > offset) hi = mid - 1;
    else return mid;
  }
  return -1;
}

export class MemoryLog implements PartitionLog {
  readonly config: LogConfig;
  #segments: MemSegment[] = [newSegment(0)];
  #closed = false;
  #now: () => number;

  constructor(config: LogConfig, options: MemoryLogOptions = {}) {
    this.config = validateLogConfig(config);
    this.#now = options.nowMs ?? Date.now;
  }

  get startOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  get endOffset(): number {
    const tail = this.#active;
    const last = tail.batches[tail.batches.length - 1];
    return last === undefined ? tail.baseOffset : lastOffsetOf(last.header) + 1;
  }

  get sizeBytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.bytes;
    return n;
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  get segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }

  get #active(): MemSegment {
    return this.#segments[this.#segments.length - 1]!;
  }

  async append(batch: Uint8Array, term = 0): Promise<AppendResult> {
    this.#checkOpen();
    const header = checkAppendable(batch, term, this.config.maxBatchBytes);
    const nowMs = this.#now();
    const baseOffset = this.endOffset;
    let seg = this.#active;
    if (this.#shouldRoll(seg, header, baseOffset, nowMs)) {
      seg = newSegment(baseOffset);
      this.#segments.push(seg);
    }
    // Stamp the caller's bytes (as FileLog does) and keep a private copy.
    stampBatch(batch, baseOffset, term);
    const bytes = batch.slice();
    const stored: BatchHeader = { ...header, baseOffset, term };
    seg.batches.push({ header: stored, bytes });
    seg.bytes += bytes.byteLength;
    if (stored.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = stored.maxTimestamp;
    if (seg.firstAppendMs === null) seg.firstAppendMs = nowMs;
    return { baseOffset, lastOffset: lastOffsetOf(stored), appendTimeMs: nowMs };
  }

  #shouldRoll(seg: MemSegment, header: BatchHeader, baseOffset: number, nowMs: number): boolean {
    if (seg.batches.length === 0) return false;
    if (seg.bytes + header.batchBytes > this.config.segmentBytes) return true;
    if (baseOffset + header.recordCount - 1 - seg.baseOffset > REL_OFFSET_MAX) return true;
    return seg.firstAppendMs !== null && nowMs - seg.firstAppendMs >= this.config.segmentMs;
  }

  async read(fromOffset: number, maxBytes: number, maxOffset?: number): Promise<ReadResult> {
    this.#checkOpen();
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new StorageError(`bad maxBytes ${maxBytes}`);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < this.startOffset || fromOffset > this.endOffset) {
      throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.endOffset);
    }
    const limit = Math.min(maxOffset ?? this.endOffset, this.endOffset);
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    let next = fromOffset;
    let si = this.#segments.length - 1;
    while (si > 0 && this.#segments[si]!.baseOffset > next) si--;
    // Bounded by the number of stored batches.
    outer: for (; si < this.#segments.length; si++) {
      const seg = this.#segments[si]!;
      let bi = findBatch(seg, next);
      if (bi < 0) continue;
      for (; bi < seg.batches.length; bi++) {
        const b = seg.batches[bi]!;
        if (lastOffsetOf(b.header) >= limit) break outer;
        if (chunks.length > 0 && bytes + b.bytes.byteLength > maxBytes) break outer;
        chunks.push(b.bytes.slice());
        bytes += b.bytes.byteLength;
        next = lastOffsetOf(b.header) + 1;
      }
    }
    return { chunks, bytes, nextOffset: chunks.length === 0 ? fromOffset : next };
  }

  async offsetForTimestamp(timestampMs: number): Promise<number | null> {
    this.#checkOpen();
    for (const seg of this.#segments) {
      if (seg.maxTimestamp < timestampMs) continue;
      for (const b of seg.batches) if (b.header.maxTimestamp >= timestampMs) return b.header.baseOffset;
    }
    return null;
  }

  async truncateFrom(offset: number): Promise<void> {
    this.#checkOpen();
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.endOffset) {
      throw new OffsetOutOfRangeError(offset, this.startOffset, this.endOffset);
    }
    if (offset === this.endOffset) return;
    let si = this.#segments.length - 1;
    while (si > 0 && this.#segments[si]!.baseOffset > offset) si--;
    const seg = this.#segments[si]!;
    if (seg.baseOffset === offset && si > 0) {
      this.#segments.length = si;
      return;
    }
    const bi = findBatch(seg, offset);
    if (bi < 0) throw new StorageError(`no batch holds offset ${offset}`);
    const base = seg.batches[bi]!.header.baseOffset;
    if (base !== offset) throw new NotBatchBoundaryError(offset, base);
    this.#segments.length = si + 1;
    seg.batches.length = bi;
    seg.bytes = 0;
    seg.maxTimestamp = -1;
    for (const b of seg.batches) {
      seg.bytes += b.bytes.byteLength;
      if (b.header.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = b.header.maxTimestamp;
    }
    if (seg.batches.length === 0) seg.firstAppendMs = null;
  }

  async applyRetention(nowMs: number = this.#now()): Promise<number> {
    this.#checkOpen();
    const { retentionMs, retentionBytes } = this.config;
    let deleted = 0;
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      const tooOld = retentionMs >= 0 && oldest.maxTimestamp < nowMs - retentionMs;
      const tooBig = retentionBytes >= 0 && this.sizeBytes > retentionBytes;
      if (!tooOld && !tooBig) break;
      this.#segments.shift();
      deleted++;
    }
    return deleted;
  }

  async flush(): Promise<void> {
    this.#checkOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError();
  }
}
