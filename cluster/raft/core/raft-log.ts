import { CompactedError, type Entry, type RaftLogStorage, type Snapshot, UnavailableError } from '../types.ts';
import { limitSize } from './entry-size.ts';
import { invariant } from './errors.ts';
import { Unstable } from './unstable.ts';

/**
 * The core's view of the log: durable entries in storage followed by the
 * unstable tail (etcd's raftLog). Tracks commit and applied indexes.
 */
export class RaftLog {
  readonly storage: RaftLogStorage;
  readonly unstable: Unstable;
  /** Highest index known committed (may exceed what is durable locally on a follower). */
  committed: number;
  /** Highest index handed to the application and acknowledged by advance(). */
  applied: number;

  constructor(storage: RaftLogStorage) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i; throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new UnavailableError(i);
    return this.unstable.maybeTerm(i) ?? this.storage.term(i);
  }

  /** Term of entry i, or 0 when it is compacted or not present. */
  termOrZero(i: number): number {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return 0;
    return this.term(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(i: number, t: number): boolean {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return false;
    return this.term(i) === t;
  }

  /** §5.4.1: is a log ending at (lasti, term) at least as up-to-date as ours? */
  isUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex());
  }

  /** Index of the first entry whose term conflicts with ours (or that we lack); 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (etcd's findConflictByTerm),
   * used for fast backtracking: entries after it cannot match a log whose entry
   * at `index` has `term`. Returns [index, termAtIndex] (term 0 when compacted).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i > 0; i--) {
      let ours: number;
      try {
        ours = this.term(i);
      } catch {
        return [i, 0];
      }
      if (ours <= term) return [i, ours];
    }
    return [0, 0];
  }

  /**
   * AppendEntries receiver (§5.3). Returns the last new index, or undefined if
   * the log does not contain an entry at `index` with term `logTerm`.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    return this.appendAfter(index, committed, ents);
  }

  /** The part of maybeAppend after the consistency check (also used by an unsafe test switch). */
  appendAfter(index: number, committed: number, ents: readonly Entry[]): number {
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, `conflict at ${ci} is not after committed ${this.committed}`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    invariant(after >= this.committed, `append after ${after} would overwrite committed ${this.committed}`);
    invariant(after <= this.lastIndex(), `append after ${after} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** Entries from `lo` to the end, bounded by maxBytes (at least one). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi) bounded by maxBytes (at least one when lo < hi). Throws CompactedError. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    invariant(hi <= this.lastIndex() + 1, `slice hi ${hi} beyond last ${this.lastIndex()}`);
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      const storageHi = Math.min(hi, off);
      ents = this.storage.entries(lo, storageHi, maxBytes);
      if (ents.length < storageHi - lo) return ents; // size limit reached inside storage
    }
    if (hi > off) {
      const tail = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length > 0 ? ents.concat(tail) : tail;
    }
    return limitSize(ents, maxBytes);
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    invariant(c <= this.lastIndex(), `commit ${c} beyond last index ${this.lastIndex()}`);
    this.committed = c;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(i <= this.committed && i >= this.applied, `applied ${i} outside [${this.applied}, ${this.committed}]`);
    this.applied = i;
  }

  /**
   * The end of the prefix of our current log that is durable (in storage and
   * not superseded by an unstable overwrite). Only this much counts for commit
   * at the leader and may be handed out as committed entries.
   */
  persistedIndex(): number {
    if (this.unstable.snapshot) return 0;
    if (this.unstable.entries.length > 0) return this.unstable.offset - 1;
    return this.lastIndex();
  }

  /** Committed, durable, not yet applied entries, bounded by maxBytes. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (this.unstable.snapshot) return []; // apply the snapshot first
    const hi = Math.min(this.committed, this.persistedIndex()) + 1;
    const lo = this.applied + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstable.snapshot) return false;
    return this.applied < Math.min(this.committed, this.persistedIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
