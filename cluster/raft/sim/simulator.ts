import {
  type ConfChange,
  type Entry,
  type Message,
  MessageType,
  type NodeId,
  ProposalDroppedError,
  type RaftCore,
  type ReadState,
} from '../types.ts';
import { bootstrapImage } from './disk.ts';
import { InvariantViolationError, SimUsageError } from './errors.ts';
import { EventQueue } from './event-queue.ts';
import { Invariant } from './invariants.ts';
import { SimNetwork } from './network.ts';
import { SimPrng } from './prng.ts';
import { SafetyChecker, termAt } from './safety-checker.ts';
import { type CoreFactory, type NodeHost, NodeState, SimNode } from './sim-node.ts';
import { contentOf, EMPTY_IMAGE, encodeImage } from './state-machine.ts';
import { drawSwarmConfig, type SwarmConfig, type UnsafeSwitchName } from './swarm.ts';
import { Trace } from './trace.ts';

/**
 * The deterministic cluster simulator (TigerBeetle VOPR / Kafka
 * RaftEventSimulationTest style). One seeded PRNG makes every choice, one
 * event queue ordered by (virtual time, sequence) drives every node, and every
 * event is followed by the safety checks. A run has two phases:
 *
 *  1. faults: crashes (losing unsynced writes), partitions, slow disks, lossy
 *     and duplicating networks, membership changes, transfers, compaction;
 *  2. liveness: heal everything, restart every crashed node, stop faults, and
 *     require a leader plus a new entry applied on a majority in bounded time.
 */

export interface SimOptions {
  seed: number;
  unsafe?: UnsafeSwitchName | undefined;
  /** Lines of trace kept for the failure report. */
  traceLinesMax?: number;
  /** Print every trace line as it happens. */
  onTraceLine?: ((line: string) => void) | undefined;
  /** Adjust the drawn configuration (tests use it to shorten runs). */
  tweak?: ((cfg: SwarmConfig) => void) | undefined;
  makeCore: CoreFactory;
}

export interface SimViolation {
  invariant: string;
  message: string;
  atMs: number;
}

export interface SimStats {
  events: number;
  messagesSent: number;
  messagesDelivered: number;
  proposals: number;
  appliedIndexMax: number;
  committedIndexMax: number;
  crashes: number;
  partitions: number;
  confChanges: number;
  compactions: number;
  /** Snapshot messages sent by leaders (followers behind a compacted log). */
  snapshotsSent: number;
  /** TimeoutNow messages: leadership transfers that reached the handover. */
  transfersStarted: number;
  /** Distinct ConfChange entries applied somewhere (so committed). */
  confChangesApplied: number;
  readsAnswered: number;
  /** ReadStates that surfaced on a node other than the requester (see BUGS.md #3). */
  readsMisrouted: number;
  leaderTerms: number;
  virtualMs: number;
  livenessMs: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  traceHash: string;
  violation?: SimViolation;
  stats: SimStats;
  config: SwarmConfig;
  traceTail: string[];
  replayCommand: string;
}

type SimEvent =
  | { k: 'tick'; node: NodeId; inc: number }
  | { k: 'deliver'; msg: Message; fromInc: number }
  /** The transport tells the sender whether a snapshot got through (etcd's ReportSnapshot). */
  | { k: 'snapStatus'; from: NodeId; to: NodeId; fromInc: number; ok: boolean }
  | { k: 'sync'; node: NodeId; inc: number; token: number }
  | { k: 'crash'; node: NodeId; inc: number }
  | { k: 'restart'; node: NodeId }
  | { k: 'fault' }
  | { k: 'heal' }
  | { k: 'diskNormal'; node: NodeId }
  | { k: 'client' }
  | { k: 'retire'; node: NodeId }
  | { k: 'resume'; node: NodeId; inc: number }
  | { k: 'liveness' };

const EVENT_CODE: Record<SimEvent['k'], number> = {
  tick: 1,
  deliver: 2,
  sync: 3,
  crash: 4,
  restart: 5,
  fault: 6,
  heal: 7,
  diskNormal: 8,
  client: 9,
  retire: 10,
  liveness: 11,
  snapStatus: 12,
  resume: 13,
};

const MSG_NAME = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));

