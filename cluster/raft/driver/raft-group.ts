/**
 * One Raft group around a pure core: the etcd "raft node" loop.
 *
 * Handling a Ready always goes, in this order:
 *   1. send earlyMessages (the leader's appends: its own write runs in parallel);
 *   2. persist snapshot, entries and hard state; fsync when mustSync;
 *   3. send messages (vote grants and acks may only leave once durable);
 *   4. apply committed entries (resolving proposals) and read states;
 *   5. advance().
 * Readys are processed one at a time; messages, ticks and proposals that
 * arrive meanwhile are stepped into the core and batched into the next Ready,
 * so one fsync covers everything that arrived during the previous one.
 */
import { decodeConfChange } from '../core/config.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  type RaftCore,
  type RaftStatus,
  type ReadState,
  type Role,
} from '../types.ts';
import {
  AbortedError,
  GroupStoppedError,
  LeadershipLostError,
  NotLeaderError,
  ProposalOverwrittenError,
  RequestTimeoutError,
  TooManyPendingError,
} from './errors.ts';
import type { StateMachine } from './state-machine.ts';
import type { Ticker } from './ticker.ts';

export interface RaftGroupOptions {
  groupId: number;
  core: RaftCore;
  storage: RaftStorage;
  stateMachine: StateMachine;
  /** Outbound messages of this group; the host routes and batches them. */
  send: (messages: Message[]) => void;
  /**
   * Standalone use: the group ticks itself from this ticker (started now,
   * stopped by stop()). A MultiRaftHost leaves it unset and ticks every group
   * from its one ticker instead.
   */
  ticker?: Ticker;
  /** Take a snapshot (and compact) once this many entries were applied since the last one; 0 = never. */
  snapshotEntriesMax?: number;
  /** Entries kept behind a snapshot so slightly lagging followers catch up without one. */
  compactLagEntries?: number;
  pendingProposalsMax?: number;
  pendingReadsMax?: number;
  /** Ticks before a proposal, read or transfer gives up (outcome unknown for proposals). */
  requestTimeoutTicks?: number;
  /**
   * A read with no ReadState after this many ticks is issued again with the same context: the
   * core drops a forwarded read silently when leadership moves, and expects the requester to retry.
   */
  readRetryTicks?: number;
  onConfChange?: (conf: ConfState) => void;
  onRoleChange?: (role: Role, leaderId: NodeId) => void;
  /** A client request arrived (the host wakes a quiesced group). */
  onRequest?: () => void;
  /** The group hit an unrecoverable error (a failed fsync): it stopped. */
  onFatal?: (err: Error) => void;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  deadlineTick: number;
  cleanup: () => void;
}

interface PendingProposal extends Waiter<unknown> {
  term: number;
}

interface PendingRead extends Waiter<void> {
  /** Set once the ReadState arrived: wait until applied reaches it. */
  index: number;
  context: Uint8Array;
  issuedTick: number;
}

interface PendingTransfer extends Waiter<void> {
  to: NodeId;
}

export class RaftGroup {
  readonly groupId: number;
  readonly core: RaftCore;
  readonly storage: RaftStorage;
  private readonly sm: StateMachine;
  private readonly sendOut: (messages: Message[]) => void;
  private readonly snapshotEntriesMax: number;
  private readonly compactLagEntries: number;
  private readonly pendingProposalsMax: number;
  private readonly pendingReadsMax: number;
  private readonly requestTimeoutTicks: number;
  private readonly readRetryTicks: number;
  private readonly onConfChange: ((conf: ConfState) => void) | undefined;
  private readonly onRoleChange: ((role: Role, leaderId: NodeId) => void) | undefined;
  private readonly onFatal: ((err: Error) => void) | undefined;
  private readonly onRequest: (() => void) | undefined;
  private readonly ticker: Ticker | undefined;

  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly transfers = new Set<PendingTransfer>();
  private readSeq = 0;
  private ticks = 0;
  /** The term last made durable by a Ready (the storage's term at start). */
  durableTerm: number;
  /** Tick at which the Ready now being processed was taken; -1 when none is. */
  private readyTakenTick = -1;
  private scheduled = false;
  private processing = false;
  private stopped = false;
  private applied: number;
  private snapshotIndex: number;
  private conf: ConfState;
  role: Role = 'follower';
  leaderId: NodeId = 0;
  /** Counts for tests and metrics. */
  readonly stats = { readys: 0, syncs: 0, applied: 0, snapshots: 0 };

