/**
 * A partition replicated by its own Raft group (node/broker/partition.ts
 * `Partition`). The group's log is the partition log (PartitionRaftStorage):
 * append() validates the batch, checks producer idempotence, proposes the
 * batch as ONE Raft entry and resolves when it commits (acks 'quorum'), when
 * the leader's own copy is durable ('leader') or at once ('none'). The high
 * watermark is the offset after the last applied (so committed and locally
 * durable) entry; reads never go past it.
 *
 * Idempotence: the leader answers only once it has applied every entry of
 * earlier terms (a ReadIndex round, which the core serves only after its
 * term's first entry commits), so its producer table plus its own in-flight
 * proposals is the whole truth. Checked again at apply, on every replica.
 */

import { AppendSignal } from '../../node/broker/append-signal.ts';
import { type AppendOptions, type Partition, requireLeader } from '../../node/broker/partition.ts';
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { checkAppendable } from '../../node/storage/append-check.ts';
import {
  type BatchHeader,
  NO_PRODUCER_ID,
  readBatchHeader,
  splitBatches,
  stampBatch,
} from '../../node/storage/batch.ts';
import type { AppendResult, ReadResult } from '../../node/storage/log.ts';
import type { RaftTuning } from '../raft/driver/create-core.ts';
import {
  GroupStoppedError,
  LeadershipLostError,
  NotLeaderError,
  ProposalOverwrittenError,
  RequestTimeoutError,
  TooManyPendingError,
} from '../raft/driver/errors.ts';
import type { RaftGroup, RaftGroupOptions } from '../raft/driver/raft-group.ts';
import type { MultiRaftHost } from '../raft/multiraft/multiraft-host.ts';
import { CompactedError, type NodeId, ProposalDroppedError } from '../raft/types.ts';
import { abortedMarker } from './control-batch.ts';
import type { PartitionRaftStorage } from './partition-raft-storage.ts';
import { type AppliedBatch, type ApplyResult, PartitionStateMachine } from './partition-state-machine.ts';

export interface ReplicatedPartitionOptions {
  topic: string;
  partition: number;
  nodeId: NodeId;
  host: MultiRaftHost;
  /** The partition's Raft group id on the host. */
  groupId: number;
  storage: PartitionRaftStorage;
  tuning?: RaftTuning;
  /** Driver settings (request timeout, pending bounds); snapshots are the storage's business. */
  group?: Pick<RaftGroupOptions, 'pendingProposalsMax' | 'requestTimeoutTicks' | 'onFatal'>;
  /** Largest batch accepted from a producer. */
  maxBatchBytes?: number;
}

interface Inflight {
  producerEpoch: number;
  baseSequence: number;
  lastSequence: number;
  promise: Promise<AppendResult>;
}

interface LeaderAckWaiter {
  batch: Uint8Array;
  appendTimeMs: number;
  resolve(r: AppendResult): void;
  reject(err: unknown): void;
}

const MAX_BATCH_BYTES_DEFAULT = 1024 * 1024;

export class ReplicatedPartition implements Partition {
  readonly topic: string;
  readonly partition: number;
  readonly nodeId: NodeId;
  readonly appended = new AppendSignal();
  readonly storage: PartitionRaftStorage;
  readonly group: RaftGroup;
  readonly stateMachine: PartitionStateMachine;
  private readonly host: MultiRaftHost;
  private readonly groupId: number;
  private readonly maxBatchBytes: number;
  /** This leader's proposals per producer id, in proposal order, until applied or leadership ends. */
  private readonly inflight = new Map<number, Inflight[]>();
  private readonly leaderAcks = new Set<LeaderAckWaiter>();
  /** Resolves once this leader has applied everything of earlier terms; reset on every role change. */
  private caughtUp: Promise<void> | undefined;
  private notifyScheduled = false;
  private closed = false;
  private readonly unsubscribeSynced: () => void;