function describeMessage(m: Message): string {
  const name = MSG_NAME.get(m.type) ?? `type${m.type}`;
  let s = `${name} ${m.from}->${m.to} t${m.term}`;
  if (m.type === MessageType.App) s += ` prev=${m.index}/${m.logTerm} n=${m.entries.length} commit=${m.commit}`;
  else if (m.type === MessageType.AppResp)
    s += ` idx=${m.index}${m.reject ? ` REJECT hint=${m.rejectHint}/${m.rejectHintTerm}` : ''}`;
  else if (m.type === MessageType.Vote || m.type === MessageType.PreVote) s += ` last=${m.index}/${m.logTerm}`;
  else if (m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) s += m.reject ? ' REJECT' : ' GRANT';
  else if (m.type === MessageType.Snapshot) s += ` snap=${m.snapshot?.meta.index}/${m.snapshot?.meta.term}`;
  else if (m.type === MessageType.Heartbeat) s += ` commit=${m.commit}`;
  return s;
}

export function replayCommand(seed: number, unsafe: UnsafeSwitchName | undefined): string {
  return `npm run sim -- --seed ${seed}${unsafe === undefined ? '' : ` --unsafe ${unsafe}`}`;
}

/** Limits of one run: exceeding one is a SimLimitError, never a hang. */
const EVENTS_PENDING_MAX = 200_000;
const EVENTS_PER_RUN_MAX = 3_000_000;
const INFLIGHT_PER_NODE_MAX = 2_000;
const READS_PER_RUN_MAX = 5_000;