  constructor(o: RaftGroupOptions) {
    this.groupId = o.groupId;
    this.core = o.core;
    this.storage = o.storage;
    this.sm = o.stateMachine;
    this.sendOut = o.send;
    this.snapshotEntriesMax = o.snapshotEntriesMax ?? 10_000;
    this.compactLagEntries = o.compactLagEntries ?? 1_000;
    this.pendingProposalsMax = o.pendingProposalsMax ?? 10_000;
    this.pendingReadsMax = o.pendingReadsMax ?? 10_000;
    this.requestTimeoutTicks = o.requestTimeoutTicks ?? 100;
    this.readRetryTicks = o.readRetryTicks ?? 10;
    this.onConfChange = o.onConfChange;
    this.onRoleChange = o.onRoleChange;
    this.onFatal = o.onFatal;
    this.onRequest = o.onRequest;
    const snap = o.storage.snapshot();
    // The core starts with applied = snapshot index (see createRaftCore): restore the image to match.
    if (snap.meta.index > 0) this.sm.restore(snap.data);
    this.applied = snap.meta.index;
    this.snapshotIndex = snap.meta.index;
    this.conf = o.storage.initialState().confState;
    this.durableTerm = o.storage.initialState().hardState.term;
    this.ticker = o.ticker;
    this.ticker?.start(() => this.tick());
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get confState(): ConfState {
    return this.conf;
  }

  get pendingCount(): number {
    return this.proposals.size + this.reads.size + this.transfers.size;
  }

  get isProcessing(): boolean {
    return this.processing || this.scheduled;
  }

  /**
   * Ticks the current Ready has been in progress (mostly: waiting for its sync); 0 when none is. The
   * core hands out nothing, not even heartbeats, until that Ready is advanced (see MultiRaftHost.tick).
   */
  get readyInProgressTicks(): number {
    return this.readyTakenTick < 0 ? 0 : this.ticks - this.readyTakenTick;
  }

  status(): RaftStatus {
    return this.core.status();
  }

  tick(): void {
    if (this.stopped) return;
    this.ticks++;
    this.core.tick();
    if (this.pendingCount > 0) this.expire();
    // Most ticks change nothing; skip the microtask then (thousands of groups tick per host tick).
    if (this.core.hasReady()) this.schedule();
  }

  step(m: Message): void {
    if (this.stopped) return;
    this.core.step(m);
    this.schedule();
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.core.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.core.reportSnapshot(id, ok);
    this.schedule();
  }

  campaign(): void {
    if (this.stopped) return;
    this.onRequest?.();
    this.core.campaign();
    this.schedule();
  }

  /** Resolves with the state machine's result once the entry is applied here. */
  propose(data: Uint8Array, opts: RequestOptions = {}): Promise<unknown> {
    return this.proposeWith(opts, () => this.core.propose(data));
  }

  /** Resolves with the new configuration once the change is applied. */
  changeMembership(cc: ConfChange, opts: RequestOptions = {}): Promise<ConfState> {
    return this.proposeWith(opts, () =>
      this.core.proposeConfChange({ changes: cc.changes.map((c) => ({ ...c })) }),
    ) as Promise<ConfState>;
  }

  addVoter(id: NodeId, opts?: RequestOptions): Promise<ConfState> {
    return this.changeMembership({ changes: [{ type: 'addVoter', nodeId: id }] }, opts);
  }

  addLearner(id: NodeId, opts?: RequestOptions): Promise<ConfState> {
    return this.changeMembership({ changes: [{ type: 'addLearner', nodeId: id }] }, opts);
  }

  removeVoter(id: NodeId, opts?: RequestOptions): Promise<ConfState> {
    return this.changeMembership({ changes: [{ type: 'removeVoter', nodeId: id }] }, opts);
  }

  /**
   * Linearizable read barrier (ReadIndex, thesis §6.4): resolves once this
   * node has applied everything committed when the read was issued, so a
   * local read of the state machine afterwards is linearizable.
   */
  readIndex(opts: RequestOptions = {}): Promise<void> {
    if (this.stopped) return Promise.reject(new GroupStoppedError());
    if (this.leaderId === 0) return Promise.reject(new NotLeaderError(0));
    if (this.reads.size >= this.pendingReadsMax) {
      return Promise.reject(new TooManyPendingError('reads', this.pendingReadsMax));
    }
    const ctx = new Uint8Array(12);
    const view = new DataView(ctx.buffer);
    view.setUint32(0, this.groupId);
    view.setFloat64(4, ++this.readSeq);
    const key = ctxKey(ctx);
    this.onRequest?.();
    return this.wait<void>(opts, (w) => {
      this.reads.set(key, { ...w, index: -1, context: ctx, issuedTick: this.ticks });
      this.core.readIndex(ctx);
      this.schedule();
      return () => this.reads.delete(key);
    });
  }

  /** Resolves once `to` leads this group. */
  transferLeadership(to: NodeId, opts: RequestOptions = {}): Promise<void> {
    if (this.stopped) return Promise.reject(new GroupStoppedError());
    if (this.leaderId === to) return Promise.resolve();
    this.onRequest?.();
    return this.wait<void>(opts, (w) => {
      const t: PendingTransfer = { ...w, to };
      this.transfers.add(t);
      this.core.transferLeadership(to);
      this.schedule();
      return () => this.transfers.delete(t);
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker?.stop();
    this.failAll(new GroupStoppedError());
  }

  // ---- the Ready loop ----

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.processReadys();
    });
  }