  private constructor(o: ReplicatedPartitionOptions) {
    this.topic = o.topic;
    this.partition = o.partition;
    this.nodeId = o.nodeId;
    this.host = o.host;
    this.groupId = o.groupId;
    this.storage = o.storage;
    this.maxBatchBytes = o.maxBatchBytes ?? MAX_BATCH_BYTES_DEFAULT;
    this.stateMachine = new PartitionStateMachine(o.storage, (b) => this.onApplied(b));
    this.group = o.host.createGroup(o.groupId, {
      storage: o.storage,
      stateMachine: this.stateMachine,
      tuning: o.tuning,
      group: {
        ...o.group,
        // The storage's window base is the snapshot; the driver must not take its own.
        snapshotEntriesMax: 0,
        onRoleChange: () => this.onRoleChange(),
      },
    });
    this.unsubscribeSynced = o.storage.onSynced((durable) => this.releaseLeaderAcks(durable));
  }

  /** Creates the partition's group on `o.host` over `o.storage` (already opened). */
  static create(o: ReplicatedPartitionOptions): ReplicatedPartition {
    return new ReplicatedPartition(o);
  }

  get isLeader(): boolean {
    return !this.closed && this.group.role === 'leader';
  }

  get leaderId(): number {
    return this.group.leaderId === 0 ? -1 : this.group.leaderId;
  }

  get replicas(): readonly number[] {
    const c = this.group.confState;
    return [...c.voters, ...c.learners];
  }

  /** On the leader: voters whose replication is live; elsewhere the voters as configured. */
  get isr(): readonly number[] {
    const voters = this.group.confState.voters;
    if (this.group.role !== 'leader') return voters;
    const progress = this.group.status().progress;
    if (!progress) return voters;
    return voters.filter((id) => {
      if (id === this.nodeId) return true;
      const p = progress.get(id);
      return p?.recentActive === true && p.state === 'replicate';
    });
  }

  get startOffset(): number {
    return this.storage.log.startOffset;
  }

  /** Offset after the last applied entry: committed, and durable here. */
  get highWatermark(): number {
    return this.storage.offsetAfterApplied(this.group.appliedIndex);
  }

  get sizeBytes(): number {
    return this.storage.log.sizeBytes;
  }

  async append(batch: Uint8Array, options: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) throw new RaftbusError(ErrorCode.SHUTTING_DOWN);
    requireLeader(this);
    const header = checkAppendable(batch, 0, this.maxBatchBytes);
    const copy = options.handOver === true ? ownedBatch(batch) : batch.slice();
    stampBatch(copy, 0, 0, 0);
    await this.whenCaughtUp();
    requireLeader(this);
    const acks = options.acks ?? 'quorum';
    if (header.producerId === NO_PRODUCER_ID) return this.propose(copy, acks);

