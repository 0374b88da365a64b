import { decodeConfChange } from '../core/conf-change.ts';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftCore,
  type RaftLogStorage,
  type ReadState,
  type Ready,
  type Role,
} from '../types.ts';
import { cloneConf, type DiskImage, type DiskWrite, SimDisk } from './disk.ts';
import { InvariantViolationError, SimUsageError } from './errors.ts';
import { Invariant } from './invariants.ts';
import type { SimPrng } from './prng.ts';
import type { SafetyChecker } from './safety-checker.ts';
import { SimLogStorage } from './sim-storage.ts';
import { decodeImage, encodeImage, type StateMachineImage } from './state-machine.ts';

/** What a node needs from the simulator around it. */
export interface NodeHost {
  readonly checker: SafetyChecker;
  send(from: SimNode, messages: readonly Message[], early: boolean): void;
  /** Schedule the completion of an fsync; the host calls `syncDone(token)` then (or never, if the node crashed). */
  scheduleSync(node: SimNode, token: number): void;
  onApplied(node: SimNode, e: Entry, cc: ConfChange | undefined): void;
  note(node: SimNode, what: string, fields: readonly number[]): void;
  /** The node's commit index moved forward while it was leader (a moment worth crashing at). */
  onLeaderCommit(node: SimNode, commit: number, term: number): void;
  /** A linearizable read may now be served at `rs.index`. */
  onReadState(node: SimNode, rs: ReadState): void;
}

export type CoreFactory = (config: RaftConfig, storage: RaftLogStorage) => RaftCore;

export const NodeState = { Unstarted: 0, Running: 1, Crashed: 2, Retired: 3 } as const;
export type NodeState = (typeof NodeState)[keyof typeof NodeState];

export interface SimNodeLimits {
  /**
   * Step messages and ticks into the core while an fsync is in flight (an
   * event-loop driver) instead of holding them until advance() (a sequential one).
   */
  stepWhileSyncing: boolean;
  inboxMessagesMax: number;
  pendingTicksMax: number;
  pendingDiskWritesMax: number;
  /** Ready/advance rounds per drive() call: a core that never runs dry is a bug. */
  readyRoundsMax: number;
}

interface InFlightSync {
  token: number;
  ready: Ready;
  coveredWrites: number;
}

const ROLE_CODE: Record<Role, number> = { follower: 0, 'pre-candidate': 1, candidate: 2, leader: 3 };

/**
 * One simulated server: a RaftCore, its disk, its state machine, and the
 * driver loop a real server runs around the core:
 *
 *   ready() -> send earlyMessages -> write snapshot/entries/hardState ->
 *   fsync (when mustSync; takes simulated time) -> send messages ->
 *   apply committed entries (applyConfChange for ConfChange) -> advance()
 *
 * While an fsync is in flight the driver is blocked, as a sequential driver
 * awaiting fsync is: incoming messages and ticks wait in a bounded inbox and
 * are stepped together once the Ready is finished (group commit).
 */
