/**
 * One segment: a `.log` file of back-to-back batches whose name is the base
 * offset of its first batch, plus its sparse offset and time indexes.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BatchHeader, lastOffsetOf } from './batch.ts';
import { scanBatches } from './batch-scan.ts';
import { CorruptSegmentError } from './errors.ts';
import type { LogFile } from './log-file.ts';
import { OffsetIndex, TimeIndex } from './sparse-index.ts';

export const SEGMENT_NAME_DIGITS = 20;
export const LOG_EXT = '.log';
export const INDEX_EXT = '.index';
export const TIME_INDEX_EXT = '.timeindex';

export function segmentFileName(baseOffset: number, ext: string): string {
  return String(baseOffset).padStart(SEGMENT_NAME_DIGITS, '0') + ext;
}

/** The base offset named by a `.log` file name, or null for any other file. */
export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{20})\.log$/.exec(name);
  if (!m) return null;
  const base = Number(m[1]);
  return Number.isSafeInteger(base) ? base : null;
}

export type OpenLogFile = (path: string, create: boolean) => Promise<LogFile>;

export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  readonly file: LogFile;
  index = new OffsetIndex();
  timeIndex = new TimeIndex();
  /** Bytes of whole batches written; readers never look past this. */
  writtenBytes = 0;
  /** Offset after the last written batch. */
  nextOffset: number;
  /** Largest batch maxTimestamp in the segment; -1 when empty. */
  maxTimestamp = -1;
  /** Broker time of the first append to this segment (roll by age); null when empty. */
  firstAppendMs: number | null = null;
  /** Closed for appends; its indexes are on disk. */
  sealed = false;
  #bytesSinceIndexEntry = 0;
  #refs = 0;
  #deleted = false;
  #closed = false;

  constructor(dir: string, baseOffset: number, file: LogFile) {
    this.baseOffset = baseOffset;
    this.logPath = join(dir, segmentFileName(baseOffset, LOG_EXT));
    this.indexPath = join(dir, segmentFileName(baseOffset, INDEX_EXT));
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, TIME_INDEX_EXT));
    this.file = file;
    this.nextOffset = baseOffset;
  }

  get isEmpty(): boolean {
    return this.writtenBytes === 0;
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  /** Bookkeeping for one batch just written (or found by recovery) at `position`. */
  noteBatch(position: number, header: BatchHeader, indexIntervalBytes: number): void {
    if (position !== this.writtenBytes)
      throw new Error(`batch at ${position}, segment written to ${this.writtenBytes}`);
    if (header.baseOffset !== this.nextOffset) {
      throw new Error(`batch base offset ${header.baseOffset}, segment expects ${this.nextOffset}`);
    }
    if (header.maxTimestamp > this.maxTimestamp) this.maxTimestamp = header.maxTimestamp;
    const rel = header.baseOffset - this.baseOffset;
    if (position > 0 && this.#bytesSinceIndexEntry >= indexIntervalBytes) {
      this.index.add(rel, position);
      this.timeIndex.maybeAdd(this.maxTimestamp, rel);
      this.#bytesSinceIndexEntry = 0;
    }
    this.#bytesSinceIndexEntry += header.batchBytes;
    this.writtenBytes = position + header.batchBytes;
    this.nextOffset = lastOffsetOf(header) + 1;
  }

  /** Resets the bookkeeping so that the segment can be rescanned from scratch. */
  resetBookkeeping(): void {
    this.index = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.writtenBytes = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.#bytesSinceIndexEntry = 0;
  }

  /**
   * Adopts sealed indexes loaded from disk for a segment of `fileBytes` and
   * scans only the tail after the last index entry to learn the end offset.
   * Returns false when the tail is not whole batches (the caller then rescans).
   */
  async adoptIndexes(index: OffsetIndex, timeIndex: TimeIndex, fileBytes: number, interval: number): Promise<boolean> {
    const tailPos = index.lastPosition();
    const tailRel = index.length === 0 ? 0 : index.relOffsets[index.length - 1]!;
    this.index = index;
    this.timeIndex = timeIndex;
    this.maxTimestamp = timeIndex.lastTimestamp();
    this.writtenBytes = tailPos;
    this.nextOffset = this.baseOffset + tailRel;
    this.#bytesSinceIndexEntry = 0;
    let ok = true;
    const scan = await scanBatches(
      this.file,
      tailPos,
      fileBytes,
      { verifyCrc: false, expectBaseOffset: this.nextOffset },
      (_pos, h) => {
        if (h.maxTimestamp > this.maxTimestamp) this.maxTimestamp = h.maxTimestamp;
        this.#bytesSinceIndexEntry += h.batchBytes;
        this.writtenBytes += h.batchBytes;
        this.nextOffset = lastOffsetOf(h) + 1;
        return true;
      },
    );
    if (scan.bad !== null || this.writtenBytes !== fileBytes) ok = false;
    // The bytes since the last entry are not exactly known after a reload; only matters if appended to again.
    this.#bytesSinceIndexEntry = interval;
    return ok;
  }

  /** Loads the sealed index files if they describe exactly this segment. */
  async loadIndexes(fileBytes: number): Promise<{ index: OffsetIndex; timeIndex: TimeIndex } | null> {
    const [ib, tb] = await Promise.all([readOptional(this.indexPath), readOptional(this.timeIndexPath)]);
    if (ib === null || tb === null) return null;
    const index = OffsetIndex.parse(ib, fileBytes);
    const timeIndex = TimeIndex.parse(tb, fileBytes);
    if (index === null || timeIndex === null) return null;
    return { index, timeIndex };
  }

  async writeIndexes(): Promise<void> {
    await Promise.all([
      writeFile(this.indexPath, this.index.serialize(this.writtenBytes)),
      writeFile(this.timeIndexPath, this.timeIndex.serialize(this.writtenBytes)),
    ]);
  }

  async removeIndexFiles(): Promise<void> {
    await Promise.all([rm(this.indexPath, { force: true }), rm(this.timeIndexPath, { force: true })]);
  }

  /**
   * Finds the batch holding `offset` (which must be in [baseOffset, nextOffset)),
   * looking at most `limitBytes` into the file. Null if no written batch holds it.
   */
  async locate(offset: number, limitBytes: number): Promise<{ position: number; header: BatchHeader } | null> {
    const start = this.index.floorPosition(offset - this.baseOffset);
    let found: { position: number; header: BatchHeader } | null = null;
    const scan = await scanBatches(this.file, start, limitBytes, { verifyCrc: false }, (position, header) => {
      if (lastOffsetOf(header) >= offset) {
        found = { position, header };
        return false;
      }
      return true;
    });
    if (scan.bad !== null) throw new CorruptSegmentError(this.logPath, scan.bad.position, scan.bad.reason);
    return found;
  }

  /** Base offset of the first batch with maxTimestamp >= timestampMs, or null. */
  async firstBatchAtOrAfter(timestampMs: number, limitBytes: number): Promise<number | null> {
    if (this.maxTimestamp < timestampMs) return null;
    const rel = this.timeIndex.lastBelow(timestampMs);
    const start = rel < 0 ? 0 : this.index.floorPosition(rel);
    let found: number | null = null;
    const scan = await scanBatches(this.file, start, limitBytes, { verifyCrc: false }, (_position, header) => {
      if (header.maxTimestamp >= timestampMs) {
        found = header.baseOffset;
        return false;
      }
      return true;
    });
    if (scan.bad !== null) throw new CorruptSegmentError(this.logPath, scan.bad.position, scan.bad.reason);
    return found;
  }

  /** Truncates the segment at `position` (a batch boundary) ending at `offset`. */
  async truncateTo(position: number, offset: number): Promise<void> {
    await this.file.truncate(position);
    this.index.truncateToPosition(position);
    this.timeIndex.truncateToRelOffset(offset - this.baseOffset);
    this.writtenBytes = position;
    this.nextOffset = offset;
    this.#bytesSinceIndexEntry = 0;
    if (position === 0) {
      this.maxTimestamp = -1;
      this.firstAppendMs = null;
    }
  }

  /** Recomputes maxTimestamp after a truncation by scanning from the last time index entry. */
  async recomputeMaxTimestamp(): Promise<void> {
    let max = this.timeIndex.lastTimestamp();
    const rel = this.timeIndex.length === 0 ? 0 : this.timeIndex.relOffsets[this.timeIndex.length - 1]!;
    const start = this.index.floorPosition(rel);
    const scan = await scanBatches(this.file, start, this.writtenBytes, { verifyCrc: false }, (_p, h) => {
      if (h.maxTimestamp > max) max = h.maxTimestamp;
      return true;
    });
    if (scan.bad !== null) throw new CorruptSegmentError(this.logPath, scan.bad.position, scan.bad.reason);
    this.maxTimestamp = max;
  }

  /** Pins the file open for a read. */
  acquire(): boolean {
    if (this.#deleted || this.#closed) return false;
    this.#refs++;
    return true;
  }

  release(): void {
    this.#refs--;
    if (this.#refs < 0) throw new Error('segment released more often than acquired');
    if (this.#refs === 0 && this.#deleted) void this.#closeFile();
  }

  /**
   * Unlinks the files. The descriptor stays open until the last reader lets go
   * (on POSIX an unlinked file stays readable through open descriptors).
   */
  async delete(): Promise<void> {
    this.#deleted = true;
    await Promise.all([
      rm(this.logPath, { force: true }),
      rm(this.indexPath, { force: true }),
      rm(this.timeIndexPath, { force: true }),
    ]);
    if (this.#refs === 0) await this.#closeFile();
  }

  async close(): Promise<void> {
    await this.#closeFile();
  }

  async abandon(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.file.abandon();
  }

  async #closeFile(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.file.close();
  }
}

async function readOptional(path: string): Promise<Uint8Array | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
