/**
 * The Raft log of a partition group IS the partition's segmented log: a
 * RaftStorage over one FileLog, one batch per Raft entry.
 *
 * - Reads (the core's synchronous term()/entries()) come from an in-memory
 *   window of the most recent entries, bounded by windowBytesMax. Entries
 *   leave the window only once applied; the window's base (the entry just
 *   before it) is the partition's Raft snapshot: metadata only (index, term,
 *   conf, next offset, log start, producer state), derived from the log.
 * - Writes go through FileLog's ordered queue: a truncation for a suffix
 *   overwrite, then appendStamped() for each entry. `sync()` waits for those
 *   writes and then issues ONE flush (one fdatasync round covering everything
 *   written since the last), plus the hard-state file when term/vote changed.
 *   With flush 'always' the log is opened with durable (O_DSYNC) writes: the
 *   writes themselves are the sync, one thread-pool round trip instead of two.
 * - Stamping: the entry's baseOffset (the offset after the previous entry in
 *   THIS log, uncommitted ones included), term and Raft index are a pure
 *   function of the log prefix and the entry, so the leader and every
 *   follower stamp the same values when the entry enters their log: the bytes
 *   are identical on every replica. A batch that arrives already stamped is
 *   checked against those values instead (Log Matching makes them equal).
 * - Raft no-op and ConfChange entries become control batches (control-batch.ts).
 * - Installing a snapshot from the leader: truncate the uncommitted suffix,
 *   fetch the committed batches [committed end, snapshot.nextOffset) from the
 *   leader through the injected `fetchRange`, append them as they are, then
 *   record the snapshot. Later writes wait behind that job; sync() waits for it.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readBatchHeader, splitBatches, stampBatch, validateBatch } from '../../node/storage/batch.ts';
import { defaultLogConfig } from '../../node/storage/config.ts';
import { FileLog, type FileLogOptions } from '../../node/storage/file-log.ts';
import type { FlushPolicy, LogConfig } from '../../node/storage/log.ts';
import { applyConfChangeTo, decodeConfChange } from '../raft/core/conf-change.ts';
import { invariant, SnapshotOutOfDateError, StorageGapError } from '../raft/core/errors.ts';
import { fsyncDirAsync } from '../raft/storage/atomic-file.ts';
import { HardStateFile } from '../raft/storage/hard-state-file.ts';
import type { RaftStorage } from '../raft/storage/raft-storage.ts';
import {
  CompactedError,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Snapshot,
  UnavailableError,
} from '../raft/types.ts';
import { decodeControlEntry, encodeControlEntry, isControlBatch } from './control-batch.ts';
import {
  FetchedRangeMismatchError,
  NoRangeFetcherError,
  NotABatchEntryError,
  PartitionStorageClosedError,
  PartitionStorageCorruptError,
  PartitionStorageFailedError,
} from './errors.ts';
import {
  decodeSnapshotData,
  encodeSnapshotData,
  HARD_STATE_FILE,
  type PartitionSnapshotFile,
  readSnapshotFileAsync,
  writeSnapshotFile,
  writeSnapshotFileAsync,
} from './partition-snapshot.ts';
import { ProducerStateTable } from './producer-state.ts';

/**
 * Reads whole committed batches of the leader's log starting at `fromOffset`, at most about `maxBytes`
 * (at least one batch), never at or past `toOffset`. Back-to-back batches, as a fetch returns them.
 */
export type FetchRange = (fromOffset: number, toOffset: number, maxBytes: number) => Promise<Uint8Array[]>;

