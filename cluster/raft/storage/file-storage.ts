/**
 * A durable RaftLogStorage on plain files, in one directory per group:
 *
 *   seg-<seq>.log  append-only segments of framed entry records (see record.ts)
 *   hardstate      term/vote/commit, two CRC'd slots updated in place (see hard-state-file.ts)
 *   snapshot       the latest snapshot (meta + state-machine image), replaced atomically
 *
 * Suffix overwrite is itself append-only: a record whose index is at or below
 * the last one replaces that index and everything after it, both in memory and
 * when recovery replays the segments in order. Writes go to the OS with
 * writeSync at append(); `sync()` is the group commit: one fdatasync for all
 * the segments written since the previous one, serialized so a later sync
 * never resolves before an earlier write is durable.
 *
 * Recent entries stay in memory (bounded by cacheBytesMax) so the core's
 * synchronous term()/entries() calls are fast; older ones are read back with
 * readSync and CRC-checked again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { entryBytes } from '../core/entry-size.ts';
import { invariant, SnapshotOutOfDateError, StorageGapError } from '../core/errors.ts';
import {
  CompactedError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  UnavailableError,
} from '../types.ts';
import { fsyncDir, readFileChecked, writeFileAtomic } from './atomic-file.ts';
import { CompactBeyondSnapshotError, StorageClosedError, StorageCorruptError, StorageFailedError } from './errors.ts';
import { HardStateFile } from './hard-state-file.ts';
import type { RaftStorage } from './raft-storage.ts';
import { decodeKnownRecord, entryRecordBytes, scanRecord, writeEntryRecord } from './record.ts';

export interface FileLogStorageOptions {
  dir: string;
  /** Configuration of a brand-new group; ignored when the directory already holds state. */
  bootstrapConf?: Partial<ConfState>;
  /** A segment is closed for appends once it reaches this size. */
  segmentBytesMax?: number;
  /** Bytes of entry data kept in memory for fast reads. */
  cacheBytesMax?: number;
}

export interface RecoveryReport {
  segments: number;
  entries: number;
  /** Bytes cut from a torn or corrupt tail (0 on a clean open). */
  truncatedBytes: number;
  truncatedReason?: string;
}