    const list = this.inflight.get(header.producerId);
    const dup = list?.find((x) => x.producerEpoch === header.producerEpoch && x.baseSequence === header.baseSequence);
    if (dup) return dup.promise;
    // A retry of a batch that is already applied, while later batches are in flight: answer with its offsets.
    const applied = this.stateMachine.producers.remembered(header);
    if (applied) return { baseOffset: applied.baseOffset, lastOffset: applied.lastOffset, appendTimeMs: Date.now() };
    const previous = list?.[list.length - 1];
    if (previous) {
      checkAfterInflight(header, previous);
    } else {
      const check = this.stateMachine.producers.check(header); // throws epoch / sequence errors
      if (check.kind === 'duplicate') {
        return { baseOffset: check.batch.baseOffset, lastOffset: check.batch.lastOffset, appendTimeMs: Date.now() };
      }
    }
    const promise = this.propose(copy, acks);
    const record: Inflight = {
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      lastSequence: header.baseSequence + header.recordCount - 1,
      promise,
    };
    const entries = list ?? [];
    entries.push(record);
    if (!list) this.inflight.set(header.producerId, entries);
    // A definite failure frees the slot for a retry; an unknown outcome keeps it until applied or deposed.
    promise.catch((err) => {
      if (isDefiniteFailure(err)) this.dropInflight(header.producerId, record);
    });
    return promise;
  }

  async read(fromOffset: number, maxBytes: number): Promise<ReadResult> {
    const r = await this.storage.log.read(fromOffset, maxBytes, this.highWatermark);
    const aborted = this.stateMachine.producers.abortedIn(fromOffset, r.nextOffset);
    return aborted.length === 0 ? r : maskAborted(r, aborted);
  }

  /**
   * Committed batches in [fromOffset, toOffset) for a follower installing a
   * snapshot (the partition storage's `fetchRange` on the follower side).
   */
  async fetchCommittedRange(fromOffset: number, toOffset: number, maxBytes: number): Promise<Uint8Array[]> {
    const r = await this.storage.log.read(fromOffset, maxBytes, Math.min(toOffset, this.highWatermark));
    return r.chunks;
  }

  async offsetForTimestamp(timestampMs: number): Promise<number | null> {
    const found = await this.storage.log.offsetForTimestamp(timestampMs);
    return found !== null && found < this.highWatermark ? found : null;
  }

  applyRetention(nowMs: number): Promise<number> {
    return this.storage.log.applyRetention(nowMs);
  }

  flush(): Promise<void> {
    return this.storage.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeSynced();
    this.failLeaderWaiters(new RaftbusError(ErrorCode.SHUTTING_DOWN));
    if (this.host.hasGroup(this.groupId)) this.host.removeGroup(this.groupId);
    await this.storage.closeAndWait();
    this.appended.notify();
  }

  // ---- internals ----

  private whenCaughtUp(): Promise<void> {
    // ReadIndex resolves once applied >= the commit index, which the core grants only after this
    // term's first entry committed: every entry of earlier terms is then applied here.
    this.caughtUp ??= this.group.readIndex().catch((err) => {
      this.caughtUp = undefined;
      throw mapRaftError(err, this);
    });
    return this.caughtUp;
  }

  private async propose(copy: Uint8Array, acks: AppendOptions['acks']): Promise<AppendResult> {
    const appendTimeMs = Date.now();
    const committed = this.group.propose(copy);
    if (acks === 'quorum') {
      let result: ApplyResult;
      try {
        result = (await committed) as ApplyResult;
      } catch (err) {
        throw mapRaftError(err, this);
      }
      return toAppendResult(result, appendTimeMs);
    }
    committed.catch(() => {}); // the outcome is not awaited at these levels
    if (acks === 'none') return { baseOffset: -1, lastOffset: -1, appendTimeMs };
    return new Promise<AppendResult>((resolve, reject) => {
      this.leaderAcks.add({ batch: copy, appendTimeMs, resolve, reject });
      // An immediate failure (not leader, dropped) is final for this level too.
      committed.catch((err) => {
        for (const w of this.leaderAcks) {
          if (w.batch === copy && readBatchHeader(copy).raftIndex === 0) {
            this.leaderAcks.delete(w);
            w.reject(mapRaftError(err, this));
          }
        }
      });
    });
  }

  /** acks 'leader': a batch stamped at an index the leader's log holds durably, still in its term. */
  private releaseLeaderAcks(durableIndex: number): void {
    for (const w of this.leaderAcks) {
      const h = readBatchHeader(w.batch);
      if (h.raftIndex === 0 || h.raftIndex > durableIndex) continue;
      let term: number;
      try {
        term = this.storage.term(h.raftIndex);
      } catch (err) {
        if (!(err instanceof CompactedError)) continue;
        term = h.term; // left the window: applied, so it is there
      }
      this.leaderAcks.delete(w);
      if (term !== h.term) {
        w.reject(new RaftbusError(ErrorCode.NOT_LEADER, this.notLeaderDetails()));
        continue;
      }
      w.resolve({
        baseOffset: h.baseOffset,
        lastOffset: h.baseOffset + h.recordCount - 1,
        appendTimeMs: w.appendTimeMs,
      });
    }
  }

  private onApplied(b: AppliedBatch): void {
    if (b.producerId !== NO_PRODUCER_ID) {
      const list = this.inflight.get(b.producerId);
      const rec = list?.find((x) => x.producerEpoch === b.producerEpoch && x.baseSequence === b.baseSequence);
      if (rec) this.dropInflight(b.producerId, rec);
    }
    // After the driver recorded the applied index (the high watermark reads it).
    if (!this.notifyScheduled) {
      this.notifyScheduled = true;
      queueMicrotask(() => {
        this.notifyScheduled = false;
        this.appended.notify();
      });
    }
  }

  private onRoleChange(): void {
    this.caughtUp = undefined;
    if (this.group.role !== 'leader') {
      this.inflight.clear();
      // Every follower's role change lands here (thousands at once when a node starts): the error,
      // with its stack trace, is built only when someone waits for it.
      if (this.leaderAcks.size > 0)
        this.failLeaderWaiters(new RaftbusError(ErrorCode.NOT_LEADER, this.notLeaderDetails()));
    }
    this.appended.notify();
  }

  private failLeaderWaiters(err: Error): void {
    for (const w of this.leaderAcks) w.reject(err);
    this.leaderAcks.clear();
  }

  private dropInflight(producerId: number, rec: Inflight): void {
    const list = this.inflight.get(producerId);
    if (!list) return;
    const k = list.indexOf(rec);
    if (k >= 0) list.splice(k, 1);
    if (list.length === 0) this.inflight.delete(producerId);
  }

  notLeaderDetails(): Record<string, unknown> {
    return { topic: this.topic, partition: this.partition, leader: this.leaderId };
  }
}