export interface PartitionRaftStorageOptions {
  dir: string;
  /** Configuration of a brand-new group; ignored when the directory already holds state. */
  bootstrapConf?: Partial<ConfState>;
  /** Segment size, batch limit, retention. The flush policy is ignored: sync() decides durability. */
  logConfig?: Partial<LogConfig>;
  /** Bytes of recent entries kept in memory for the core's synchronous reads. */
  windowBytesMax?: number;
  /** Copies committed batches from the leader when a snapshot must be installed. */
  fetchRange?: FetchRange;
  /** Bytes asked of fetchRange per call. */
  fetchBytesMax?: number;
  /** Passed to FileLog.open (tests use simulatePowerLoss). */
  fileLogOptions?: FileLogOptions;
  /**
   * When sync() makes log writes durable. 'always' (the default): sync() fdatasyncs, so Raft acknowledges
   * only what is on disk. 'never': sync() waits for the writes to reach the OS and does not fdatasync, so
   * an entry is acknowledged before fsync (deliberately unsafe: benchmarks and the chaos suite's proof that
   * its checker sees lost writes). 'interval:<ms>': like 'never', plus an fdatasync every <ms> in the
   * background. The hard state (term, vote) is always written durably.
   */
  flush?: FlushPolicy;
  /**
   * An already-open FileLog of `dir` to adopt (the broker opens partition logs itself). Open it with flush
   * 'never': sync() decides durability, and 'always' would add an fdatasync round per write.
   */
  log?: FileLog;
  /**
   * The caller fsyncs dirname(dir) itself before the group votes or acknowledges (one fsync for many new
   * groups, PartitionSync): open() then skips that fsync. Default false.
   */
  parentDirSynced?: boolean;
}

/**
 * fsyncs the parents of the directories mkdir created, from `dir` up to the top one (`made`);
 * `parentSynced`: the caller fsyncs dirname(dir) itself.
 */
async function syncNewDirEntries(dir: string, made: string, parentSynced: boolean): Promise<void> {
  const parents: string[] = [];
  // Bounded by the depth of `dir` below `made`.
  for (let d = dir; d !== made && d !== path.dirname(d); d = path.dirname(d)) parents.push(path.dirname(d));
  parents.push(path.dirname(made));
  for (const p of new Set(parents)) {
    if (parentSynced && p === path.dirname(dir)) continue;
    await fsyncDirAsync(p);
  }
}

/** Closes a half-opened hard-state file and rethrows. */
function failOpen(file: HardStateFile): (err: unknown) => never {
  return (err) => {
    file.close();
    throw err;
  };
}

interface Slot {
  entry: Entry;
  /** The stored bytes: the entry's data for a producer batch, a control batch otherwise. */
  batch: Uint8Array;
  baseOffset: number;
  nextOffset: number;
}

interface Base {
  index: number;
  term: number;
  conf: ConfState;
  nextOffset: number;
  producers: ProducerStateTable;
}

const WINDOW_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
const FETCH_BYTES_MAX_DEFAULT = 1024 * 1024;
/** Bytes read per FileLog.read while rebuilding the window on open. */
const OPEN_READ_BYTES = 1024 * 1024;

function cloneConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners], votersOutgoing: [...c.votersOutgoing] };
}

export class PartitionRaftStorage implements RaftStorage {
  readonly dir: string;
  readonly log: FileLog;
  private readonly windowBytesMax: number;
  private readonly fetchRange: FetchRange | undefined;
  private readonly fetchBytesMax: number;
  private readonly hardStateFile: HardStateFile;
  private readonly fsyncOnSync: boolean;
  private flushTimer: NodeJS.Timeout | undefined;
  private hs: HardState = { term: 0, vote: 0, commit: 0 };
  private durableTerm = 0;
  private durableVote = 0;
  private durableCommit = 0;
  private hardStateDirty = false;
  private base: Base;
  private baseSnapshot: Snapshot | undefined;
  /** Window slots live at [head, slots.length); slots[head] holds index base.index + 1. */
  private slots: Slot[] = [];
  private head = 0;
  private windowBytes = 0;
  private applied = 0;
  /** See offsetAfterApplied(). */
  private offsetBelowBase = 0;
  /** Bytes evicted since the snapshot file was last written. */
  private evictedSinceFile = 0;
  /** Log writes issued since the last sync (their promises). */
  private writes: Promise<unknown>[] = [];
  /** A snapshot install in progress: later writes queue behind it. */
  private barrier: Promise<void> | null = null;
  private syncChain: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly syncedListeners = new Set<(durableIndex: number) => void>();
  /** fdatasync rounds requested (tests and benchmarks: proves group commit). */
  syncCount = 0;
  /** Snapshots installed from a leader (tests, metrics). */
  snapshotsInstalled = 0;

