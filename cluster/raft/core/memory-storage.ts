import {
  CompactedError,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type RaftLogStorage,
  type Snapshot,
  UnavailableError,
} from '../types.ts';
import { limitSize } from './entry-size.ts';
import { invariant, SnapshotOutOfDateError, StorageGapError } from './errors.ts';

const emptyData = new Uint8Array(0);

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [] };
}

function cloneConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners], votersOutgoing: [...c.votersOutgoing] };
}

/**
 * In-memory RaftLogStorage (etcd's MemoryStorage). `ents[0]` is a dummy entry
 * standing for the snapshot (its index and term), so term(firstIndex()-1) is answerable.
 * The application writes here while handling a Ready; the core only reads.
 */
export class MemoryStorage implements RaftLogStorage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];

  /** `conf` bootstraps a fresh group (the configuration "as of index 0"). */
  constructor(conf?: Partial<ConfState>) {
    this.snap = {
      meta: { index: 0, term: 0, conf: cloneConf({ ...emptyConfState(), ...conf }) },
      data: emptyData,
    };
    this.ents = [{ index: 0, term: 0, type: EntryType.Normal, data: emptyData }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConf(this.snap.meta.conf) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new CompactedError(i);
    if (i - offset >= this.ents.length) throw new UnavailableError(i);
    return this.ents[i - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    const current = this.snap.meta.index;
    if (snap.meta.index <= current) throw new SnapshotOutOfDateError(snap.meta.index, current);
    this.snap = { meta: { ...snap.meta, conf: cloneConf(snap.meta.conf) }, data: snap.data };
    this.ents = [{ index: snap.meta.index, term: snap.meta.term, type: EntryType.Normal, data: emptyData }];
  }

  /**
   * Records a snapshot of the application's state as of applied index `index`
   * (the log is not compacted: call compact() for that).
   */
  createSnapshot(index: number, conf: ConfState | undefined, data: Uint8Array): Snapshot {
    const current = this.snap.meta.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    this.snap = {
      meta: { index, term: this.term(index), conf: cloneConf(conf ?? this.snap.meta.conf) },
      data,
    };
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex` (which must not pass the applied index). */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new CompactedError(compactIndex);
    if (compactIndex > this.lastIndex()) throw new UnavailableError(compactIndex);
    const i = compactIndex - offset;
    const kept = this.ents[i]!;
    this.ents = [
      { index: kept.index, term: kept.term, type: EntryType.Normal, data: emptyData },
      ...this.ents.slice(i + 1),
    ];
  }

  /** Appends entries; an entry at an existing index replaces it and everything after it. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (let k = 1; k < entries.length; k++) {
      invariant(entries[k]!.index === entries[k - 1]!.index + 1, 'appended entries are contiguous');
    }
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return; // entirely compacted already
    let ents = entries as Entry[];
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const at = ents[0]!.index - this.offset();
    if (at > this.ents.length) throw new StorageGapError(this.lastIndex() + 1, ents[0]!.index);
    // Truncate in place, then push: appending at the end stays O(appended), not O(log).
    this.ents.length = at;
    for (const e of ents) this.ents.push(e);
  }
}
