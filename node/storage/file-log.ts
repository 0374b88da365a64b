/**
 * FileLog: a partition log made of segments in one directory.
 *
 * Write path: append() validates the batch (header, exact length, CRC; the
 * records are never decoded) and queues it. One writer loop drains the queue
 * in order: it stamps base offsets, gathers consecutive batches into one
 * writev, and hands them to group commit (flush 'always'), which resolves
 * them after an fdatasync that started once their write was complete.
 * Truncation, retention and close run in the same queue, so they see every
 * earlier append written and no later one.
 *
 * Read path: reads never enter the queue. They look only at batches already
 * written (each segment's writtenBytes), so appends and reads overlap freely;
 * only a truncation briefly holds reads back (ReadGate).
 */
import { join } from 'node:path';
import { checkAppendable } from './append-check.ts';
import { type BatchHeader, batchCrcOk, HEADER_BYTES, lastOffsetOf, readBatchHeader, stampBatch } from './batch.ts';
import { validateLogConfig } from './config.ts';
import { syncDir } from './dir-sync.ts';
import {
  AppendQueueFullError,
  CorruptSegmentError,
  LogClosedError,
  LogFailedError,
  NotBatchBoundaryError,
  OffsetOutOfRangeError,
  StampedOffsetMismatchError,
  StorageError,
} from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import type { AppendResult, LogConfig, PartitionLog, ReadResult } from './log.ts';
import { DiskLogFile, type IoStats, type LogFile, newIoStats } from './log-file.ts';
import { PowerLossLogFile } from './power-loss-file.ts';
import { ReadGate } from './read-gate.ts';
import { type RecoveryReport, recoverSegments } from './recovery.ts';
import { LOG_EXT, Segment, segmentFileName } from './segment.ts';

export interface FileLogOptions {
  /**
   * TEST-ONLY. Keeps written-but-unsynced bytes in process memory until
   * fdatasync, so a `kill -9` (or simulateCrash()) loses them as a power cut
   * would. Chaos tests use it; production must not.
   */
  simulatePowerLoss?: boolean;
  /** Clock for append times and roll by age; tests inject one. */
  nowMs?: () => number;
  /** Bytes queued but not yet written beyond which append rejects with AppendQueueFullError. */
  queuedBytesMax?: number;
  /** Largest run of queued batches written with one writev. */
  writeGroupBytesMax?: number;
  /** TEST-ONLY fault injection: wraps every segment file the log opens. */
  wrapFile?: (file: LogFile) => LogFile;
  /**
   * Open segment files O_DSYNC: each write (one writev of the queued batches)
   * is durable when it completes, so nothing is left for flush() to fdatasync.
   * One thread-pool round trip per group of writes instead of two (write, then
   * fdatasync): what a Raft log that syncs every Ready wants (PartitionRaftStorage
   * with flush 'always'). Appends queued meanwhile share the next write: group
   * commit still holds.
   */
  durableWrites?: boolean;
}

const QUEUED_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const WRITE_GROUP_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/** Sparse index relative offsets are u32. */
const REL_OFFSET_MAX = 0xffff_ffff;

interface AppendOp {
  kind: 'append';
  batch: Uint8Array;
  header: BatchHeader;
  term: number;
  /** Already stamped by the caller (a replicated log): keep baseOffset/term/raftIndex, check baseOffset. */
  stamped: boolean;
  resolve(r: AppendResult): void;
  reject(err: unknown): void;
}

interface FlushOp {
  kind: 'flush';
  resolve(): void;
  reject(err: unknown): void;
}

interface ExclusiveOp {
  kind: 'exclusive';
  run(): Promise<unknown>;
  resolve(v: unknown): void;
  reject(err: unknown): void;
}

type Op = AppendOp | FlushOp | ExclusiveOp;

function checkNonNegativeInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new StorageError(`${name} must be a non-negative integer, got ${v}`);
}

export class FileLog implements PartitionLog {
  readonly dir: string;
  readonly config: LogConfig;
  /** What open() found and repaired. */
  readonly recovery: RecoveryReport;
  /** fdatasync / write counters across all segment files. */
  readonly stats: IoStats;

  #segments: Segment[];
  #nextOffset: number;
  #queue: Op[] = [];
  #queuedBytes = 0;
  #draining = false;
  #drainScheduled = false;
  #closing = false;
  #closed = false;
  #failure: LogFailedError | null = null;
  #sync: GroupCommit;
  #gate = new ReadGate();
  #timer: NodeJS.Timeout | null = null;
  #now: () => number;
  #queuedBytesMax: number;
  #writeGroupBytesMax: number;
  #durableWrites: boolean;
  #openFile: (path: string, create: boolean) => Promise<LogFile>;