export class SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  private readonly host: NodeHost;
  private readonly makeCore: CoreFactory;
  private readonly baseConfig: Omit<RaftConfig, 'id' | 'applied' | 'prng'>;
  private readonly prng: SimPrng;
  private readonly limits: SimNodeLimits;
  private core: RaftCore | undefined;
  state: NodeState = NodeState.Unstarted;
  /** Bumped on every start: events addressed to an older incarnation are dropped. */
  incarnation = 0;
  private syncing: InFlightSync | undefined;
  /** A paused process (SIGSTOP, a long GC): no ticks, no steps, no fsync completions until resumed. */
  private paused = false;
  private syncDoneWhilePaused: number | undefined;
  private nextSyncToken = 1;
  private inbox: Message[] = [];
  private pendingTicks = 0;
  private sm: StateMachineImage = { applied: 0, chain: '' };
  private conf: ConfState = { voters: [], learners: [], votersOutgoing: [] };
  private lastRole: Role = 'follower';
  private lastTerm = 0;
  private lastCommit = 0;
  /**
   * False while the core may hold log entries it has not handed to storage yet: input was stepped
   * while a Ready was in flight. Then the storage view can show stale entries the core already
   * replaced, so the checker must not read commits or leader logs from it.
   */
  private storageCurrent = true;

  constructor(opts: {
    id: NodeId;
    host: NodeHost;
    makeCore: CoreFactory;
    baseConfig: Omit<RaftConfig, 'id' | 'applied' | 'prng'>;
    prng: SimPrng;
    bootstrap: DiskImage;
    limits: SimNodeLimits;
  }) {
    this.id = opts.id;
    this.host = opts.host;
    this.makeCore = opts.makeCore;
    this.baseConfig = opts.baseConfig;
    this.prng = opts.prng;
    this.limits = opts.limits;
    this.disk = new SimDisk(opts.bootstrap, opts.limits.pendingDiskWritesMax);
  }

  get running(): boolean {
    return this.state === NodeState.Running;
  }

  get isSyncing(): boolean {
    return this.syncing !== undefined;
  }

  get appliedImage(): StateMachineImage {
    return this.sm;
  }

  get confState(): ConfState {
    return this.conf;
  }

  /** The core, for status queries and client operations. Throws if the node is down. */
  raft(): RaftCore {
    if (this.core === undefined) throw new SimUsageError(`node ${this.id} is not running`);
    return this.core;
  }

  /** (Re)starts from the durable disk image: a fresh core over storage rebuilt from it. */
  start(): void {
    if (this.state === NodeState.Running || this.state === NodeState.Retired) {
      throw new SimUsageError(`node ${this.id} cannot start from state ${this.state}`);
    }
    const durable = this.disk.durable;
    this.sm = decodeImage(durable.snapshot.data);
    this.conf = cloneConf(durable.snapshot.meta.conf);
    this.host.checker.observeStart(this.id, durable, this.sm);
    const config: RaftConfig = {
      ...this.baseConfig,
      id: this.id,
      // Applied state is not persisted apart from snapshots: re-apply from the snapshot on.
      applied: durable.snapshot.meta.index,
      prng: this.prng,
    };
    this.core = this.guard('construct', () => this.makeCore(config, new SimLogStorage(this.disk)));
    this.state = NodeState.Running;
    this.incarnation++;
    this.syncing = undefined;
    this.paused = false;
    this.syncDoneWhilePaused = undefined;
    this.inbox = [];
    this.pendingTicks = 0;
    this.lastRole = 'follower';
    this.lastTerm = durable.hardState.term;
    this.lastCommit = durable.hardState.commit;
    this.storageCurrent = true;
    this.afterInput();
  }

  /** Power loss: the process dies, unsynced writes are lost except a prefix of `keepPendingWrites`. */
  crash(keepPendingWrites: number): number {
    if (this.state !== NodeState.Running) throw new SimUsageError(`node ${this.id} is not running`);
    this.core = undefined;
    this.syncing = undefined;
    this.paused = false;
    this.syncDoneWhilePaused = undefined;
    this.inbox = [];
    this.pendingTicks = 0;
    this.state = NodeState.Crashed;
    return this.disk.crash(keepPendingWrites);
  }

  /** Stops a node for good (it was removed from the configuration). */
  retire(): void {
    this.core = undefined;
    this.syncing = undefined;
    this.inbox = [];
    this.state = NodeState.Retired;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Running and able to serve a client right now. */
  get available(): boolean {
    return this.running && !this.paused;
  }

  pause(): void {
    if (this.running) this.paused = true;
  }

  /** The process continues: a finished fsync completes, then everything that queued up is stepped. */
  resume(): void {
    if (!this.running || !this.paused) return;
    this.paused = false;
    const token = this.syncDoneWhilePaused;
    this.syncDoneWhilePaused = undefined;
    if (token !== undefined) {
      this.syncDone(token);
      return;
    }
    if (this.syncing !== undefined && !this.limits.stepWhileSyncing) return;
    this.drainInbox();
    this.afterInput();
  }

  /** Input waits while the process is paused, or blocked on an fsync in a sequential driver. */
  private get blocked(): boolean {
    return this.paused || (this.syncing !== undefined && !this.limits.stepWhileSyncing);
  }

  tick(): void {
    if (!this.running) return;
    if (this.blocked) {
      this.pendingTicks = Math.min(this.pendingTicks + 1, this.limits.pendingTicksMax);
      return;
    }
    this.noteInputDuringSync();
    this.guard('tick', () => this.core!.tick());
    this.afterInput();
  }

  /** Returns false when the message was dropped (node down or inbox full). */
  receive(m: Message): boolean {
    if (!this.running) return false;
    if (this.blocked) {
      if (this.inbox.length >= this.limits.inboxMessagesMax) return false;
      this.inbox.push(m);
      return true;
    }
    this.noteInputDuringSync();
    this.guard('step', () => this.core!.step(m));
    this.afterInput();
    return true;
  }

  /** A client or operator action on the core (propose, transfer, campaign); errors propagate. */
  act<T>(fn: (core: RaftCore) => T): T {
    const core = this.raft();
    this.noteInputDuringSync();
    try {
      return fn(core);
    } finally {
      this.afterInput();
    }
  }

  /** The fsync the current Ready waits for has finished. */
  syncDone(token: number): void {
    const s = this.syncing;
    if (s === undefined || s.token !== token || !this.running) return;
    if (this.paused) {
      this.syncDoneWhilePaused = token;
      return;
    }
    this.disk.sync(s.coveredWrites);
    this.syncing = undefined;
    this.finishReady(s.ready);
    this.drainInbox();
    this.afterInput();
  }

  private drainInbox(): void {
    const inbox = this.inbox;
    this.inbox = [];
    const ticks = this.pendingTicks;
    this.pendingTicks = 0;
    for (const m of inbox) this.guard('step', () => this.core!.step(m));
    for (let i = 0; i < ticks; i++) this.guard('tick', () => this.core!.tick());
  }

  /** Takes a snapshot of the applied state and compacts the log up to it. Returns its index, or 0. */
  compact(): number {
    if (!this.running) return 0;
    const img = this.disk.current;
    const at = this.sm.applied;
    if (at <= img.snapshot.meta.index) return 0;
    const term = new SimLogStorage(this.disk).term(at);
    this.disk.write({
      kind: 'compact',
      snapshot: { meta: { index: at, term, conf: cloneConf(this.conf) }, data: encodeImage(this.sm) },
    });
    return at;
  }

  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InvariantViolationError) throw err;
      const e = err as Error;
      throw new InvariantViolationError(
        Invariant.CoreContract,
        `node ${this.id} ${what} threw ${e.name}: ${e.message}`,
      );
    }
  }

  /** After every input: run the driver loop, then report the node's state to the checker. */
  private afterInput(): void {
    this.drive();
    this.observe();
  }

  private noteInputDuringSync(): void {
    if (this.syncing !== undefined) this.storageCurrent = false;
  }

  private drive(): void {
    for (let round = 0; round < this.limits.readyRoundsMax; round++) {
      if (!this.running || this.paused || this.syncing !== undefined) return;
      const core = this.core!;
      if (!this.guard('hasReady', () => core.hasReady())) {
        this.storageCurrent = true;
        return;
      }
      const rd = this.guard('ready', () => core.ready());
      // ready() hands over every unstable entry; startReady writes them before anything else runs.
      this.storageCurrent = true;
      this.startReady(rd);
    }
    throw new InvariantViolationError(
      Invariant.CoreContract,
      `node ${this.id} still has a Ready after ${this.limits.readyRoundsMax} rounds`,
    );
  }

  private startReady(rd: Ready): void {
    const checker = this.host.checker;
    if (rd.earlyMessages.length > 0) this.host.send(this, rd.earlyMessages, true);
    if (rd.entries.length > 0) checker.beforeAppend(this.id, this.disk.current, rd.entries);
    if (rd.snapshot !== undefined) {
      // A snapshot and the hard state that covers it go down as one record (as a WAL does):
      // a snapshot without its commit index would restart the node with commit < snapshot index.
      const writes: DiskWrite[] = [{ kind: 'installSnapshot', snapshot: rd.snapshot }];
      if (rd.entries.length > 0) writes.push({ kind: 'entries', entries: rd.entries });
      if (rd.hardState !== undefined) writes.push({ kind: 'hardState', hardState: rd.hardState });
      this.guard('persist snapshot', () => this.disk.write({ kind: 'batch', writes }));
    } else {
      if (rd.entries.length > 0)
        this.guard('persist entries', () => this.disk.write({ kind: 'entries', entries: rd.entries }));
      if (rd.hardState !== undefined) this.disk.write({ kind: 'hardState', hardState: rd.hardState });
    }
    if (rd.entries.length > 0) checker.afterAppend(this.id, this.disk.current, rd.entries);
    if (rd.hardState !== undefined) checker.observeHardStateWrite(this.id, this.disk.current);
    if (rd.mustSync || rd.snapshot !== undefined) {
      const token = this.nextSyncToken++;
      this.syncing = { token, ready: rd, coveredWrites: this.disk.pendingCount };
      this.host.scheduleSync(this, token);
      return;
    }
    this.finishReady(rd);
  }

  private finishReady(rd: Ready): void {
    const checker = this.host.checker;
    if (rd.messages.length > 0) this.host.send(this, rd.messages, false);
    if (rd.snapshot !== undefined) {
      const image = decodeImage(rd.snapshot.data);
      if (image.applied !== rd.snapshot.meta.index) {
        throw new InvariantViolationError(
          Invariant.CoreContract,
          `snapshot at ${rd.snapshot.meta.index} carries image at ${image.applied}`,
        );
      }
      checker.observeSnapshotInstall(this.id, image);
      this.sm = image;
      this.conf = cloneConf(rd.snapshot.meta.conf);
    }
    for (const rs of rd.readStates) this.host.onReadState(this, rs);
    for (const e of rd.committedEntries) {
      this.sm = checker.observeApply(this.id, e, this.disk.durable);
      let cc: ConfChange | undefined;
      if (e.type === EntryType.ConfChange) {
        cc = this.guard('decodeConfChange', () => decodeConfChange(e.data));
        const change = cc;
        this.conf = this.guard('applyConfChange', () => this.core!.applyConfChange(change));
      }
      this.host.onApplied(this, e, cc);
    }
    this.guard('advance', () => this.core!.advance());
  }

  private observe(): void {
    if (!this.running) return;
    const core = this.core!;
    const st = this.guard('status', () => core.status());
    const checker = this.host.checker;
    if (st.role !== this.lastRole || st.term !== this.lastTerm) {
      this.host.note(this, `role ${st.role} term ${st.term}`, [ROLE_CODE[st.role], st.term]);
      this.lastRole = st.role;
      this.lastTerm = st.term;
    }
    checker.observeRole(this.id, st.role, st.term);
    const commitBefore = this.lastCommit;
    checker.observeCommit(this.id, st.commit, st.term, this.storageCurrent ? this.disk.current : undefined);
    this.lastCommit = st.commit;
    if (st.role === 'leader' && st.commit > commitBefore) this.host.onLeaderCommit(this, st.commit, st.term);
    if (st.role === 'leader' && this.storageCurrent) checker.observeLeaderLog(this.id, st.term, this.disk.current);
  }
}
