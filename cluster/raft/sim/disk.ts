import type { ConfState, Entry, HardState, Snapshot } from '../types.ts';
import { SimLimitError, SimUsageError } from './errors.ts';

/**
 * One node's disk: a durable image (what survives a crash) and an ordered
 * list of writes that reached the page cache but not the platter. Reads see
 * both (`current`), as a real process reading its own files would. `sync()`
 * makes a prefix of the pending writes durable; `crash()` keeps only what was
 * synced, plus optionally a prefix of the unsynced writes (the kernel may have
 * flushed some on its own, but never out of order).
 */

export interface DiskImage {
  hardState: HardState;
  /** The latest snapshot; the log starts right after `snapshot.meta.index`. */
  snapshot: Snapshot;
  /** entries[k] has index snapshot.meta.index + 1 + k. */
  entries: Entry[];
}

export type DiskWrite =
  | { kind: 'entries'; entries: Entry[] }
  | { kind: 'hardState'; hardState: HardState }
  /** A snapshot received from the leader: replaces the whole log. */
  | { kind: 'installSnapshot'; snapshot: Snapshot }
  /** A snapshot the node took itself: drops the log prefix up to its index. */
  | { kind: 'compact'; snapshot: Snapshot }
  /** Several writes that reach the disk atomically (one record), e.g. a snapshot and the hard state that covers it. */
  | { kind: 'batch'; writes: DiskWrite[] };

export function cloneConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners], votersOutgoing: [...c.votersOutgoing] };
}

export function bootstrapImage(conf: ConfState, snapshotData: Uint8Array): DiskImage {
  return {
    hardState: { term: 0, vote: 0, commit: 0 },
    snapshot: { meta: { index: 0, term: 0, conf: cloneConf(conf) }, data: snapshotData },
    entries: [],
  };
}

function cloneImage(img: DiskImage): DiskImage {
  // Entries and snapshots are immutable once written, so a shallow copy of the arrays suffices.
  return { hardState: { ...img.hardState }, snapshot: img.snapshot, entries: [...img.entries] };
}

export function imageLastIndex(img: DiskImage): number {
  return img.snapshot.meta.index + img.entries.length;
}

/** Applies one write to an image in place. Throws SimUsageError for writes the Raft contract forbids. */
export function applyWrite(img: DiskImage, w: DiskWrite): void {
  switch (w.kind) {
    case 'batch':
      for (const sub of w.writes) applyWrite(img, sub);
      return;
    case 'hardState':
      img.hardState = { ...w.hardState };
      return;
    case 'installSnapshot':
      img.snapshot = w.snapshot;
      img.entries = [];
      return;
    case 'compact': {
      const base = img.snapshot.meta.index;
      const at = w.snapshot.meta.index;
      if (at <= base) return; // already compacted further (e.g. a snapshot was installed meanwhile)
      if (at > imageLastIndex(img))
        throw new SimUsageError(`compact at ${at} beyond last index ${imageLastIndex(img)}`);
      img.entries = img.entries.slice(at - base);
      img.snapshot = w.snapshot;
      return;
    }
    case 'entries': {
      const base = img.snapshot.meta.index;
      for (const e of w.entries) {
        if (e.index <= base) continue; // covered by the snapshot
        const k = e.index - base - 1;
        if (k > img.entries.length) {
          throw new SimUsageError(`append leaves a gap: entry ${e.index} after last index ${imageLastIndex(img)}`);
        }
        // An entry at an existing index replaces it and everything after it.
        if (k < img.entries.length) img.entries.length = k;
        img.entries.push(e);
      }
      return;
    }
  }
}

export class SimDisk {
  private durableImage: DiskImage;
  private currentImage: DiskImage;
  private pending: DiskWrite[] = [];
  private readonly pendingWritesMax: number;

  constructor(initial: DiskImage, pendingWritesMax: number) {
    this.durableImage = cloneImage(initial);
    this.currentImage = cloneImage(initial);
    this.pendingWritesMax = pendingWritesMax;
  }

  /** What the running process sees (durable + unsynced writes). */
  get current(): Readonly<DiskImage> {
    return this.currentImage;
  }

  /** What would survive a crash right now. */
  get durable(): Readonly<DiskImage> {
    return this.durableImage;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  write(w: DiskWrite): void {
    if (this.pending.length >= this.pendingWritesMax)
      throw new SimLimitError('unsynced disk writes', this.pendingWritesMax);
    applyWrite(this.currentImage, w);
    this.pending.push(w);
  }

  /** Makes the first `count` pending writes durable (the ones issued before the fsync began). */
  sync(count: number): void {
    if (count < 0 || count > this.pending.length)
      throw new SimUsageError(`sync(${count}) with ${this.pending.length} pending`);
    for (let i = 0; i < count; i++) applyWrite(this.durableImage, this.pending[i]!);
    this.pending.splice(0, count);
  }

  /**
   * Power loss: unsynced writes are lost except the first `keepPending`, which
   * the kernel happened to flush. Returns how many writes were lost.
   */
  crash(keepPending: number): number {
    const keep = Math.max(0, Math.min(keepPending, this.pending.length));
    const lost = this.pending.length - keep;
    this.sync(keep);
    this.pending = [];
    this.currentImage = cloneImage(this.durableImage);
    return lost;
  }
}
