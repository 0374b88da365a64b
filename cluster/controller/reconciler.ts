/**
 * ControllerReconciler: on the controller leader only, turns "broker dead
 * longer than deadBrokerReassignAfterMs" into ReassignPartition commands from
 * placement's re-replication plan. Each command names the partition epoch it
 * was planned against, so a plan made from a stale view is rejected at apply
 * instead of undoing a newer assignment.
 *
 * Passes run one at a time, on membership changes, on gaining leadership and
 * every checkIntervalMs (a broker crosses the threshold without any event).
 */
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { planReReplication } from '../placement/rereplicate.ts';
import type { NodeId } from '../raft/types.ts';
import { ControllerOp } from './commands.ts';
import type { Controller } from './controller.ts';
import type { MembershipSource } from './membership-source.ts';
import { partitionReplicas } from './metadata.ts';

export interface ControllerReconcilerOptions {
  controller: Controller;
  membership: MembershipSource;
  /** A broker dead this long has its replicas moved to live brokers. */
  deadBrokerReassignAfterMs: number;
  /** The clock MemberStatus.sinceMs is on. Default Date.now. */
  nowMs?: () => number;
  /** Default min(1000, deadBrokerReassignAfterMs / 2). */
  checkIntervalMs?: number;
  /** Reassignments proposed per pass (the rest wait for the next pass). */
  movesPerPassMax?: number;
  /** Budget of one proposal or read. */
  requestTimeoutMs?: number;
}

export interface ReconcilerStats {
  passes: number;
  movesProposed: number;
  movesApplied: number;
  movesRejected: number;
  /** Partitions last seen with a dead replica and no live broker to replace it. */
  stuckPartitions: number;
  errors: number;
}

export interface PassResult {
  skipped?: 'not-leader' | 'stopped';
  proposed: number;
  applied: number;
}

export class ControllerReconciler {
  readonly stats: ReconcilerStats = {
    passes: 0,
    movesProposed: 0,
    movesApplied: 0,
    movesRejected: 0,
    stuckPartitions: 0,
    errors: 0,
  };
  private readonly c: Controller;
  private readonly membership: MembershipSource;
  private readonly thresholdMs: number;
  private readonly nowMs: () => number;
  private readonly checkIntervalMs: number;
  private readonly movesPerPassMax: number;
  private readonly requestTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private running: Promise<PassResult> | undefined;
  private again = false;
  private stopped = true;
  private abort = new AbortController();

  constructor(o: ControllerReconcilerOptions) {
    if (!(o.deadBrokerReassignAfterMs >= 0)) throw new RangeError('deadBrokerReassignAfterMs must be >= 0');
    this.c = o.controller;
    this.membership = o.membership;
    this.thresholdMs = o.deadBrokerReassignAfterMs;
    this.nowMs = o.nowMs ?? Date.now;
    this.checkIntervalMs =
      o.checkIntervalMs ?? Math.max(10, Math.min(1000, Math.floor(o.deadBrokerReassignAfterMs / 2)));
    this.movesPerPassMax = o.movesPerPassMax ?? 64;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 5000;
    if (!(this.checkIntervalMs >= 1) || !(this.movesPerPassMax >= 1)) throw new RangeError('reconciler: bad bounds');
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.unsubscribe = [
      this.membership.onChange(() => this.trigger()),
      this.c.onLeaderChange((isLeader) => {
        if (isLeader) this.trigger();
      }),
    ];
    this.timer = setInterval(() => this.trigger(), this.checkIntervalMs);
    this.trigger();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** Requests a pass (coalesced: at most one runs, at most one more is queued). */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.reconcileNow().catch(() => undefined);
  }

  /** Runs one pass now (or joins the one running); works without start() too. */
  reconcileNow(): Promise<PassResult> {
    if (this.running) return this.running;
    const run = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.trigger();
      }
    });
    this.running = run;
    return run;
  }

  /** Brokers dead for at least the threshold, per the membership view. */
  deadBrokers(): NodeId[] {
    const now = this.nowMs();
    return this.membership
      .members()
      .filter((m) => m.state === 'dead' && now - m.sinceMs >= this.thresholdMs)
      .map((m) => m.nodeId);
  }

  private async pass(): Promise<PassResult> {
    // Refused only after stop(): a reconciler never started may still run passes by hand (tools, tests).
    if (this.abort.signal.aborted) return { skipped: 'stopped', proposed: 0, applied: 0 };
    if (!this.c.isLeader) return { skipped: 'not-leader', proposed: 0, applied: 0 };
    this.stats.passes++;
    const signal = () => AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.requestTimeoutMs)]);
    let proposed = 0;
    let applied = 0;
    try {
      // A new leader may not have applied everything yet: plan from a linearizable view.
      const image = await this.c.read({ signal: signal() });
      const dead = this.deadBrokers();
      if (dead.length === 0) {
        this.stats.stuckPartitions = 0;
        return { proposed, applied };
      }
      const alive = new Set(
        this.membership
          .members()
          .filter((m) => m.state === 'alive')
          .map((m) => m.nodeId),
      );
      const registered = [...image.brokers.values()];
      const live = registered.filter((b) => alive.has(b.nodeId)).map((b) => ({ nodeId: b.nodeId, rack: b.rack }));
      const rackOf = new Map(registered.map((b) => [b.nodeId, b.rack] as const));
      // The image is live: pin each partition's epoch as planned, so a change in between rejects the move.
      const partitions = partitionReplicas(image);
      const plannedEpoch = new Map<string, number>();
      for (const t of image.topics.values()) {
        for (const p of t.partitions) plannedEpoch.set(`${t.name}/${p.partition}`, p.epoch);
      }
      const plan = planReReplication({
        partitions,
        live,
        dead,
        rackOf,
        movesMax: this.movesPerPassMax,
      });
      this.stats.stuckPartitions = plan.stuck.length;
      for (const m of plan.moves) {
        if (this.abort.signal.aborted || !this.c.isLeader) break;
        const partitionEpoch = plannedEpoch.get(`${m.topic}/${m.partition}`);
        if (partitionEpoch === undefined) continue;
        proposed++;
        this.stats.movesProposed++;
        try {
          await this.c.propose(
            {
              op: ControllerOp.ReassignPartition,
              topic: m.topic,
              partition: m.partition,
              replicas: m.to,
              partitionEpoch,
            },
            { signal: signal() },
          );
          applied++;
          this.stats.movesApplied++;
        } catch (err) {
          if (err instanceof RaftbusError && err.code !== ErrorCode.NOT_CONTROLLER.code) {
            // Rejected at apply (stale epoch, broker gone): the next pass plans again from fresh state.
            this.stats.movesRejected++;
            continue;
          }
          throw err;
        }
      }
      return { proposed, applied };
    } catch {
      this.stats.errors++;
      return { proposed, applied };
    }
  }
}
