import { type Entry, EntryType, type NodeId, type Role } from '../types.ts';
import type { DiskImage } from './disk.ts';
import { InvariantViolationError } from './errors.ts';
import { Invariant } from './invariants.ts';
import { applyToImage, contentOf, type StateMachineImage } from './state-machine.ts';

/**
 * The global record of a run and the checks against it. The simulator calls
 * one `observe*` method for every state change it causes (role and term after
 * each event, each log write, each commit advance, each apply, each restart),
 * so every invariant is checked after every event at O(change) cost instead of
 * rescanning all logs. Each check throws InvariantViolationError.
 *
 * The record spans crashes: a node that forgets something it once made
 * visible (a vote, a committed entry) is caught against what others saw.
 */

interface EntryIdentity {
  term: number;
  content: string;
}

interface RegisteredEntry {
  content: string;
  prevTerm: number;
}

interface CommittedEntry extends EntryIdentity {
  /** The term of the first node that reported it committed: an upper bound on the term it was committed in. */
  commitTerm: number;
}

interface NodeRecord {
  commit: number;
  /** Log indexes up to here were read from the node's log as committed and joined the record. */
  commitChecked: number;
  sm: StateMachineImage;
}

/** Term of index i in an image, or undefined when compacted away or beyond the end. */
export function termAt(img: Readonly<DiskImage>, i: number): number | undefined {
  const base = img.snapshot.meta.index;
  if (i === base) return img.snapshot.meta.term;
  if (i < base) return undefined;
  return img.entries[i - base - 1]?.term;
}

export function entryAt(img: Readonly<DiskImage>, i: number): Entry | undefined {
  const base = img.snapshot.meta.index;
  if (i <= base) return undefined;
  return img.entries[i - base - 1];
}