  private async processReadys(): Promise<void> {
    if (this.processing) return; // the running loop re-checks hasReady() before it exits
    this.processing = true;
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        this.readyTakenTick = this.ticks;
        this.stats.readys++;
        if (rd.earlyMessages.length > 0) this.sendOut(rd.earlyMessages);
        if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) this.storage.append(rd.entries);
        if (rd.hardState) this.storage.setHardState(rd.hardState);
        if (rd.mustSync) {
          this.stats.syncs++;
          await this.storage.sync();
          if (this.stopped) return;
        }
        if (rd.hardState) this.durableTerm = rd.hardState.term;
        if (rd.messages.length > 0) this.sendOut(rd.messages);
        if (rd.snapshot) this.restoreSnapshot(rd.snapshot.meta.index, rd.snapshot.data, rd.snapshot.meta.conf);
        if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
        if (rd.softState) this.changeRole(rd.softState.role, rd.softState.leaderId);
        if (rd.readStates.length > 0) this.acceptReadStates(rd.readStates);
        this.core.advance();
        this.readyTakenTick = -1;
        this.maybeSnapshot();
      }
    } catch (err) {
      if (this.stopped) return; // stop() closed the storage under an in-flight Ready: not a failure
      this.stopped = true;
      this.failAll(err as Error);
      this.onFatal?.(err as Error);
    } finally {
      this.processing = false;
      this.readyTakenTick = -1;
    }
  }

  private restoreSnapshot(index: number, data: Uint8Array, conf: ConfState): void {
    this.sm.restore(data);
    this.applied = index;
    this.snapshotIndex = index;
    this.conf = conf;
    this.onConfChange?.(conf);
    for (const [i, p] of this.proposals) {
      if (i <= index) {
        this.proposals.delete(i);
        p.cleanup();
        p.reject(new LeadershipLostError());
      }
    }
  }

  private applyEntries(entries: Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      if (e.index !== this.applied + 1) {
        throw new Error(`raft group ${this.groupId}: applying ${e.index} after ${this.applied}`);
      }
      let result: unknown;
      if (e.type === EntryType.ConfChange) {
        this.conf = this.core.applyConfChange(decodeConfChange(e.data));
        result = this.conf;
        this.onConfChange?.(this.conf);
      } else if (e.data.length > 0) {
        result = this.sm.apply(e);
      }
      this.applied = e.index;
      this.stats.applied++;
      const p = this.proposals.get(e.index);
      if (p) {
        this.proposals.delete(e.index);
        p.cleanup();
        if (p.term === e.term) p.resolve(result);
        else p.reject(new ProposalOverwrittenError(e.index, p.term, e.term));
      }
    }
    if (this.reads.size > 0) this.releaseReads();
  }

  private acceptReadStates(states: ReadState[]): void {
    for (const rs of states) {
      const r = this.reads.get(ctxKey(rs.context));
      if (r) r.index = rs.index;
    }
    this.releaseReads();
  }

  private releaseReads(): void {
    for (const [key, r] of this.reads) {
      if (r.index >= 0 && r.index <= this.applied) {
        this.reads.delete(key);
        r.cleanup();
        r.resolve();
      }
    }
  }

  private changeRole(role: Role, leaderId: NodeId): void {
    const wasLeader = this.role === 'leader';
    this.role = role;
    this.leaderId = leaderId;
    if (wasLeader && role !== 'leader') {
      for (const [i, p] of this.proposals) {
        this.proposals.delete(i);
        p.cleanup();
        p.reject(new LeadershipLostError());
      }
      for (const [key, r] of this.reads) {
        this.reads.delete(key);
        r.cleanup();
        r.reject(new LeadershipLostError());
      }
    }
    for (const t of this.transfers) {
      if (t.to === leaderId) {
        this.transfers.delete(t);
        t.cleanup();
        t.resolve();
      }
    }
    this.onRoleChange?.(role, leaderId);
  }

  private maybeSnapshot(): void {
    if (this.snapshotEntriesMax === 0 || this.applied - this.snapshotIndex < this.snapshotEntriesMax) return;
    const index = this.applied;
    this.storage.createSnapshot(index, this.conf, this.sm.snapshot());
    this.snapshotIndex = index;
    this.stats.snapshots++;
    const compactTo = index - this.compactLagEntries;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
  }

  // ---- waiting, timeouts, cancellation ----

  private proposeWith(opts: RequestOptions, appendEntry: () => { index: number; term: number }): Promise<unknown> {
    if (this.stopped) return Promise.reject(new GroupStoppedError());
    if (this.role !== 'leader') return Promise.reject(new NotLeaderError(this.leaderId));
    if (this.proposals.size >= this.pendingProposalsMax) {
      return Promise.reject(new TooManyPendingError('proposals', this.pendingProposalsMax));
    }
    this.onRequest?.();
    return this.wait<unknown>(opts, (w) => {
      const { index, term } = appendEntry(); // throws ProposalDroppedError: wait() rejects with it
      this.proposals.set(index, { ...w, term });
      this.schedule();
      return () => this.proposals.delete(index);
    });
  }

  /**
   * Registers a waiter. `register` enqueues it and returns how to dequeue it
   * (used on abort and timeout); if `register` throws, the promise rejects.
   */
  private wait<T>(opts: RequestOptions, register: (w: Waiter<T>) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) {
        reject(new AbortedError());
        return;
      }
      let dequeue: () => void = () => {};
      const onAbort = () => {
        dequeue();
        reject(new AbortedError());
      };
      const cleanup = () => signal?.removeEventListener('abort', onAbort);
      const w: Waiter<T> = { resolve, reject, deadlineTick: this.ticks + this.requestTimeoutTicks, cleanup };
      try {
        dequeue = register(w);
      } catch (err) {
        reject(err as Error);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private expire(): void {
    const now = this.ticks;
    const timeout = (what: string) =>
      new RequestTimeoutError(`raft: ${what} timed out after ${this.requestTimeoutTicks} ticks`);
    for (const [i, p] of this.proposals) {
      if (p.deadlineTick <= now) {
        this.proposals.delete(i);
        p.cleanup();
        p.reject(timeout('proposal'));
      }
    }
    for (const [k, r] of this.reads) {
      if (r.deadlineTick <= now) {
        this.reads.delete(k);
        r.cleanup();
        r.reject(timeout('read'));
      } else if (r.index < 0 && now - r.issuedTick >= this.readRetryTicks && this.leaderId !== 0) {
        r.issuedTick = now;
        try {
          this.core.readIndex(r.context);
        } catch {
          // No leader right now: the next retry or the deadline settles it.
        }
      }
    }
    for (const t of this.transfers) {
      if (t.deadlineTick <= now) {
        this.transfers.delete(t);
        t.cleanup();
        t.reject(timeout('leadership transfer'));
      }
    }
  }

  private failAll(err: Error): void {
    for (const p of this.proposals.values()) {
      p.cleanup();
      p.reject(err);
    }
    this.proposals.clear();
    for (const r of this.reads.values()) {
      r.cleanup();
      r.reject(err);
    }
    this.reads.clear();
    for (const t of this.transfers) {
      t.cleanup();
      t.reject(err);
    }
    this.transfers.clear();
  }
}

function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('hex');
}