export class Simulation implements NodeHost {
  readonly checker = new SafetyChecker();
  readonly cfg: SwarmConfig;
  private readonly opts: SimOptions;
  private readonly root: SimPrng;
  private readonly rnd: SimPrng;
  private readonly diskRnd: SimPrng;
  private readonly queue = new EventQueue<SimEvent>(EVENTS_PENDING_MAX);
  private readonly net: SimNetwork;
  private readonly trace: Trace;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly slowDiskFactor = new Map<NodeId, number>();
  /** Each process's timer runs a little fast or slow (clock drift). */
  private readonly tickPeriodMs = new Map<NodeId, number>();
  private readonly inflightTo = new Map<NodeId, number>();
  private nowMs = 0;
  private phase: 'faults' | 'liveness' = 'faults';
  private livenessStartMs = 0;
  private nextValue = 1;
  private readonly probeContents = new Set<string>();
  private probeIndex = 0;
  private readonly terms = new Set<number>();
  private readonly confIndexesApplied = new Set<number>();
  private readonly reads = new Map<string, { committedAtRequest: number; node: NodeId }>();
  readonly stats: SimStats = {
    events: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    proposals: 0,
    appliedIndexMax: 0,
    committedIndexMax: 0,
    crashes: 0,
    partitions: 0,
    confChanges: 0,
    compactions: 0,
    snapshotsSent: 0,
    transfersStarted: 0,
    confChangesApplied: 0,
    readsAnswered: 0,
    readsMisrouted: 0,
    leaderTerms: 0,
    virtualMs: 0,
    livenessMs: 0,
  };

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.root = new SimPrng(opts.seed);
    this.cfg = drawSwarmConfig(this.root.fork(1), opts.unsafe);
    opts.tweak?.(this.cfg);
    this.rnd = this.root.fork(2);
    this.diskRnd = this.root.fork(3);
    this.net = new SimNetwork(this.root.fork(4), this.cfg.network);
    this.trace = new Trace(opts.traceLinesMax ?? 60, opts.onTraceLine);
    const cfg = this.cfg;
    const initialVoters = Array.from({ length: cfg.voters }, (_, i) => i + 1);
    const bootstrap = bootstrapImage(
      { voters: initialVoters, learners: [], votersOutgoing: [] },
      encodeImage(EMPTY_IMAGE),
    );
    const nodePrngs = this.root.fork(5);
    const driftRnd = this.root.fork(6);
    const driftMaxMs = Math.floor((cfg.tickMs * cfg.tickDriftPercentMax) / 100);
    for (let id = 1; id <= cfg.voters + cfg.spareNodes; id++) {
      this.tickPeriodMs.set(id, Math.max(1, cfg.tickMs + driftRnd.between(-driftMaxMs, driftMaxMs)));
    }
    for (let id = 1; id <= cfg.voters + cfg.spareNodes; id++) {
      this.nodes.set(
        id,
        new SimNode({
          id,
          host: this,
          makeCore: opts.makeCore,
          baseConfig: {
            electionTicks: cfg.electionTicks,
            heartbeatTicks: cfg.heartbeatTicks,
            preVote: cfg.preVote,
            checkQuorum: cfg.checkQuorum,
            maxMsgBytes: cfg.maxMsgBytes,
            maxInflightMsgs: cfg.maxInflightMsgs,
            maxInflightBytes: cfg.maxInflightBytes,
            maxUncommittedBytes: cfg.maxUncommittedBytes,
            readOnly: 'safe',
            unsafe: cfg.unsafe,
          },
          prng: nodePrngs.fork(id),
          bootstrap,
          limits: {
            stepWhileSyncing: cfg.stepWhileSyncing,
            inboxMessagesMax: 4096,
            pendingTicksMax: 4 * cfg.electionTicks,
            pendingDiskWritesMax: 200_000,
            readyRoundsMax: 100_000,
          },
        }),
      );
    }
  }

  run(): SimResult {
    let violation: SimViolation | undefined;
    try {
      for (const id of this.ids()) if (id <= this.cfg.voters) this.startNode(id);
      this.queue.push(this.rnd.between(0, this.cfg.faultIntervalMs), { k: 'fault' });
      this.queue.push(this.rnd.between(0, this.cfg.clientIntervalMs), { k: 'client' });
      this.queue.push(this.cfg.faultPhaseMs, { k: 'liveness' });
      this.loop();
    } catch (err) {
      if (err instanceof InvariantViolationError) {
        violation = { invariant: err.invariant, message: err.message, atMs: this.nowMs };
      } else {
        const e = err as Error;
        violation = {
          invariant: 'simulator-error',
          message: `${e.name}: ${e.message}\n${e.stack ?? ''}`,
          atMs: this.nowMs,
        };
      }
      this.record([99], () => `VIOLATION ${violation!.message.split('\n')[0]}`);
    }
    this.stats.events = this.trace.eventCount;
    this.stats.virtualMs = this.nowMs;
    this.stats.appliedIndexMax = this.checker.appliedIndexMax;
    this.stats.committedIndexMax = this.checker.committedIndexMax;
    this.stats.leaderTerms = this.terms.size;
    const result: SimResult = {
      seed: this.opts.seed,
      ok: violation === undefined,
      traceHash: this.trace.hash(),
      stats: this.stats,
      config: this.cfg,
      traceTail: violation === undefined ? [] : this.trace.tail(this.opts.traceLinesMax ?? 60),
      replayCommand: replayCommand(this.opts.seed, this.opts.unsafe),
    };
    if (violation !== undefined) result.violation = violation;
    return result;
  }

  private ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  private node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new SimUsageError(`no node ${id}`);
    return n;
  }

  private loop(): void {
    const deadlineMs = this.cfg.faultPhaseMs + this.cfg.livenessBudgetMs;
    for (let steps = 0; steps < EVENTS_PER_RUN_MAX; steps++) {
      const item = this.queue.pop();
      if (item === undefined) throw new SimUsageError('event queue ran dry (ticks always reschedule)');
      this.nowMs = item.atMs;
      if (this.nowMs > deadlineMs) {
        throw new InvariantViolationError(
          Invariant.Liveness,
          `no leader committed and applied a new entry on a majority within ${this.cfg.livenessBudgetMs}ms after healing (${this.livenessReport()})`,
        );
      }
      this.handle(item.event);
      if (this.phase === 'liveness' && this.checkLiveness()) {
        this.stats.livenessMs = this.nowMs - this.livenessStartMs;
        this.record([100], () => `liveness reached after ${this.stats.livenessMs}ms`);
        return;
      }
    }
    throw new SimUsageError(`run exceeded ${EVENTS_PER_RUN_MAX} events`);
  }

  private record(fields: readonly number[], format: () => string): void {
    this.trace.record(this.nowMs, fields, format);
  }

  private handle(ev: SimEvent): void {
    const code = EVENT_CODE[ev.k];
    switch (ev.k) {
      case 'tick': {
        const n = this.node(ev.node);
        if (n.incarnation !== ev.inc || !n.running) return;
        this.record([code, ev.node], () => `tick ${ev.node}`);
        n.tick();
        this.queue.push(this.nowMs + (this.tickPeriodMs.get(ev.node) ?? this.cfg.tickMs), ev);
        return;
      }
      case 'deliver': {
        const m = ev.msg;
        this.inflightTo.set(m.to, (this.inflightTo.get(m.to) ?? 1) - 1);
        const n = this.nodes.get(m.to);
        const ok = n?.running === true && this.net.canDeliver(m.from, m.to);
        this.record(
          [
            code,
            m.type,
            m.from,
            m.to,
            m.term,
            m.index,
            m.logTerm,
            m.entries.length,
            m.commit,
            m.reject ? 1 : 0,
            ok ? 1 : 0,
          ],
          () => `${ok ? 'deliver' : 'drop   '} ${describeMessage(m)}`,
        );
        const received = ok && n.receive(m);
        if (received) this.stats.messagesDelivered++;
        if (m.type === MessageType.Snapshot) {
          this.queue.push(this.nowMs, { k: 'snapStatus', from: m.from, to: m.to, fromInc: ev.fromInc, ok: received });
        }
        return;
      }
      case 'snapStatus': {
        const n = this.node(ev.from);
        if (n.incarnation !== ev.fromInc || !n.running) return;
        this.record(
          [code, ev.from, ev.to, ev.ok ? 1 : 0],
          () => `report snapshot ${ev.from}->${ev.to} ${ev.ok ? 'sent' : 'FAILED'}`,
        );
        this.tryAct(n, 'reportSnapshot', (c) => c.reportSnapshot(ev.to, ev.ok));
        return;
      }
      case 'sync': {
        const n = this.node(ev.node);
        if (n.incarnation !== ev.inc || !n.running) return;
        this.record([code, ev.node, ev.token], () => `fsync done ${ev.node} #${ev.token}`);
        n.syncDone(ev.token);
        return;
      }
      case 'crash': {
        const n = this.node(ev.node);
        // Crashes scheduled during the fault phase do not fire once it is over.
        if (n.incarnation !== ev.inc || !n.running || this.phase !== 'faults') return;
        this.crash(n);
        return;
      }
      case 'restart': {
        const n = this.node(ev.node);
        if (n.state !== NodeState.Crashed) return;
        this.record([code, ev.node], () => `restart ${ev.node}`);
        this.startNode(ev.node);
        return;
      }
      case 'fault':
        if (this.phase !== 'faults') return;
        this.record([code], () => 'fault step');
        this.injectFault();
        this.queue.push(this.nowMs + this.rnd.between(1, 2 * this.cfg.faultIntervalMs), ev);
        return;
      case 'heal':
        this.record([code], () => 'heal network');
        this.net.heal();
        return;
      case 'diskNormal':
        this.record([code, ev.node], () => `disk ${ev.node} back to normal`);
        this.slowDiskFactor.delete(ev.node);
        return;
      case 'client':
        this.record([code], () => 'client step');
        this.clientStep();
        this.queue.push(this.nowMs + this.rnd.between(1, 2 * this.cfg.clientIntervalMs), ev);
        return;
      case 'retire': {
        const n = this.node(ev.node);
        if (n.state === NodeState.Retired) return;
        this.record([code, ev.node], () => `retire ${ev.node} (removed from the configuration)`);
        n.retire();
        return;
      }
      case 'resume': {
        const n = this.node(ev.node);
        if (n.incarnation !== ev.inc || !n.isPaused) return;
        this.record([code, ev.node], () => `resume ${ev.node}`);
        n.resume();
        return;
      }
      case 'liveness':
        this.startLivenessPhase();
        return;
    }
  }

  // ---- node lifecycle -------------------------------------------------------

  private startNode(id: NodeId): void {
    const n = this.node(id);
    n.start();
    this.queue.push(this.nowMs + 1 + this.rnd.nextInt(this.cfg.tickMs), { k: 'tick', node: id, inc: n.incarnation });
  }

  private crash(n: SimNode): void {
    const pending = n.disk.pendingCount;
    const keep = this.cfg.faults.crashKeepsPrefix ? this.rnd.between(0, pending) : 0;
    const lost = n.crash(keep);
    this.stats.crashes++;
    this.record([EVENT_CODE.crash, n.id, lost], () => `CRASH ${n.id} (lost ${lost} unsynced writes)`);
    if (this.phase === 'faults') {
      this.queue.push(this.nowMs + this.rnd.between(1, this.cfg.faults.restartDelayMaxMs), {
        k: 'restart',
        node: n.id,
      });
    }
  }

  // ---- NodeHost -------------------------------------------------------------

  send(from: SimNode, messages: readonly Message[], early: boolean): void {
    for (const m of messages) {
      if (m.from !== from.id) {
        throw new InvariantViolationError(Invariant.CoreContract, `node ${from.id} emitted a message from ${m.from}`);
      }
      this.stats.messagesSent++;
      if (m.type === MessageType.Snapshot) this.stats.snapshotsSent++;
      else if (m.type === MessageType.TimeoutNow) this.stats.transfersStarted++;
      const delays = this.net.route(m.from, m.to, this.nowMs);
      this.record(
        [20, m.type, m.from, m.to, m.term, m.index, delays.length, early ? 1 : 0],
        () => `send${early ? '(early)' : ''} ${describeMessage(m)} copies=${delays.length}`,
      );
      if (delays.length === 0 && m.type === MessageType.Snapshot) {
        // A lost snapshot stream fails at the sender after a transport timeout.
        const timeoutMs = 2 * this.cfg.network.delayMaxMs + 1;
        this.queue.push(this.nowMs + timeoutMs, {
          k: 'snapStatus',
          from: m.from,
          to: m.to,
          fromInc: from.incarnation,
          ok: false,
        });
      }
      for (const d of delays) {
        const inflight = this.inflightTo.get(m.to) ?? 0;
        if (inflight >= INFLIGHT_PER_NODE_MAX) break; // the link's buffer is full: the message is lost
        this.inflightTo.set(m.to, inflight + 1);
        this.queue.push(this.nowMs + d, { k: 'deliver', msg: m, fromInc: from.incarnation });
      }
    }
  }

  scheduleSync(node: SimNode, token: number): void {
    let base = this.diskRnd.between(this.cfg.fsyncMinMs, this.cfg.fsyncMaxMs);
    if (this.phase === 'faults' && this.cfg.fsyncFaultExtraMaxMs > 0)
      base += this.diskRnd.between(0, this.cfg.fsyncFaultExtraMaxMs);
    const delay = base * (this.slowDiskFactor.get(node.id) ?? 1);
    this.queue.push(this.nowMs + delay, { k: 'sync', node: node.id, inc: node.incarnation, token });
    if (this.phase === 'faults' && this.rnd.chancePerMille(this.cfg.faults.crashDuringSyncPerMille)) {
      // Crash strictly before the fsync completes: the Ready's writes are lost (unless a prefix survives).
      const at = delay > 0 ? this.rnd.between(0, delay - 1) : 0;
      if (delay > 0) this.queue.push(this.nowMs + at, { k: 'crash', node: node.id, inc: node.incarnation });
    }
  }

  onApplied(node: SimNode, e: Entry, cc: ConfChange | undefined): void {
    if (this.probeIndex === 0 && this.probeContents.has(contentOf(e))) this.probeIndex = e.index;
    if (cc === undefined) return;
    if (!this.confIndexesApplied.has(e.index)) {
      this.confIndexesApplied.add(e.index);
      this.stats.confChangesApplied++;
    }
    const voters = node.confState.voters.join(',');
    this.record(
      [30, node.id, e.index],
      () => `apply ${node.id} conf change @${e.index} ${JSON.stringify(cc.changes)} -> voters ${voters}`,
    );
    for (const c of cc.changes) {
      // Once a removal is applied (so committed), the removed server is shut down after a while.
      if (c.type === 'removeVoter') {
        const target = this.nodes.get(c.nodeId);
        if (target !== undefined && target.state !== NodeState.Retired) {
          this.queue.push(this.nowMs + this.rnd.between(0, 200), { k: 'retire', node: c.nodeId });
        }
      }
    }
  }

  note(node: SimNode, what: string, fields: readonly number[]): void {
    this.record([40, node.id, ...fields], () => `node ${node.id}: ${what}`);
    if (what.startsWith('role leader')) {
      this.terms.add(fields[1] ?? 0);
      if (this.phase === 'faults' && this.rnd.chancePerMille(this.cfg.faults.leaderIsolatePerMille)) {
        // The new leader keeps taking proposals it cannot replicate: entries of its term that others lack.
        this.net.isolate(node.id, this.liveIds());
        const forMs = this.rnd.between(20, 20 * this.cfg.tickMs);
        this.record([54, node.id, forMs], () => `PARTITION isolate new leader ${node.id} for ${forMs}ms`);
        this.queue.push(this.nowMs + forMs, { k: 'heal' });
      }
      if (this.phase === 'faults' && this.rnd.chancePerMille(this.cfg.faults.leaderKillPerMille)) {
        const delay = this.rnd.between(0, 4 * this.cfg.tickMs * this.cfg.heartbeatTicks);
        this.queue.push(this.nowMs + delay, { k: 'crash', node: node.id, inc: node.incarnation });
      }
    }
  }

  onLeaderCommit(node: SimNode, commit: number, term: number): void {
    if (this.phase !== 'faults') return;
    const f = this.cfg.faults;
    // Figure 8's moment: the commit index now covers an entry of an earlier term.
    const committedTerm = termAt(node.disk.current, commit);
    const oldTerm = committedTerm !== undefined && committedTerm < term;
    const perMille = oldTerm
      ? Math.max(f.leaderKillOnCommitPerMille, f.leaderKillOnOldTermCommitPerMille)
      : f.leaderKillOnCommitPerMille;
    if (!this.rnd.chancePerMille(perMille)) return;
    const delay = this.rnd.between(0, oldTerm ? 1 : 2 * this.cfg.tickMs);
    this.record(
      [41, node.id, commit, oldTerm ? 1 : 0],
      () => `leader ${node.id} committed ${commit}${oldTerm ? " (an earlier term's entry)" : ''}: crash in ${delay}ms`,
    );
    this.queue.push(this.nowMs + delay, { k: 'crash', node: node.id, inc: node.incarnation });
  }

  // ---- faults ---------------------------------------------------------------

  private runningIds(): NodeId[] {
    return this.ids().filter((id) => this.node(id).running);
  }

  /** Running and not paused: able to take a client or operator action. */
  private availableIds(): NodeId[] {
    return this.ids().filter((id) => this.node(id).available);
  }

  private liveIds(): NodeId[] {
    return this.ids().filter((id) => {
      const s = this.node(id).state;
      return s === NodeState.Running || s === NodeState.Crashed;
    });
  }

  private injectFault(): void {
    const f = this.cfg.faults;
    const kinds: string[] = [];
    if (f.crash) kinds.push('crash', 'crash');
    if (f.partition) kinds.push('partition', 'partition');
    if (f.slowDisk) kinds.push('slowDisk');
    if (f.electionStorm) kinds.push('electionStorm', 'electionStorm');
    if (f.pause) kinds.push('pause');
    if (kinds.length === 0) return;
    const kind = this.rnd.pick(kinds);
    const running = this.runningIds();
    if (kind === 'crash') {
      // Keep at least one node up so the run keeps producing events worth checking.
      if (running.length <= 1) return;
      const leader = this.leaders()[0];
      const target = leader !== undefined && this.rnd.bool() ? leader.id : this.rnd.pick(running);
      this.crash(this.node(target));
    } else if (kind === 'partition') {
      this.partition();
    } else if (kind === 'electionStorm' && this.availableIds().length >= 2) {
      const available = this.availableIds();
      const a = this.rnd.pick(available);
      const b = this.rnd.pick(available.filter((id) => id !== a));
      this.record([52, a, b], () => `ELECTION STORM ${a} and ${b} campaign`);
      this.tryAct(this.node(a), 'campaign', (c) => c.campaign());
      this.tryAct(this.node(b), 'campaign', (c) => c.campaign());
    } else if (kind === 'pause') {
      const candidates = running.filter((id) => !this.node(id).isPaused);
      if (candidates.length === 0) return;
      const leader = this.leaders()[0];
      const id = leader !== undefined && this.rnd.bool() ? leader.id : this.rnd.pick(candidates);
      const n = this.node(id);
      // Long enough, often, for the others to elect a new leader meanwhile.
      const forMs = this.rnd.between(10, 3 * this.cfg.electionTicks * this.cfg.tickMs);
      n.pause();
      this.record([53, id, forMs], () => `PAUSE ${id} for ${forMs}ms`);
      this.queue.push(this.nowMs + forMs, { k: 'resume', node: id, inc: n.incarnation });
    } else if (kind === 'slowDisk' && running.length > 0) {
      const id = this.rnd.pick(running);
      const factor = this.rnd.pick([5, 20, 50]);
      this.slowDiskFactor.set(id, factor);
      this.record([50, id, factor], () => `disk ${id} slow x${factor}`);
      this.queue.push(this.nowMs + this.rnd.between(50, 1000), { k: 'diskNormal', node: id });
    }
  }

  private partition(): void {
    const ids = this.liveIds();
    if (ids.length < 2) return;
    this.net.heal();
    this.stats.partitions++;
    const shape = this.rnd.between(0, this.cfg.faults.asymmetricPartition ? 5 : 3);
    const leader = this.leaders()[0];
    let text: string;
    if (shape === 0) {
      const victim = leader !== undefined && this.rnd.bool() ? leader.id : this.rnd.pick(ids);
      this.net.isolate(victim, ids);
      text = `isolate ${victim}`;
    } else if (shape === 1 || shape === 2) {
      const shuffled = [...ids];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = this.rnd.nextInt(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const cut = this.rnd.between(1, Math.floor(shuffled.length / 2));
      const minority = shuffled.slice(0, cut);
      const majority = shuffled.slice(cut);
      this.net.split(minority, majority);
      text = `split ${minority} | ${majority}`;
    } else if (shape === 3 && ids.length >= 3) {
      // Bridge (Jepsen): two halves that only one node can talk to.
      const shuffled = [...ids];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = this.rnd.nextInt(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const bridge = shuffled[0]!;
      const rest = shuffled.slice(1);
      const half = Math.ceil(rest.length / 2);
      this.net.split(rest.slice(0, half), rest.slice(half));
      text = `bridge ${bridge} between ${rest.slice(0, half)} | ${rest.slice(half)}`;
    } else {
      // Asymmetric: a few one-way cuts (a hears b but b does not hear a).
      const cuts: string[] = [];
      const count = this.rnd.between(1, ids.length);
      for (let i = 0; i < count; i++) {
        const a = this.rnd.pick(ids);
        const b = this.rnd.pick(ids);
        this.net.cutOneWay(a, b);
        if (a !== b) cuts.push(`${a}-x>${b}`);
      }
      text = `one-way cuts ${cuts.join(' ')}`;
    }
    this.record([51, this.net.cutCount], () => `PARTITION ${text}`);
    this.queue.push(this.nowMs + this.rnd.between(20, 1000), { k: 'heal' });
  }

  private startLivenessPhase(): void {
    this.phase = 'liveness';
    this.livenessStartMs = this.nowMs;
    this.net.heal();
    this.net.setFaults({ ...this.cfg.network, lossPerMille: 0, duplicatePerMille: 0 });
    this.slowDiskFactor.clear();
    const restarted: NodeId[] = [];
    for (const n of this.nodes.values()) if (n.isPaused) n.resume();
    for (const id of this.ids()) {
      if (this.node(id).state === NodeState.Crashed) {
        this.startNode(id);
        restarted.push(id);
      }
    }
    this.record(
      [EVENT_CODE.liveness, restarted.length],
      () => `LIVENESS PHASE: healed, restarted [${restarted}], faults off`,
    );
  }

  // ---- workload -------------------------------------------------------------

  private leaders(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.available && n.raft().status().role === 'leader') out.push(n);
    return out;
  }

  private nextValueBytes(probe: boolean): Uint8Array {
    const v = this.nextValue++;
    const pad = this.rnd.between(0, this.cfg.workload.valueBytesMax);
    const text = `${probe ? 'probe' : 'value'}-${v}-${'x'.repeat(pad)}`;
    return new TextEncoder().encode(text);
  }

  /** Runs a client/operator action; a dropped proposal is a normal outcome. */
  private tryAct(n: SimNode, what: string, fn: (core: RaftCore) => unknown): boolean {
    try {
      n.act(fn);
      this.record([60, n.id], () => `${what} at ${n.id}`);
      return true;
    } catch (err) {
      if (err instanceof InvariantViolationError) throw err;
      if (err instanceof ProposalDroppedError) {
        this.record([61, n.id], () => `${what} at ${n.id} dropped: ${err.message}`);
        return false;
      }
      const e = err as Error;
      throw new InvariantViolationError(Invariant.CoreContract, `node ${n.id} ${what} threw ${e.name}: ${e.message}`);
    }
  }

  private clientStep(): void {
    const leaders = this.leaders();
    const w = this.cfg.workload;
    if (this.phase === 'liveness') {
      const leader = leaders[0];
      const st = leader?.raft().status();
      if (
        leader !== undefined &&
        st !== undefined &&
        st.lastIndex - st.commit < this.cfg.workload.uncommittedEntriesMax
      ) {
        const data = this.nextValueBytes(true);
        this.probeContents.add(contentOf({ term: 0, index: 0, type: 0, data }));
        this.stats.proposals++;
        this.tryAct(leader, 'propose probe', (c) => c.propose(data));
      }
      return;
    }
    const roll = this.rnd.nextInt(100);
    if (roll >= 69 && roll < 75) {
      if (w.reads) this.requestRead();
      return;
    }
    if (roll < 69) {
      // Clients talk to whoever claims leadership, stale leaders included.
      if (leaders.length === 0) return;
      const leader = this.rnd.pick(leaders);
      const st = leader.raft().status();
      if (st.lastIndex - st.commit >= this.cfg.workload.uncommittedEntriesMax) return; // the client waits
      // A client batch: several proposals land in one Ready (and one fsync) at the leader.
      const batch = this.rnd.between(1, this.cfg.workload.proposalsPerStepMax);
      for (let i = 0; i < batch; i++) {
        const data = this.nextValueBytes(false);
        this.stats.proposals++;
        if (!this.tryAct(leader, 'propose', (c) => c.propose(data))) break;
      }
    } else if (roll < 87) {
      if (w.confChange && leaders.length > 0) this.changeMembership(this.rnd.pick(leaders));
    } else if (roll < 91) {
      if (w.transfer && leaders.length > 0) {
        const leader = this.rnd.pick(leaders);
        const voters = leader
          .raft()
          .status()
          .conf.voters.filter((v) => v !== leader.id);
        if (voters.length > 0) {
          const to = this.rnd.pick(voters);
          this.tryAct(leader, `transfer leadership to ${to}`, (c) => c.transferLeadership(to));
        }
      }
    } else if (roll < 96) {
      if (w.compaction) {
        const running = this.availableIds();
        if (running.length > 0) {
          const n = this.node(this.rnd.pick(running));
          const at = n.compact();
          if (at > 0) {
            this.stats.compactions++;
            this.record([62, n.id, at], () => `compact ${n.id} up to ${at}`);
          }
        }
      }
    } else if (w.campaign) {
      const running = this.availableIds();
      // One node, or two at the same instant (an election storm: likely the same term, split votes).
      const count = Math.min(running.length, this.rnd.between(1, 2));
      for (let i = 0; i < count; i++) {
        const n = this.node(this.rnd.pick(running));
        this.tryAct(n, 'campaign', (c) => c.campaign());
      }
    }
  }

  /** A linearizable read at a random node: its answer must cover everything committed by now. */
  private requestRead(): void {
    const available = this.availableIds();
    if (available.length === 0 || this.reads.size >= READS_PER_RUN_MAX) return;
    const n = this.node(this.rnd.pick(available));
    const id = this.reads.size + 1;
    const context = new TextEncoder().encode(`read-${id}`);
    const committedAtRequest = this.checker.committedIndexMax;
    if (this.tryAct(n, `read #${id} (committed so far ${committedAtRequest})`, (c) => c.readIndex(context))) {
      this.reads.set(`read-${id}`, { committedAtRequest, node: n.id });
    }
  }

  onReadState(node: SimNode, rs: ReadState): void {
    const key = new TextDecoder().decode(rs.context);
    const req = this.reads.get(key);
    this.record([70, node.id, rs.index], () => `read state ${node.id} ${key} at index ${rs.index}`);
    if (req === undefined) {
      throw new InvariantViolationError(
        Invariant.CoreContract,
        `node ${node.id} answered a read it was never asked (${key})`,
      );
    }
    if (req.node !== node.id) {
      // A misrouted answer (BUGS.md #3): the requester's application never sees it and its read is lost;
      // an application ignores contexts it did not issue, so this is not a safety violation.
      this.stats.readsMisrouted++;
      return;
    }
    this.stats.readsAnswered++;
    if (rs.index < req.committedAtRequest) {
      throw new InvariantViolationError(
        Invariant.ReadIndexLinearizable,
        `node ${node.id} read ${key} at index ${rs.index}, but index ${req.committedAtRequest} was committed before the read was requested`,
      );
    }
  }

  /** One single-server step, keeping at least three voters. */
  private changeMembership(leader: SimNode): void {
    const conf = leader.raft().status().conf;
    if (conf.votersOutgoing.length > 0) return;
    const maxVoters = this.cfg.voters + 2;
    const unstarted = this.ids().filter((id) => this.node(id).state === NodeState.Unstarted);
    let cc: ConfChange | undefined;
    const learner = conf.learners[0];
    const choice = this.rnd.nextInt(3);
    if (learner !== undefined && choice === 0) {
      cc = { changes: [{ type: 'addVoter', nodeId: learner }] };
    } else if (unstarted.length > 0 && conf.voters.length < maxVoters && choice !== 2) {
      const id = unstarted[0]!;
      cc = { changes: [{ type: this.rnd.bool() ? 'addLearner' : 'addVoter', nodeId: id }] };
      this.startNode(id);
    } else if (conf.voters.length > 3) {
      const candidates = conf.voters.filter((v) => v !== leader.id);
      if (candidates.length > 0) cc = { changes: [{ type: 'removeVoter', nodeId: this.rnd.pick(candidates) }] };
    }
    if (cc === undefined) return;
    const change = cc;
    if (
      this.tryAct(leader, `propose conf change ${JSON.stringify(change.changes)}`, (c) => c.proposeConfChange(change))
    ) {
      this.stats.confChanges++;
    }
  }

  // ---- liveness -------------------------------------------------------------

  private checkLiveness(): boolean {
    if (this.probeIndex === 0) return false;
    for (const leader of this.leaders()) {
      const st = leader.raft().status();
      const voters = st.conf.voters;
      let have = 0;
      for (const v of voters) {
        const n = this.nodes.get(v);
        if (n?.running && n.appliedImage.applied >= this.probeIndex) have++;
      }
      if (have * 2 > voters.length) return true;
    }
    return false;
  }

  private livenessReport(): string {
    const parts: string[] = [];
    for (const n of this.nodes.values()) {
      if (!n.running) {
        parts.push(`${n.id}:${['unstarted', 'running', 'crashed', 'retired'][n.state]}`);
        continue;
      }
      const st = n.raft().status();
      let text = `${n.id}:${st.role}/t${st.term}/commit${st.commit}/applied${n.appliedImage.applied}/last${st.lastIndex}`;
      if (st.progress !== undefined) {
        const prs = [...st.progress].map(([id, p]) => `${id}=${p.state}:m${p.match}:n${p.next}`);
        text += `[${prs.join(' ')}]`;
      }
      parts.push(text);
    }
    return `probe@${this.probeIndex || 'none'}; ${parts.join(' ')}`;
  }
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