function fail(inv: Invariant, detail: string): never {
  throw new InvariantViolationError(inv, detail);
}

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** "index:term" -> the entry's content and the term before it (log matching by induction). */
  private readonly registry = new Map<string, RegisteredEntry>();
  private readonly committed = new Map<number, CommittedEntry>();
  private committedMaxIndex = 0;
  /** Max committed index per commitTerm, for leader completeness. */
  private readonly committedMaxByTerm = new Map<number, number>();
  private readonly applied = new Map<number, EntryIdentity>();
  private readonly chainAt = new Map<number, string>();
  /** Content of every applied non-empty Normal entry -> its index (client values are unique). */
  private readonly indexOfValue = new Map<string, number>();
  private readonly nodes = new Map<NodeId, NodeRecord>();
  private appliedMaxIndex = 0;

  get committedIndexMax(): number {
    return this.committedMaxIndex;
  }

  get appliedIndexMax(): number {
    return this.appliedMaxIndex;
  }

  /** The entry applied at index (by anyone), if any. */
  appliedEntry(index: number): Readonly<EntryIdentity> | undefined {
    return this.applied.get(index);
  }

  nodeImage(id: NodeId): StateMachineImage | undefined {
    return this.nodes.get(id)?.sm;
  }

  private node(id: NodeId): NodeRecord {
    const r = this.nodes.get(id);
    if (r === undefined)
      throw new InvariantViolationError(Invariant.CoreContract, `node ${id} observed before it started`);
    return r;
  }

  /** A node (re)starts from its durable image: its commit and state machine restart from there. */
  observeStart(id: NodeId, durable: Readonly<DiskImage>, sm: StateMachineImage): void {
    const snapIndex = durable.snapshot.meta.index;
    const last = snapIndex + durable.entries.length;
    if (durable.hardState.commit > last) {
      fail(
        Invariant.CommitMonotonic,
        `node ${id} restarts with durable commit ${durable.hardState.commit} beyond its durable last index ${last}`,
      );
    }
    if (sm.applied !== snapIndex)
      fail(
        Invariant.StateMachineSafety,
        `node ${id} restarts with applied ${sm.applied} != snapshot index ${snapIndex}`,
      );
    this.checkImageAt(id, sm, 'restart');
    this.nodes.set(id, { commit: durable.hardState.commit, commitChecked: snapIndex, sm });
    // The durable log must still hold what this node had reported committed.
    this.checkCommittedPrefix(id, durable, durable.hardState.commit, durable.hardState.term);
    this.nodes.get(id)!.commitChecked = Math.max(snapIndex, Math.min(durable.hardState.commit, last));
  }

  observeRole(id: NodeId, role: Role, term: number): void {
    if (role !== 'leader') return;
    const other = this.leaderOfTerm.get(term);
    if (other === undefined) this.leaderOfTerm.set(term, id);
    else if (other !== id) fail(Invariant.ElectionSafety, `nodes ${other} and ${id} were both leader in term ${term}`);
  }

  /**
   * Before a node writes entries: an entry it has reported committed (read from
   * a current log view, see observeCommit) may never be replaced by a different one.
   */
  beforeAppend(id: NodeId, img: Readonly<DiskImage>, entries: readonly Entry[]): void {
    const rec = this.nodes.get(id);
    if (rec === undefined) return;
    for (const e of entries) {
      if (e.index > rec.commitChecked) break;
      const t = termAt(img, e.index);
      if (t !== undefined && t !== e.term) {
        fail(
          Invariant.CommittedStable,
          `node ${id} overwrites committed index ${e.index} (term ${t}, commit ${rec.commit}) with term ${e.term}`,
        );
      }
    }
  }

  /** A persisted commit index must be covered by the log persisted with (or before) it. */
  observeHardStateWrite(id: NodeId, img: Readonly<DiskImage>): void {
    const last = img.snapshot.meta.index + img.entries.length;
    if (img.hardState.commit > last) {
      fail(
        Invariant.CommitMonotonic,
        `node ${id} persists commit ${img.hardState.commit} beyond its log's last index ${last}`,
      );
    }
  }

  /** After entries are written: register each (index, term) with its content and predecessor's term. */
  afterAppend(id: NodeId, img: Readonly<DiskImage>, entries: readonly Entry[]): void {
    for (const e of entries) {
      const prevTerm = termAt(img, e.index - 1);
      if (prevTerm === undefined) continue; // covered by a snapshot: the snapshot check covers it
      const stored = termAt(img, e.index);
      if (stored !== e.term) continue; // replaced by a later entry of the same write
      this.registerEntry(id, e.index, e.term, contentOf(e), prevTerm);
    }
  }

  /** Exposed for tests: one (index, term) must always name the same content and predecessor term. */
  registerEntry(id: NodeId, index: number, term: number, content: string, prevTerm: number): void {
    const key = `${index}:${term}`;
    const known = this.registry.get(key);
    if (known === undefined) {
      this.registry.set(key, { content, prevTerm });
      return;
    }
    if (known.content !== content) {
      fail(Invariant.LogMatching, `node ${id} has a different entry at index ${index} term ${term} than another log`);
    }
    if (known.prevTerm !== prevTerm) {
      fail(
        Invariant.LogMatching,
        `node ${id} has entry ${index}/${term} after term ${prevTerm}, another log has it after term ${known.prevTerm} (prefixes differ)`,
      );
    }
  }

  /**
   * The node reports commit index `commit` (while in `term`). Commit never goes
   * back; entries now committed join the global record and must agree with it.
   */
  observeCommit(id: NodeId, commit: number, term: number, img: Readonly<DiskImage> | undefined): void {
    const rec = this.node(id);
    if (commit < rec.commit)
      fail(Invariant.CommitMonotonic, `node ${id} commit went back from ${rec.commit} to ${commit}`);
    rec.commit = commit;
    // Without a current log view (the core holds entries storage has not seen), only monotonicity is checked.
    if (img === undefined || commit <= rec.commitChecked) return;
    const last = img.snapshot.meta.index + img.entries.length;
    // Entries the core has not handed to storage yet are checked when they arrive.
    const upTo = Math.min(commit, last);
    this.checkCommittedPrefix(id, img, upTo, term, rec.commitChecked + 1);
    rec.commitChecked = Math.max(rec.commitChecked, upTo);
  }

  private checkCommittedPrefix(id: NodeId, img: Readonly<DiskImage>, upTo: number, term: number, from = 1): void {
    const start = Math.max(from, img.snapshot.meta.index + 1);
    for (let i = start; i <= upTo; i++) {
      const e = entryAt(img, i);
      if (e === undefined)
        fail(Invariant.CommittedStable, `node ${id} reports index ${i} committed but its log ends before it`);
      const content = contentOf(e);
      const known = this.committed.get(i);
      if (known === undefined) {
        this.committed.set(i, { term: e.term, content, commitTerm: term });
        if (i > this.committedMaxIndex) this.committedMaxIndex = i;
        const prev = this.committedMaxByTerm.get(term) ?? 0;
        if (i > prev) this.committedMaxByTerm.set(term, i);
      } else if (known.term !== e.term || known.content !== content) {
        fail(
          Invariant.CommittedStable,
          `node ${id} has ${e.term}/${content.slice(0, 8)} committed at index ${i}, but ${known.term}/${known.content.slice(0, 8)} was committed there`,
        );
      }
    }
  }

  /** A leader of `term` must hold every entry committed in an earlier term (§5.4.1). */
  observeLeaderLog(id: NodeId, term: number, img: Readonly<DiskImage>): void {
    let need = 0;
    for (const [t, idx] of this.committedMaxByTerm) if (t < term && idx > need) need = idx;
    if (need === 0) return;
    const snapIndex = img.snapshot.meta.index;
    if (need <= snapIndex) {
      // Compacted: the snapshot covers it; its image is checked against the global chain on install.
      return;
    }
    const last = snapIndex + img.entries.length;
    if (last < need)
      fail(
        Invariant.LeaderCompleteness,
        `leader ${id} of term ${term} has last index ${last} < committed index ${need}`,
      );
    const have = termAt(img, need);
    const want = this.committed.get(need)!;
    if (have !== want.term) {
      fail(
        Invariant.LeaderCompleteness,
        `leader ${id} of term ${term} has term ${have} at committed index ${need}, committed term is ${want.term}`,
      );
    }
  }

  /** The node applies one committed entry from its log; `durable` is its disk's durable image at that moment. */
  observeApply(id: NodeId, e: Entry, durable: Readonly<DiskImage>): StateMachineImage {
    const rec = this.node(id);
    if (e.index !== rec.sm.applied + 1) {
      fail(
        Invariant.StateMachineSafety,
        `node ${id} applies index ${e.index} after ${rec.sm.applied} (gap or reorder)`,
      );
    }
    const dt = termAt(durable, e.index);
    if (dt !== e.term && !(e.index <= durable.snapshot.meta.index)) {
      fail(
        Invariant.ApplyDurable,
        `node ${id} applies ${e.index}/${e.term} but its durable log has ${dt ?? 'nothing'} there`,
      );
    }
    const content = contentOf(e);
    const known = this.applied.get(e.index);
    if (known === undefined) {
      this.applied.set(e.index, { term: e.term, content });
      if (e.index > this.appliedMaxIndex) this.appliedMaxIndex = e.index;
    } else if (known.term !== e.term || known.content !== content) {
      fail(
        Invariant.StateMachineSafety,
        `node ${id} applies ${e.term}/${content.slice(0, 8)} at index ${e.index}, another node applied ${known.term}/${known.content.slice(0, 8)}`,
      );
    }
    if (e.type === EntryType.Normal && e.data.length > 0) {
      const at = this.indexOfValue.get(content);
      if (at === undefined) this.indexOfValue.set(content, e.index);
      else if (at !== e.index)
        fail(Invariant.NoDuplicateApply, `node ${id} applies the same client value at ${e.index} and ${at}`);
    }
    const committed = this.committed.get(e.index);
    if (committed !== undefined && (committed.term !== e.term || committed.content !== content)) {
      fail(
        Invariant.CommittedStable,
        `node ${id} applies ${e.index}/${e.term}, but ${committed.term} was committed there`,
      );
    }
    rec.sm = applyToImage(rec.sm, e);
    this.checkImageAt(id, rec.sm, 'apply');
    return rec.sm;
  }

  /** The node replaces its state machine with a snapshot's image. */
  observeSnapshotInstall(id: NodeId, image: StateMachineImage): void {
    const rec = this.node(id);
    if (image.applied < rec.sm.applied) {
      fail(
        Invariant.StateMachineSafety,
        `node ${id} installs snapshot at ${image.applied} below its applied index ${rec.sm.applied}`,
      );
    }
    this.checkImageAt(id, image, 'snapshot');
    rec.sm = image;
    if (rec.commitChecked < image.applied) rec.commitChecked = image.applied;
  }

  private checkImageAt(id: NodeId, image: StateMachineImage, how: string): void {
    if (image.applied === 0) return;
    const known = this.chainAt.get(image.applied);
    if (known === undefined) this.chainAt.set(image.applied, image.chain);
    else if (known !== image.chain) {
      fail(
        Invariant.StateMachineSafety,
        `node ${id} (${how}) has state ${image.chain} at index ${image.applied}, another node had ${known}`,
      );
    }
  }
}