  private constructor(o: PartitionRaftStorageOptions, log: FileLog, hsFile: HardStateFile, base: Base) {
    this.dir = o.dir;
    this.log = log;
    this.windowBytesMax = o.windowBytesMax ?? WINDOW_BYTES_MAX_DEFAULT;
    this.fetchRange = o.fetchRange;
    this.fetchBytesMax = o.fetchBytesMax ?? FETCH_BYTES_MAX_DEFAULT;
    this.hardStateFile = hsFile;
    this.base = base;
    this.applied = base.index;
    const flush = o.flush ?? { kind: 'always' };
    this.fsyncOnSync = flush.kind === 'always';
    if (flush.kind === 'interval') {
      this.flushTimer = setInterval(() => {
        if (!this.closed && !this.failed) this.log.flush().catch((err: Error) => this.fail(err));
      }, flush.intervalMs);
      this.flushTimer.unref();
    }
  }

  /**
   * Opens (recovering) or creates the partition's log and Raft state in `o.dir`; a new group's files are
   * durable when this resolves (the directory's own entry too, unless `parentDirSynced` says the caller
   * fsyncs the parent). All I/O runs on the thread pool: many groups may open concurrently.
   */
  static async open(o: PartitionRaftStorageOptions): Promise<PartitionRaftStorage> {
    // The first directory mkdir created (undefined: o.dir existed): the entries of new directories in
    // their parents must be durable too.
    const made = await mkdir(o.dir, { recursive: true });
    const config: LogConfig = { ...defaultLogConfig(), ...o.logConfig, flush: { kind: 'never' } };
    // flush 'always': every Raft sync must reach the disk, so the segment files are opened O_DSYNC and
    // each group of writes is durable in one thread-pool round trip (no separate fdatasync round).
    const durableWrites = (o.flush ?? { kind: 'always' }).kind === 'always';
    const log = o.log ?? (await FileLog.open(o.dir, config, { durableWrites, ...o.fileLogOptions }));
    try {
      let file = await readSnapshotFileAsync(o.dir);
      let created = false;
      if (!file) {
        const conf = { voters: [], learners: [], votersOutgoing: [], ...o.bootstrapConf };
        file = {
          index: 0,
          term: 0,
          conf: cloneConf(conf),
          data: { nextOffset: log.startOffset, logStart: log.startOffset, producers: new Uint8Array(0) },
        };
        await writeSnapshotFileAsync(o.dir, file, { syncDir: false });
        created = true;
      }
      const base: Base = {
        index: file.index,
        term: file.term,
        conf: file.conf,
        nextOffset: file.data.nextOffset,
        producers: ProducerStateTable.decode(file.data.producers),
      };
      const opened = await HardStateFile.openAsync(path.join(o.dir, HARD_STATE_FILE), { syncDir: false });
      // ONE directory fsync makes a new group's bootstrap files durable, off the event loop, before the
      // group exists to vote or acknowledge. The entry of o.dir in its parent is the caller's (see
      // PartitionRaftStorageOptions.parentDirSynced).
      if (created || opened.created) await fsyncDirAsync(o.dir).catch(failOpen(opened.file));
      if (made !== undefined)
        await syncNewDirEntries(o.dir, made, o.parentDirSynced ?? false).catch(failOpen(opened.file));
      const s = new PartitionRaftStorage(o, log, opened.file, base);
      if (opened.state) {
        s.hs = opened.state;
        s.durableTerm = s.hs.term;
        s.durableVote = s.hs.vote;
        s.durableCommit = s.hs.commit;
      }
      await s.loadTail();
      return s;
    } catch (err) {
      await log.close().catch(() => {});
      throw err;
    }
  }