interface Segment {
  seq: number;
  file: string;
  fd: number;
  bytes: number;
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const segmentPattern = /^seg-(\d{16})\.log$/;
const emptyData = new Uint8Array(0);

function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(16, '0')}.log`;
}

function cloneConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners], votersOutgoing: [...c.votersOutgoing] };
}

export class FileLogStorage implements RaftStorage {
  readonly dir: string;
  readonly recovery: RecoveryReport = { segments: 0, entries: 0, truncatedBytes: 0 };
  private readonly segmentBytesMax: number;
  private readonly cacheBytesMax: number;
  private hs: HardState = { term: 0, vote: 0, commit: 0 };
  /** term/vote last written to the hardstate file. */
  private durableTerm = 0;
  private durableVote = 0;
  private durableCommit = 0;
  private syncsInFlight = 0;
  /** term/vote changed since the hardstate file was last written: the next sync() writes it. */
  private hardStateDirty = false;
  private hardStateFile!: HardStateFile;
  private snap!: Snapshot;
  /** The first live segment after the last applySnapshot; older ones are garbage. */
  private segSeqMin = 1;
  /** Index and term of the entry just before firstIndex() (the snapshot or compaction point). */
  private offsetIndex = 0;
  private offsetTerm = 0;
  // Per live entry (position k = index - offsetIndex - 1): term and where its record lives.
  private terms: number[] = [];
  private locSeg: number[] = [];
  private locPos: number[] = [];
  private locLen: number[] = [];
  private cache: (Entry | undefined)[] = [];
  /** Entries at index >= cacheFirst are all in `cache`. */
  private cacheFirst = 1;
  private cacheBytes = 0;
  private segments: Segment[] = [];
  private readonly dirty = new Set<Segment>();
  private writeSeq = 0;
  private syncRequestedSeq = 0;
  private syncChain: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private closed = false;
  /** fdatasync calls made (for tests and benchmarks: proves group commit). */
  syncCount = 0;

  private constructor(o: FileLogStorageOptions) {
    this.dir = o.dir;
    this.segmentBytesMax = o.segmentBytesMax ?? 64 * 1024 * 1024;
    this.cacheBytesMax = o.cacheBytesMax ?? 16 * 1024 * 1024;
  }

  /** Opens (recovering) or creates the storage in `o.dir`. */
  static open(o: FileLogStorageOptions): FileLogStorage {
    const s = new FileLogStorage(o);
    fs.mkdirSync(o.dir, { recursive: true });
    s.recover(o.bootstrapConf);
    return s;
  }

  // ---- read side (RaftLogStorage) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hs }, confState: cloneConf(this.snap.meta.conf) };
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.terms.length;
  }

  term(i: number): number {
    if (i < this.offsetIndex) throw new CompactedError(i);
    if (i === this.offsetIndex) return this.offsetTerm;
    const t = this.terms[i - this.offsetIndex - 1];
    if (t === undefined) throw new UnavailableError(i);
    return t;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.offsetIndex) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entryAt(i);
      size += entryBytes(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- write side ----

  append(entries: readonly Entry[]): void {
    this.checkUsable();
    if (entries.length === 0) return;
    for (let k = 1; k < entries.length; k++) {
      invariant(entries[k]!.index === entries[k - 1]!.index + 1, 'appended entries are contiguous');
    }
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!.index;
    if (lastNew < first) return; // entirely compacted already
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const start = ents[0]!.index;
    if (start > this.lastIndex() + 1) throw new StorageGapError(this.lastIndex() + 1, start);
    if (start <= this.lastIndex()) this.truncateFrom(start);

    let total = 0;
    for (const e of ents) total += entryRecordBytes(e);
    const seg = this.segmentFor(total);
    const buf = Buffer.allocUnsafe(total);
    let at = 0;
    for (const e of ents) {
      const n = writeEntryRecord(buf, at, e);
      this.pushEntry(e, seg.seq, seg.bytes + at, n);
      at += n;
    }
    invariant(at === total, 'record sizes add up');
    this.guard(() => fs.writeSync(seg.fd, buf, 0, total, seg.bytes));
    seg.bytes += total;
    this.dirty.add(seg);
    this.writeSeq++;
  }

  /**
   * term and vote must be durable before any message that depends on them:
   * changing them schedules an atomic rewrite of the hardstate file as part of
   * the next sync() (on the thread pool: with a thousand groups electing at
   * once, synchronous fsyncs here would stall the event loop past the
   * election timeout). A commit-only change stays in memory: commit can always
   * be re-learned from the leader, and recovery clamps it into
   * [snapshot index, last index].
   */
  setHardState(hs: HardState): void {
    this.checkUsable();
    this.hs = { ...hs };
    if (hs.term !== this.durableTerm || hs.vote !== this.durableVote) {
      this.hardStateDirty = true;
      this.writeSeq++;
    }
  }

  createSnapshot(index: number, conf: ConfState | undefined, data: Uint8Array): Snapshot {
    this.checkUsable();
    const current = this.snap.meta.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    const snap: Snapshot = {
      meta: { index, term: this.term(index), conf: cloneConf(conf ?? this.snap.meta.conf) },
      data,
    };
    this.writeSnapshot(snap, this.segSeqMin);
    this.snap = snap;
    return snap;
  }

  applySnapshot(snap: Snapshot): void {
    this.checkUsable();
    const current = this.snap.meta.index;
    if (snap.meta.index <= current) throw new SnapshotOutOfDateError(snap.meta.index, current);
    // Start a fresh segment and declare every older one garbage in the same
    // atomic write, so a crash cannot resurrect the replaced log.
    const fresh = this.openSegment(this.nextSegmentSeq());
    const copy: Snapshot = { meta: { ...snap.meta, conf: cloneConf(snap.meta.conf) }, data: snap.data };
    this.writeSnapshot(copy, fresh.seq);
    this.snap = copy;
    this.segSeqMin = fresh.seq;
    for (const old of this.segments) this.deleteSegment(old);
    this.segments = [fresh];
    this.offsetIndex = snap.meta.index;
    this.offsetTerm = snap.meta.term;
    this.terms = [];
    this.locSeg = [];
    this.locPos = [];
    this.locLen = [];
    this.cache = [];
    this.cacheBytes = 0;
    this.cacheFirst = this.offsetIndex + 1;
    if (this.hs.commit < snap.meta.index) this.hs = { ...this.hs, commit: snap.meta.index };
  }

  compact(index: number): void {
    this.checkUsable();
    if (index <= this.offsetIndex) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    // Recovery restarts the log at the snapshot, so compacting past it would lose entries.
    if (index > this.snap.meta.index) throw new CompactBeyondSnapshotError(index, this.snap.meta.index);
    const n = index - this.offsetIndex;
    this.offsetTerm = this.term(index);
    this.offsetIndex = index;
    for (let k = 0; k < n; k++) {
      const e = this.cache[k];
      if (e) this.cacheBytes -= e.data.length;
    }
    this.terms.splice(0, n);
    this.locSeg.splice(0, n);
    this.locPos.splice(0, n);
    this.locLen.splice(0, n);
    this.cache.splice(0, n);
    if (this.cacheFirst <= index) this.cacheFirst = index + 1;
    const current = this.segments[this.segments.length - 1]!;
    const keepFrom = this.locSeg[0] ?? current.seq;
    const kept: Segment[] = [];
    for (const s of this.segments) {
      if (s.seq < keepFrom && s !== current) this.deleteSegment(s);
      else kept.push(s);
    }
    this.segments = kept;
  }

  sync(): Promise<void> {
    if (this.failed) return Promise.reject(new StorageFailedError(`raft storage: ${this.failed.message}`));
    if (this.syncRequestedSeq === this.writeSeq) return this.syncChain;
    this.syncRequestedSeq = this.writeSeq;
    // Chained: each sync starts after the previous finished and covers whatever
    // was written by the time it starts (the group commit).
    this.syncChain = this.syncChain.then(() => this.fdatasyncDirty());
    return this.syncChain;
  }

  close(): void {
    if (this.closed) return;
    // Best effort: keep the latest commit so a restart re-applies less.
    // Skipped while a sync is in flight: its write must not race a closing fd.
    if (!this.failed && this.syncsInFlight === 0 && this.hs.commit !== this.durableCommit) {
      try {
        this.writeHardState();
      } catch {
        // closing anyway
      }
    }
    this.closed = true;
    const segments = this.segments;
    this.segments = [];
    const closeFds = () => {
      for (const s of segments) fs.closeSync(s.fd);
      this.hardStateFile.close();
    };
    // An fdatasync in flight keeps its fd: close once the chain settles, never under it.
    if (this.syncsInFlight > 0) this.syncChain.then(closeFds, closeFds);
    else closeFds();
  }

  // ---- internals ----

  private async fdatasyncDirty(): Promise<void> {
    const segs = [...this.dirty];
    this.dirty.clear();
    const hs = this.hardStateDirty ? { ...this.hs } : undefined;
    this.hardStateDirty = false;
    if (segs.length === 0 && !hs) return;
    this.syncCount++;
    this.syncsInFlight++;
    try {
      const work = segs.map(
        (s) => new Promise<void>((resolve, reject) => fs.fdatasync(s.fd, (err) => (err ? reject(err) : resolve()))),
      );
      if (hs) work.push(this.hardStateFile.write(hs));
      await Promise.all(work);
      if (hs) {
        this.durableTerm = hs.term;
        this.durableVote = hs.vote;
        this.durableCommit = hs.commit;
      }
    } catch (err) {
      // After a failed fsync the page cache state is unknown (the "fsyncgate" lesson): stop.
      this.failed = err as Error;
      throw new StorageFailedError(`raft storage: fdatasync failed: ${(err as Error).message}`);
    } finally {
      this.syncsInFlight--;
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new StorageClosedError();
    if (this.failed) throw new StorageFailedError(`raft storage: ${this.failed.message}`);
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.failed = err as Error;
      throw new StorageFailedError(`raft storage: write failed: ${(err as Error).message}`);
    }
  }

  private entryAt(i: number): Entry {
    const k = i - this.offsetIndex - 1;
    const cached = this.cache[k];
    if (cached) return cached;
    const seq = this.locSeg[k];
    if (seq === undefined) throw new UnavailableError(i);
    const seg = this.segments.find((s) => s.seq === seq);
    if (!seg) throw new StorageCorruptError(`raft storage: segment ${seq} of entry ${i} is gone`);
    const len = this.locLen[k]!;
    const buf = Buffer.allocUnsafe(len);
    const read = fs.readSync(seg.fd, buf, 0, len, this.locPos[k]!);
    if (read !== len) throw new StorageCorruptError(`raft storage: short read of entry ${i}`);
    const e = decodeKnownRecord(buf, `${seg.file}@${this.locPos[k]}`);
    if (e.index !== i || e.term !== this.terms[k]) {
      throw new StorageCorruptError(`raft storage: record for entry ${i} holds ${e.index}/${e.term}`);
    }
    return e;
  }

  private pushEntry(e: Entry, seq: number, pos: number, len: number): void {
    this.terms.push(e.term);
    this.locSeg.push(seq);
    this.locPos.push(pos);
    this.locLen.push(len);
    this.cache.push(e);
    this.cacheBytes += e.data.length;
    const last = this.lastIndex();
    // Evict the oldest cached entries, but keep the last one for cheap term()/append paths.
    while (this.cacheBytes > this.cacheBytesMax && this.cacheFirst < last) {
      const k = this.cacheFirst - this.offsetIndex - 1;
      const old = this.cache[k];
      if (old) {
        this.cacheBytes -= old.data.length;
        this.cache[k] = undefined;
      }
      this.cacheFirst++;
    }
  }

  /** Drops entries at index >= `from` from memory; the disk keeps them until overwritten records follow. */
  private truncateFrom(from: number): void {
    const keep = from - this.offsetIndex - 1;
    for (let k = keep; k < this.cache.length; k++) {
      const e = this.cache[k];
      if (e) this.cacheBytes -= e.data.length;
    }
    this.terms.length = keep;
    this.locSeg.length = keep;
    this.locPos.length = keep;
    this.locLen.length = keep;
    this.cache.length = keep;
    if (this.cacheFirst > from) this.cacheFirst = from;
  }

  private segmentFor(bytes: number): Segment {
    const current = this.segments[this.segments.length - 1];
    if (current && (current.bytes === 0 || current.bytes + bytes <= this.segmentBytesMax)) return current;
    const seg = this.openSegment(this.nextSegmentSeq());
    this.segments.push(seg);
    return seg;
  }

  private nextSegmentSeq(): number {
    const current = this.segments[this.segments.length - 1];
    return Math.max(current ? current.seq + 1 : 1, this.segSeqMin);
  }

  private openSegment(seq: number): Segment {
    const file = path.join(this.dir, segmentName(seq));
    const fd = this.guard(() => fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644));
    // The new name must survive a crash before records in it are acknowledged.
    this.guard(() => fsyncDir(this.dir));
    return { seq, file, fd, bytes: fs.fstatSync(fd).size };
  }

  private deleteSegment(s: Segment): void {
    this.dirty.delete(s);
    fs.closeSync(s.fd);
    fs.rmSync(s.file, { force: true });
  }

  private writeHardState(): void {
    this.guard(() => this.hardStateFile.writeSync(this.hs));
    this.durableTerm = this.hs.term;
    this.durableVote = this.hs.vote;
    this.durableCommit = this.hs.commit;
  }

  private writeSnapshot(s: Snapshot, segSeqMin: number): void {
    const c = s.meta.conf;
    const payload = packr.pack([s.meta.index, s.meta.term, c.voters, c.learners, c.votersOutgoing, s.data, segSeqMin]);
    this.guard(() => writeFileAtomic(path.join(this.dir, 'snapshot'), payload));
  }

  private recover(bootstrapConf: Partial<ConfState> | undefined): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
    }
    const snapPayload = readFileChecked(path.join(this.dir, 'snapshot'));
    if (snapPayload) {
      const a = packr.unpack(snapPayload) as unknown[];
      if (!Array.isArray(a) || a.length !== 7) throw new StorageCorruptError('raft storage: snapshot file layout');
      this.snap = {
        meta: {
          index: a[0] as number,
          term: a[1] as number,
          conf: {
            voters: a[2] as number[],
            learners: a[3] as number[],
            votersOutgoing: a[4] as number[],
          },
        },
        data: (a[5] as Uint8Array) ?? emptyData,
      };
      this.segSeqMin = a[6] as number;
    } else {
      const conf = { voters: [], learners: [], votersOutgoing: [], ...bootstrapConf };
      this.snap = { meta: { index: 0, term: 0, conf: cloneConf(conf) }, data: emptyData };
      this.writeSnapshot(this.snap, 1);
      this.segSeqMin = 1;
    }
    const opened = HardStateFile.open(path.join(this.dir, 'hardstate'), this.dir);
    this.hardStateFile = opened.file;
    if (opened.state) {
      this.hs = opened.state;
      this.durableTerm = this.hs.term;
      this.durableVote = this.hs.vote;
      this.durableCommit = this.hs.commit;
    }
    this.offsetIndex = this.snap.meta.index;
    this.offsetTerm = this.snap.meta.term;
    this.cacheFirst = this.offsetIndex + 1;

    const seqs = fs
      .readdirSync(this.dir)
      .map((n) => segmentPattern.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((x, y) => x - y);
    let stop = false;
    for (const seq of seqs) {
      const file = path.join(this.dir, segmentName(seq));
      if (seq < this.segSeqMin || stop) {
        fs.rmSync(file, { force: true });
        continue;
      }
      const seg = this.openSegment(seq);
      this.segments.push(seg);
      const buf = fs.readFileSync(file);
      let at = 0;
      while (at < buf.length) {
        const r = scanRecord(buf, at);
        let bad: string | undefined = r.ok ? undefined : r.reason;
        if (r.ok && r.entry.index > this.lastIndex() + 1 && r.entry.index > this.offsetIndex) bad = 'gap';
        if (bad !== undefined || !r.ok) {
          // Torn or corrupt: everything from here on is discarded, in this segment and after it.
          this.recovery.truncatedBytes += buf.length - at;
          this.recovery.truncatedReason = `${bad} at ${path.basename(file)}:${at}`;
          fs.ftruncateSync(seg.fd, at);
          fs.fsyncSync(seg.fd);
          seg.bytes = at;
          stop = true;
          break;
        }
        const e = r.entry;
        if (e.index > this.offsetIndex) {
          if (e.index <= this.lastIndex()) this.truncateFrom(e.index);
          this.pushEntry(e, seq, at, r.recordBytes);
        }
        at += r.recordBytes;
      }
    }
    if (this.segments.length === 0) this.segments.push(this.openSegment(Math.max(1, this.segSeqMin)));
    this.recovery.segments = this.segments.length;
    this.recovery.entries = this.terms.length;
    // Commit may lag (it is written lazily) or lead (a torn tail): clamp it into what we hold.
    const commit = Math.min(Math.max(this.hs.commit, this.snap.meta.index), this.lastIndex());
    this.hs = { ...this.hs, commit };
  }
}