/**
 * The bytes this partition proposes, stamps in place and keeps in its Raft window, for a batch handed
 * over (AppendOptions.handOver: a request frame's view, fresh memory nobody else writes; a client retry
 * arrives as a new frame). Used as it is when it fills most of its buffer. A small view is copied: kept
 * in the window it would pin the whole buffer (a socket read chunk holding other frames). Copying every
 * batch cost a fresh allocation per batch, which on this VM is many times the copy itself.
 */
function ownedBatch(batch: Uint8Array): Uint8Array {
  return batch.byteLength * 2 >= batch.buffer.byteLength ? batch : batch.slice();
}

/** Replaces each aborted batch of a read by a control batch over the same offsets (rare: copies only then). */
function maskAborted(r: ReadResult, aborted: [number, number][]): ReadResult {
  const starts = new Set(aborted.map(([first]) => first));
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (const chunk of r.chunks) {
    for (const batch of splitBatches(chunk)) {
      const h = readBatchHeader(batch);
      const out = starts.has(h.baseOffset) ? abortedMarker(batch) : batch;
      chunks.push(out);
      bytes += out.byteLength;
    }
  }
  return { chunks, bytes, nextOffset: r.nextOffset };
}

/** The sequence rules against this leader's last in-flight batch of the same producer. */
function checkAfterInflight(h: BatchHeader, previous: Inflight): void {
  if (h.producerEpoch < previous.producerEpoch) {
    throw new RaftbusError(ErrorCode.INVALID_PRODUCER_EPOCH, { producerId: h.producerId, epoch: h.producerEpoch });
  }
  const expected = h.producerEpoch > previous.producerEpoch ? 0 : previous.lastSequence + 1;
  if (h.baseSequence !== expected) {
    throw new RaftbusError(ErrorCode.OUT_OF_ORDER_SEQUENCE, {
      producerId: h.producerId,
      sequence: h.baseSequence,
      expected,
    });
  }
}

function toAppendResult(r: ApplyResult, appendTimeMs: number): AppendResult {
  if (r.kind === 'rejected') throw r.error;
  return { baseOffset: r.baseOffset, lastOffset: r.lastOffset, appendTimeMs };
}

/** The proposal definitely did not and will not land. */
function isDefiniteFailure(err: unknown): boolean {
  return (
    err instanceof RaftbusError &&
    (err.errorName === 'TOO_MANY_REQUESTS' || err.errorName === 'SHUTTING_DOWN' || err.details.overwritten === true)
  );
}

/** Driver errors as protocol errors: retriable ones tell the client to refresh and retry. */
function mapRaftError(err: unknown, p: ReplicatedPartition): unknown {
  if (err instanceof RaftbusError) return err;
  if (err instanceof NotLeaderError || err instanceof LeadershipLostError) {
    return new RaftbusError(ErrorCode.NOT_LEADER, p.notLeaderDetails());
  }
  if (err instanceof ProposalOverwrittenError) {
    return new RaftbusError(ErrorCode.NOT_LEADER, { ...p.notLeaderDetails(), overwritten: true });
  }
  if (err instanceof RequestTimeoutError) return new RaftbusError(ErrorCode.REQUEST_TIMED_OUT, { timeoutMs: -1 });
  if (err instanceof TooManyPendingError || err instanceof ProposalDroppedError) {
    return new RaftbusError(ErrorCode.TOO_MANY_REQUESTS, { limit: -1 }, `TOO_MANY_REQUESTS: ${(err as Error).message}`);
  }
  if (err instanceof GroupStoppedError) return new RaftbusError(ErrorCode.SHUTTING_DOWN);
  return err;
}