  /** Rebuilds the window from the batches after the snapshot: their headers carry term and Raft index. */
  private async loadTail(): Promise<void> {
    const end = this.log.endOffset;
    if (end < this.base.nextOffset) {
      throw new PartitionStorageCorruptError(
        `partition storage ${this.dir}: snapshot at offset ${this.base.nextOffset} but the log ends at ${end}`,
      );
    }
    let at = this.base.nextOffset;
    // Bounded: every read returns at least one batch (advancing `at`) or we stop.
    while (at < end) {
      const r = await this.log.read(at, OPEN_READ_BYTES);
      if (r.chunks.length === 0) break;
      for (const chunk of r.chunks) {
        for (const view of splitBatches(chunk)) {
          const batch = view.slice();
          const h = readBatchHeader(batch);
          const index = this.lastIndex() + 1;
          if (h.raftIndex !== index || h.baseOffset !== at) {
            throw new PartitionStorageCorruptError(
              `partition storage ${this.dir}: batch at offset ${h.baseOffset} has Raft index ${h.raftIndex}, expected ${index} at ${at}`,
            );
          }
          const entry: Entry = isControlBatch(batch)
            ? { term: h.term, index, ...decodeControlEntry(batch) }
            : { term: h.term, index, type: EntryType.Normal, data: batch };
          this.pushSlot({ entry, batch, baseOffset: at, nextOffset: at + h.recordCount });
          at += h.recordCount;
        }
      }
    }
    const commit = Math.min(Math.max(this.hs.commit, this.base.index), this.lastIndex());
    this.hs = { ...this.hs, commit };
  }