  private constructor(
    dir: string,
    config: LogConfig,
    segments: Segment[],
    recovery: RecoveryReport,
    stats: IoStats,
    openFile: (path: string, create: boolean) => Promise<LogFile>,
    options: FileLogOptions,
  ) {
    this.dir = dir;
    this.config = config;
    this.recovery = recovery;
    this.stats = stats;
    this.#segments = segments;
    this.#nextOffset = segments[segments.length - 1]!.nextOffset;
    this.#openFile = openFile;
    this.#now = options.nowMs ?? Date.now;
    this.#queuedBytesMax = options.queuedBytesMax ?? QUEUED_BYTES_MAX_DEFAULT;
    this.#writeGroupBytesMax = options.writeGroupBytesMax ?? WRITE_GROUP_BYTES_MAX_DEFAULT;
    this.#durableWrites = options.durableWrites ?? false;
    this.#sync = new GroupCommit((err) => this.#fail(err as LogFailedError));
    if (config.flush.kind === 'interval') {
      this.#timer = setInterval(() => this.#sync.syncIfDirty(), config.flush.intervalMs);
      this.#timer.unref();
    }
  }

  /** Opens (creating if needed) the log in `dir`, recovering the tail segment. */
  static async open(dir: string, config: LogConfig, options: FileLogOptions = {}): Promise<FileLog> {
    validateLogConfig(config);
    const stats = newIoStats();
    const durable = options.durableWrites ?? false;
    const baseOpen = options.simulatePowerLoss
      ? (path: string, create: boolean): Promise<LogFile> => PowerLossLogFile.open(path, create, stats, durable)
      : (path: string, create: boolean): Promise<LogFile> => DiskLogFile.open(path, create, stats, durable);
    const wrap = options.wrapFile;
    const openFile = wrap ? async (path: string, create: boolean) => wrap(await baseOpen(path, create)) : baseOpen;
    const now = options.nowMs ?? Date.now;
    const { segments, report } = await recoverSegments(dir, config, openFile, now);
    return new FileLog(dir, config, segments, report, stats, openFile, options);
  }

  get startOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  get endOffset(): number {
    return this.#nextOffset;
  }

  /** Every completed write is already durable (FileLogOptions.durableWrites): flush() has nothing to sync. */
  get durableWrites(): boolean {
    return this.#durableWrites;
  }