  // ---- read side (RaftLogStorage) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hs }, confState: cloneConf(this.base.conf) };
  }

  firstIndex(): number {
    return this.base.index + 1;
  }

  lastIndex(): number {
    return this.base.index + this.slots.length - this.head;
  }

  term(i: number): number {
    if (i < this.base.index) throw new CompactedError(i);
    if (i === this.base.index) return this.base.term;
    return this.slotAt(i).entry.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.base.index) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const s = this.slotAt(i);
      size += s.entry.data.byteLength;
      if (out.length > 0 && size > maxBytes) break;
      out.push(s.entry);
    }
    return out;
  }

  /** The window's base as a snapshot: always at firstIndex() - 1, so a lagging follower can jump to it. */
  snapshot(): Snapshot {
    if (!this.baseSnapshot) {
      const b = this.base;
      this.baseSnapshot = {
        meta: { index: b.index, term: b.term, conf: cloneConf(b.conf) },
        data: encodeSnapshotData({
          nextOffset: b.nextOffset,
          logStart: this.log.startOffset,
          producers: b.producers.encode(),
        }),
      };
    }
    return this.baseSnapshot;
  }

  // ---- partition-side queries ----

  /** Offset after the batch at Raft index `i` (i in [firstIndex()-1, lastIndex()]). */
  nextOffsetAt(i: number): number {
    if (i === this.base.index) return this.base.nextOffset;
    return this.slotAt(i).nextOffset;
  }

  /**
   * Offset after Raft index `i` for a reader holding an applied index that may
   * lag the storage by a moment: while a snapshot installs, the driver's
   * applied index is still below the new base; what was committed before the
   * install (kept, never truncated) is still readable.
   */
  offsetAfterApplied(i: number): number {
    if (i >= this.base.index) return this.nextOffsetAt(i);
    return this.offsetBelowBase;
  }

  /** Offset after the last entry held (uncommitted ones included). */
  get endOffset(): number {
    return this.nextOffsetAt(this.lastIndex());
  }

  /** The stored batch at Raft index `i` (stamped), while it is in the window. */
  batchAt(i: number): Uint8Array {
    return this.slotAt(i).batch;
  }

  get windowEntries(): number {
    return this.slots.length - this.head;
  }

  /** The state machine applied `index`: entries up to it may leave the window. */
  noteApplied(index: number): void {
    if (index > this.applied) this.applied = index;
    if (this.windowBytes > this.windowBytesMax) this.evict(Number.MAX_SAFE_INTEGER);
  }

  /** Called after each sync with the last Raft index made durable by it. */
  onSynced(fn: (durableIndex: number) => void): () => void {
    this.syncedListeners.add(fn);
    return () => this.syncedListeners.delete(fn);
  }

  // ---- write side ----

  append(entries: readonly Entry[]): void {
    this.checkUsable();
    if (entries.length === 0) return;
    for (let k = 1; k < entries.length; k++) {
      invariant(entries[k]!.index === entries[k - 1]!.index + 1, 'appended entries are contiguous');
    }
    const first = this.firstIndex();
    if (entries[entries.length - 1]!.index < first) return; // entirely behind the snapshot already
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const start = ents[0]!.index;
    if (start > this.lastIndex() + 1) throw new StorageGapError(this.lastIndex() + 1, start);
    if (start <= this.lastIndex()) this.truncateFrom(start);
    let offset = this.endOffset;
    for (const e of ents) {
      const batch = this.batchFor(e);
      const h = readBatchHeader(batch);
      if (h.raftIndex === 0) {
        stampBatch(batch, offset, e.term, e.index);
      } else if (h.baseOffset !== offset || h.term !== e.term || h.raftIndex !== e.index) {
        throw new PartitionStorageCorruptError(
          `partition storage ${this.dir}: entry ${e.index}/${e.term} arrived stamped ${h.raftIndex}/${h.term} at offset ${h.baseOffset}, log ends at ${offset}`,
        );
      }
      const slot: Slot = { entry: e, batch, baseOffset: offset, nextOffset: offset + h.recordCount };
      this.pushSlot(slot);
      this.issue(() => this.log.appendStamped(batch));
      offset = slot.nextOffset;
    }
  }

  /** term/vote are written (durably) inside the next sync(); a commit-only change stays in memory. */
  setHardState(hs: HardState): void {
    this.checkUsable();
    this.hs = { ...hs };
    if (hs.term !== this.durableTerm || hs.vote !== this.durableVote) this.hardStateDirty = true;
  }

  applySnapshot(snap: Snapshot): void {
    this.checkUsable();
    if (snap.meta.index <= this.base.index) throw new SnapshotOutOfDateError(snap.meta.index, this.base.index);
    const data = decodeSnapshotData(snap.data);
    const commit = Math.min(Math.max(this.hs.commit, this.base.index), this.lastIndex());
    const committedEnd = this.nextOffsetAt(commit);
    if (committedEnd > data.nextOffset) {
      throw new PartitionStorageCorruptError(
        `partition storage ${this.dir}: committed up to offset ${committedEnd}, past the snapshot's ${data.nextOffset}`,
      );
    }
    this.offsetBelowBase = committedEnd;
    this.slots = [];
    this.head = 0;
    this.windowBytes = 0;
    this.base = {
      index: snap.meta.index,
      term: snap.meta.term,
      conf: cloneConf(snap.meta.conf),
      nextOffset: data.nextOffset,
      producers: ProducerStateTable.decode(data.producers),
    };
    this.baseSnapshot = undefined;
    this.applied = snap.meta.index;
    if (this.hs.commit < snap.meta.index) this.hs = { ...this.hs, commit: snap.meta.index };
    const file: PartitionSnapshotFile = {
      index: snap.meta.index,
      term: snap.meta.term,
      conf: cloneConf(snap.meta.conf),
      data,
    };
    this.exclusive(() => this.install(committedEnd, file));
  }

  /** Runs behind every earlier write: cut the uncommitted suffix, copy the missing batches, record the snapshot. */
  private async install(committedEnd: number, file: PartitionSnapshotFile): Promise<void> {
    await Promise.all(this.writes.splice(0));
    await this.log.truncateFrom(committedEnd);
    let at = committedEnd;
    const to = file.data.nextOffset;
    if (at < to) {
      if (!this.fetchRange) throw new NoRangeFetcherError();
      const appends: Promise<unknown>[] = [];
      // Bounded: every round must advance `at` (else FetchedRangeMismatchError).
      while (at < to) {
        const batches = await this.fetchRange(at, to, this.fetchBytesMax);
        const before = at;
        for (const chunk of batches) {
          for (const batch of splitBatches(chunk)) {
            const h = validateBatch(batch);
            if (h.baseOffset !== at || h.baseOffset + h.recordCount > to) {
              throw new FetchedRangeMismatchError(
                `fetched batch at offset ${h.baseOffset} (${h.recordCount} records) where ${at} was due, up to ${to}`,
              );
            }
            appends.push(this.log.appendStamped(batch.slice()));
            at += h.recordCount;
          }
        }
        if (at === before) throw new FetchedRangeMismatchError(`fetch from ${at} up to ${to} returned nothing`);
      }
      await Promise.all(appends);
    }
    await this.log.flush();
    writeSnapshotFile(this.dir, file);
    this.snapshotsInstalled++;
  }

  /** The application's state as of `index` (kept in the window; the log is the data). */
  createSnapshot(index: number, conf: ConfState | undefined, data: Uint8Array): Snapshot {
    this.checkUsable();
    if (index <= this.base.index) throw new SnapshotOutOfDateError(index, this.base.index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    return { meta: { index, term: this.term(index), conf: cloneConf(conf ?? this.base.conf) }, data };
  }

  /** Lets entries up to `index` (and applied) leave the window. The log keeps them: retention decides. */
  compact(index: number): void {
    this.checkUsable();
    if (index <= this.base.index) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    this.evict(index);
  }

  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failedError());
    this.syncChain = this.syncChain.then(() => this.syncNow());
    return this.syncChain;
  }

  private async syncNow(): Promise<void> {
    if (this.failed) throw this.failedError();
    // Bounded by the number of snapshot installs queued meanwhile (each settles once).
    while (this.barrier !== null) {
      const b = this.barrier;
      try {
        await b;
      } finally {
        if (this.barrier === b) this.barrier = null;
      }
    }
    const upTo = this.lastIndex();
    const writes = this.writes.splice(0);
    const hs = this.hardStateDirty ? { ...this.hs } : undefined;
    this.hardStateDirty = false;
    this.syncCount++;
    try {
      await Promise.all(writes);
      // With durable (O_DSYNC) writes the awaited writes are on disk already.
      if (this.fsyncOnSync && !this.log.durableWrites) await this.log.flush();
      if (hs) await this.hardStateFile.write(hs);
    } catch (err) {
      this.fail(err as Error);
      throw this.failedError();
    }
    if (hs) {
      this.durableTerm = hs.term;
      this.durableVote = hs.vote;
      this.durableCommit = hs.commit;
    }
    for (const fn of this.syncedListeners) fn(upTo);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    this.closing = (async () => {
      await this.syncChain.catch(() => {});
      if (!this.failed && this.hs.commit !== this.durableCommit) {
        // Best effort: a restart re-applies less.
        await this.hardStateFile.write(this.hs).catch(() => {});
      }
      this.hardStateFile.close();
      await this.log.close().catch(() => {});
    })();
  }

  /** close(), then resolves once the files are closed. */
  async closeAndWait(): Promise<void> {
    this.close();
    await this.closing;
  }

  /** TEST-ONLY: a crash. Unsynced log bytes are lost when the log was opened with simulatePowerLoss. */
  async simulateCrash(): Promise<void> {
    this.closed = true;
    clearInterval(this.flushTimer);
    this.failed ??= new PartitionStorageClosedError();
    await this.log.simulateCrash();
    this.hardStateFile.close();
  }

  // ---- internals ----

  private batchFor(e: Entry): Uint8Array {
    if (e.type !== EntryType.Normal || e.data.byteLength === 0) return encodeControlEntry(e);
    let h: ReturnType<typeof readBatchHeader>;
    try {
      h = readBatchHeader(e.data);
    } catch (err) {
      throw new NotABatchEntryError(`entry ${e.index}: ${(err as Error).message}`);
    }
    if (h.batchBytes !== e.data.byteLength) {
      throw new NotABatchEntryError(
        `entry ${e.index}: batch says ${h.batchBytes} bytes, entry has ${e.data.byteLength}`,
      );
    }
    return e.data;
  }

  private slotAt(i: number): Slot {
    const s = this.slots[this.head + i - this.base.index - 1];
    if (i <= this.base.index || s === undefined) throw new UnavailableError(i);
    return s;
  }

  private pushSlot(s: Slot): void {
    this.slots.push(s);
    this.windowBytes += s.batch.byteLength;
  }

  private truncateFrom(index: number): void {
    const keep = this.head + index - this.base.index - 1;
    const offset = this.slotAt(index).baseOffset;
    for (let k = keep; k < this.slots.length; k++) this.windowBytes -= this.slots[k]!.batch.byteLength;
    this.slots.length = keep;
    this.issue(() => this.log.truncateFrom(offset));
  }

  /** Moves applied entries up to `upTo` out of the window while it is over its byte bound. */
  private evict(upTo: number): void {
    // Strictly below the noted applied index: the driver records an entry as applied only after
    // apply() returns, and readers of its applied index must still find that index here.
    const limit = Math.min(upTo, this.applied - 1);
    const forced = upTo !== Number.MAX_SAFE_INTEGER;
    let moved = false;
    // Bounded by the window length.
    while (this.head < this.slots.length) {
      const s = this.slots[this.head]!;
      if (s.entry.index > limit) break;
      if (!forced && this.windowBytes <= this.windowBytesMax) break;
      this.head++;
      this.windowBytes -= s.batch.byteLength;
      this.evictedSinceFile += s.batch.byteLength;
      const b = this.base;
      b.index = s.entry.index;
      b.term = s.entry.term;
      b.nextOffset = s.nextOffset;
      if (s.entry.type === EntryType.ConfChange) {
        b.conf = applyConfChangeTo(b.conf, decodeConfChange(s.entry.data));
      } else if (s.entry.data.byteLength > 0) {
        b.producers.apply(readBatchHeader(s.batch), s.baseOffset);
      }
      moved = true;
    }
    if (!moved) return;
    this.baseSnapshot = undefined;
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    // The base only names applied (so committed, so locally durable) entries: safe to record.
    // Once per window's worth of bytes: a restart re-reads at most about two windows of log,
    // and the synchronous write (temp + fsync + rename) stays rare on the event loop.
    if (this.evictedSinceFile >= this.windowBytesMax) {
      this.evictedSinceFile = 0;
      const b = this.base;
      try {
        writeSnapshotFile(this.dir, {
          index: b.index,
          term: b.term,
          conf: cloneConf(b.conf),
          data: { nextOffset: b.nextOffset, logStart: this.log.startOffset, producers: b.producers.encode() },
        });
      } catch (err) {
        this.fail(err as Error);
      }
    }
  }

  private issue(op: () => Promise<unknown>): void {
    if (this.barrier === null) {
      this.track(op());
      return;
    }
    this.barrier = this.barrier.then(() => this.track(op()));
  }

  private track(p: Promise<unknown>): void {
    p.catch((err) => this.fail(err as Error));
    this.writes.push(p);
  }

  private exclusive(job: () => Promise<void>): void {
    const b = (this.barrier ?? Promise.resolve()).then(job);
    b.catch((err) => this.fail(err as Error));
    this.barrier = b;
  }

  private fail(err: Error): void {
    this.failed ??= err;
  }

  private failedError(): PartitionStorageFailedError {
    return new PartitionStorageFailedError(`partition storage ${this.dir}: ${this.failed?.message}`);
  }

  private checkUsable(): void {
    if (this.closed) throw new PartitionStorageClosedError();
    if (this.failed) throw this.failedError();
  }
}