  get sizeBytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.writtenBytes;
    return n;
  }

  /** Number of segment files (tests, metrics). */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }

  /** Offset after the last batch fully written (readable); endOffset may be ahead while writes run. */
  get writtenOffset(): number {
    return this.#active.nextOffset;
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  append(batch: Uint8Array, term = 0): Promise<AppendResult> {
    return this.#enqueueAppend(batch, term, false);
  }

  /**
   * Appends a batch whose baseOffset, term and raftIndex are already stamped
   * (a replicated partition: every replica writes the leader's exact bytes).
   * Nothing is re-stamped; a batch whose baseOffset is not the offset it
   * lands at rejects with NotBatchBoundaryError and leaves nothing behind.
   */
  appendStamped(batch: Uint8Array): Promise<AppendResult> {
    let term: number;
    try {
      term = readBatchHeader(batch).term;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueueAppend(batch, term, true);
  }

  #enqueueAppend(batch: Uint8Array, term: number, stamped: boolean): Promise<AppendResult> {
    if (this.#closing) return Promise.reject(new LogClosedError());
    if (this.#failure !== null) return Promise.reject(this.#failure);
    let header: BatchHeader;
    try {
      header = checkAppendable(batch, term, this.config.maxBatchBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#queuedBytes + batch.byteLength > this.#queuedBytesMax) {
      return Promise.reject(new AppendQueueFullError(this.#queuedBytes, this.#queuedBytesMax));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ kind: 'append', batch, header, term, stamped, resolve, reject });
      this.#queuedBytes += batch.byteLength;
      if (this.#durableWrites) this.#scheduleDrain();
      else void this.#drain();
    });
  }

  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: 'flush', resolve, reject });
      void this.#drain();
    });
  }

  async read(fromOffset: number, maxBytes: number, maxOffset?: number): Promise<ReadResult> {
    this.#checkReadable();
    checkNonNegativeInt('maxBytes', maxBytes);
    if (maxOffset !== undefined) checkNonNegativeInt('maxOffset', maxOffset);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < this.startOffset || fromOffset > this.endOffset) {
      throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.endOffset);
    }
    await this.#gate.enter();
    try {
      this.#checkReadable();
      return await this.#readWritten(fromOffset, maxBytes, maxOffset ?? this.endOffset);
    } finally {
      this.#gate.exit();
    }
  }

  async #readWritten(fromOffset: number, maxBytes: number, maxOffset: number): Promise<ReadResult> {
    const limit = Math.min(maxOffset, this.writtenOffset);
    const segs = this.#segments.slice();
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    let next = fromOffset;
    let i = segs.length - 1;
    while (i > 0 && segs[i]!.baseOffset > next) i--;
    if (next < segs[0]!.baseOffset) throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.endOffset);
    // Bounded by the segment count: each round returns or moves to the next segment.
    for (; i < segs.length && next < limit && (chunks.length === 0 || bytes < maxBytes); i++) {
      const seg = segs[i]!;
      if (!seg.acquire()) throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.endOffset);
      try {
        const segBytes = seg.writtenBytes;
        if (next >= seg.nextOffset) continue;
        const found = await seg.locate(next, segBytes);
        if (found === null) break;
        const budget = chunks.length === 0 ? Math.max(maxBytes, found.header.batchBytes) : maxBytes - bytes;
        const want = Math.min(budget, segBytes - found.position);
        if (want < found.header.batchBytes) break;
        // Unpooled and not zero-filled: only the bytes read from the file are returned.
        const buf = Buffer.allocUnsafeSlow(want);
        const got = await seg.file.read(buf, found.position);
        let at = 0;
        let reachedLimit = false;
        while (at + HEADER_BYTES <= got) {
          let h: BatchHeader;
          try {
            h = readBatchHeader(buf, at);
          } catch (err) {
            throw new CorruptSegmentError(seg.logPath, found.position + at, (err as Error).message);
          }
          if (at + h.batchBytes > got) break;
          if (lastOffsetOf(h) >= limit) {
            reachedLimit = true;
            break;
          }
          if (h.baseOffset > next || lastOffsetOf(h) < next) {
            throw new CorruptSegmentError(
              seg.logPath,
              found.position + at,
              `batch ${h.baseOffset} where ${next} was due`,
            );
          }
          // Never serve a batch whose bytes do not match their CRC.
          if (!batchCrcOk(buf.subarray(at, at + h.batchBytes))) {
            throw new CorruptSegmentError(seg.logPath, found.position + at, 'CRC mismatch on read');
          }
          at += h.batchBytes;
          next = lastOffsetOf(h) + 1;
        }
        if (at > 0) {
          chunks.push(buf.subarray(0, at));
          bytes += at;
        }
        if (reachedLimit || at === 0 || found.position + at < segBytes) break;
      } finally {
        seg.release();
      }
    }
    return { chunks, bytes, nextOffset: chunks.length === 0 ? fromOffset : next };
  }

  async offsetForTimestamp(timestampMs: number): Promise<number | null> {
    this.#checkReadable();
    await this.#gate.enter();
    try {
      for (const seg of this.#segments.slice()) {
        if (!seg.acquire()) continue;
        try {
          const found = await seg.firstBatchAtOrAfter(timestampMs, seg.writtenBytes);
          if (found !== null) return found;
        } finally {
          seg.release();
        }
      }
      return null;
    } finally {
      this.#gate.exit();
    }
  }

  truncateFrom(offset: number): Promise<void> {
    return this.#exclusive(async () => {
      if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.#nextOffset) {
        throw new OffsetOutOfRangeError(offset, this.startOffset, this.#nextOffset);
      }
      if (offset === this.#nextOffset) return;
      await this.#gate.close();
      await this.#sync.pause();
      try {
        await this.#truncate(offset);
      } finally {
        this.#sync.resume();
        this.#gate.open();
      }
    });
  }

  async #truncate(offset: number): Promise<void> {
    let idx = this.#segments.length - 1;
    while (idx > 0 && this.#segments[idx]!.baseOffset > offset) idx--;
    let keepIdx = idx;
    let cut: { seg: Segment; position: number } | null = null;
    const seg = this.#segments[idx]!;
    if (seg.baseOffset === offset && idx > 0) {
      keepIdx = idx - 1;
    } else {
      const found = await seg.locate(offset, seg.writtenBytes);
      if (found === null) throw new StorageError(`no batch holds offset ${offset} in ${seg.logPath}`);
      if (found.header.baseOffset !== offset) throw new NotBatchBoundaryError(offset, found.header.baseOffset);
      cut = { seg, position: found.position };
    }
    // Delete later segments newest first, so a crash midway leaves a contiguous prefix.
    const doomed = this.#segments.slice(keepIdx + 1).reverse();
    for (const d of doomed) {
      this.#sync.forget(d.file);
      await d.delete();
    }
    this.#segments.length = keepIdx + 1;
    if (cut !== null) {
      await cut.seg.truncateTo(cut.position, offset);
      await cut.seg.recomputeMaxTimestamp();
    }
    const tail = this.#active;
    if (tail.sealed) {
      tail.sealed = false;
      await tail.removeIndexFiles();
    }
    if (tail.firstAppendMs === null && !tail.isEmpty) tail.firstAppendMs = this.#now();
    this.#nextOffset = offset;
    if (tail.nextOffset !== offset)
      throw new Error(`after truncation the tail ends at ${tail.nextOffset}, not ${offset}`);
    // Make the cut durable: data past it must not come back after a crash.
    await tail.file.datasync();
    if (doomed.length > 0) await syncDir(this.dir);
  }

  applyRetention(nowMs: number = this.#now()): Promise<number> {
    return this.#exclusive(async () => {
      const { retentionMs, retentionBytes } = this.config;
      if (retentionMs < 0 && retentionBytes < 0) return 0;
      await this.#sync.pause();
      let deleted = 0;
      try {
        // Never the active segment; bounded by the segment count.
        while (this.#segments.length > 1) {
          const oldest = this.#segments[0]!;
          const tooOld = retentionMs >= 0 && oldest.maxTimestamp < nowMs - retentionMs;
          const tooBig = retentionBytes >= 0 && this.sizeBytes > retentionBytes;
          if (!tooOld && !tooBig) break;
          this.#segments.shift();
          this.#sync.forget(oldest.file);
          await oldest.delete();
          deleted++;
        }
      } finally {
        this.#sync.resume();
      }
      return deleted;
    });
  }

  /** Flushes and closes. Idempotent; every other call afterwards rejects with LogClosedError. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    let flushErr: unknown = null;
    if (this.#failure === null) {
      await this.#exclusive(() => this.#sync.sync(), true).catch((err) => {
        flushErr = err;
      });
    }
    await this.#gate.close();
    this.#closed = true;
    this.#gate.open();
    await Promise.all(this.#segments.map((s) => s.close()));
    if (flushErr !== null) throw flushErr;
  }

  /**
   * TEST-ONLY: a crash. Drops everything queued, closes the files without
   * syncing (with simulatePowerLoss, unsynced bytes are lost), and rejects
   * every later call with LogClosedError.
   */
  async simulateCrash(): Promise<void> {
    this.#closing = true;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    const err = new LogClosedError();
    this.#sync.fail(err);
    for (const op of this.#queue.splice(0)) op.reject(err);
    await Promise.all(this.#segments.map((s) => s.abandon()));
  }

  #checkReadable(): void {
    if (this.#closed) throw new LogClosedError();
    if (this.#failure !== null) throw this.#failure;
  }

  #exclusive<T>(run: () => Promise<T>, duringClose = false): Promise<T> {
    if (this.#closed || (this.#closing && !duringClose)) return Promise.reject(new LogClosedError());
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ kind: 'exclusive', run, resolve: resolve as (v: unknown) => void, reject });
      void this.#drain();
    });
  }

  #fail(err: LogFailedError): void {
    if (this.#failure !== null) return;
    this.#failure = err;
    this.#sync.fail(err);
    for (const op of this.#queue.splice(0)) {
      if (op.kind === 'append') this.#queuedBytes -= op.batch.byteLength;
      op.reject(err);
    }
  }

  /**
   * Durable writes: start the writer one microtask later, so every append queued in the same
   * synchronous run (a Raft Ready's entries) goes out in ONE durable write, not the first alone.
   */
  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(() => {
      this.#drainScheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      // Each round removes at least one op from the queue (or fails the log, which empties it).
      while (this.#queue.length > 0 && this.#failure === null) {
        const op = this.#queue[0]!;
        if (op.kind === 'append') {
          try {
            await this.#writeAppends();
          } catch (err) {
            this.#fail(new LogFailedError(`segment roll failed: ${(err as Error).message}`, err));
          }
        } else if (op.kind === 'flush') {
          this.#queue.shift();
          this.#sync.enqueue(op);
        } else {
          this.#queue.shift();
          try {
            op.resolve(await op.run());
          } catch (err) {
            op.reject(err);
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #shouldRoll(seg: Segment, pendingBytes: number, header: BatchHeader, nowMs: number): boolean {
    if (seg.isEmpty && pendingBytes === 0) return false;
    if (seg.writtenBytes + pendingBytes + header.batchBytes > this.config.segmentBytes) return true;
    if (this.#nextOffset + header.recordCount - 1 - seg.baseOffset > REL_OFFSET_MAX) return true;
    return seg.firstAppendMs !== null && nowMs - seg.firstAppendMs >= this.config.segmentMs;
  }

  /** Writes a run of queued appends with one writev, rolling first if the active segment is full or old. */
  async #writeAppends(): Promise<void> {
    const group: AppendOp[] = [];
    let groupBytes = 0;
    let seg = this.#active;
    const nowMs = this.#now();
    // Bounded by the queue length and writeGroupBytesMax.
    while (this.#queue.length > 0) {
      const op = this.#queue[0]!;
      if (op.kind !== 'append') break;
      const bytes = op.batch.byteLength;
      if (group.length > 0 && groupBytes + bytes > this.#writeGroupBytesMax) break;
      if (this.#shouldRoll(seg, groupBytes, op.header, nowMs)) {
        if (group.length > 0) break;
        seg = await this.#roll();
      }
      this.#queue.shift();
      if (op.stamped) {
        if (op.header.baseOffset !== this.#nextOffset) {
          this.#queuedBytes -= bytes;
          op.reject(new StampedOffsetMismatchError(this.#nextOffset, op.header.baseOffset));
          continue;
        }
      } else {
        stampBatch(op.batch, this.#nextOffset, op.term);
        op.header.baseOffset = this.#nextOffset;
        op.header.term = op.term;
      }
      this.#nextOffset += op.header.recordCount;
      group.push(op);
      groupBytes += bytes;
    }
    if (group.length > 0) await this.#writeGroup(seg, group, groupBytes, nowMs);
  }

  async #writeGroup(seg: Segment, group: AppendOp[], groupBytes: number, nowMs: number): Promise<void> {
    const position = seg.writtenBytes;
    if (seg.file.size !== position) throw new Error(`${seg.logPath} is ${seg.file.size} bytes, written ${position}`);
    try {
      await seg.file.append(group.map((op) => op.batch));
    } catch (err) {
      this.#queuedBytes -= groupBytes;
      this.#nextOffset = group[0]!.header.baseOffset;
      const failure = new StorageError(`write to ${seg.logPath} failed: ${(err as Error).message}`);
      for (const op of group) op.reject(failure);
      // Cut any partial write so the next append lands where the log really ends.
      try {
        await seg.file.truncate(position);
      } catch (truncErr) {
        this.#fail(new LogFailedError(`could not undo a failed write: ${(truncErr as Error).message}`, truncErr));
      }
      return;
    }
    this.#queuedBytes -= groupBytes;
    let pos = position;
    for (const op of group) {
      seg.noteBatch(pos, op.header, this.config.indexIntervalBytes);
      pos += op.header.batchBytes;
    }
    if (seg.firstAppendMs === null) seg.firstAppendMs = nowMs;
    // A durable write leaves nothing for an fdatasync round; group commit then resolves at once.
    if (!this.#durableWrites) this.#sync.markDirty(seg.file);
    const results = group.map((op) => ({
      baseOffset: op.header.baseOffset,
      lastOffset: lastOffsetOf(op.header),
      appendTimeMs: nowMs,
    }));
    const resolveAll = (): void => {
      for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]!);
    };
    if (this.config.flush.kind === 'always') {
      this.#sync.enqueue({
        resolve: resolveAll,
        reject: (err) => {
          for (const op of group) op.reject(err);
        },
      });
    } else {
      resolveAll();
    }
  }

  /** Seals the active segment and starts a new one at the next offset. */
  async #roll(): Promise<Segment> {
    const old = this.#active;
    if (old.nextOffset !== this.#nextOffset)
      throw new Error(`roll with ${this.#nextOffset - old.nextOffset} offsets unwritten`);
    const file = await this.#openFile(join(this.dir, segmentFileName(this.#nextOffset, LOG_EXT)), true);
    const seg = new Segment(this.dir, this.#nextOffset, file);
    // The new file's directory entry must be durable before anything in it is acknowledged.
    await syncDir(this.dir);
    await old.writeIndexes();
    old.sealed = true;
    this.#segments.push(seg);
    return seg;
  }
}
