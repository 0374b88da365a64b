/**
 * A partition as the broker sees it: who leads it, and (where led here) the
 * operations on its data. Today every partition is a `LocalPartition` led by
 * this node and backed by one PartitionLog. Under Raft a replicated partition
 * implements the same interface: its append goes through the group's log and
 * resolves on commit, its high watermark is the commit index, and on a
 * follower `isLeader` is false so the broker answers NOT_LEADER with the hint.
 */
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import type { AppendResult, PartitionLog, ReadResult } from '../storage/log.ts';
import { AppendSignal } from './append-signal.ts';

/**
 * How much durability an append waits for. 'quorum' (the default): committed
 * on a quorum of fsynced logs. 'leader': the leader's own write is durable.
 * 'none': resolves once accepted (offsets unknown: -1).
 */
export type Acks = 'quorum' | 'leader' | 'none';

export interface AppendOptions {
  acks?: Acks;
  /**
   * The caller hands `batch` over: nothing else reads or writes it afterwards, so the partition may keep
   * it and stamp it in place instead of copying it (the broker sets this for request frames, which are
   * decoded into fresh memory per request). Default: the partition copies what it keeps.
   */
  handOver?: boolean;
}

export interface Partition {
  readonly topic: string;
  readonly partition: number;
  /** True when this node leads the partition and may serve produce and fetch. */
  readonly isLeader: boolean;
  /** Node id of the leader; -1 when unknown. */
  readonly leaderId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly startOffset: number;
  /** Offsets below this are committed and visible to consumers. */
  readonly highWatermark: number;
  readonly sizeBytes: number;
  /** Fires after appends become visible. */
  readonly appended: AppendSignal;

  /**
   * Checks the batch's header and CRC (rejecting with BatchFormatError, or BatchTooLargeError) before
   * anything is written or, under Raft, proposed; then appends it as one unit.
   */
  append(batch: Uint8Array, options?: AppendOptions): Promise<AppendResult>;
  read(fromOffset: number, maxBytes: number): Promise<ReadResult>;
  offsetForTimestamp(timestampMs: number): Promise<number | null>;
  applyRetention(nowMs: number): Promise<number>;
  flush(): Promise<void>;
  /** Waits for appends in flight, then closes the log. */
  close(): Promise<void>;
}

/** Throws NOT_LEADER with the leader hint unless this node leads `p`. */
export function requireLeader(p: Partition): void {
  if (!p.isLeader) {
    throw new RaftbusError(ErrorCode.NOT_LEADER, { topic: p.topic, partition: p.partition, leader: p.leaderId });
  }
}

/** A single-node partition: this node leads it, term 0, the log is the whole truth. */
export class LocalPartition implements Partition {
  readonly topic: string;
  readonly partition: number;
  readonly isLeader: boolean = true;
  readonly leaderId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly appended = new AppendSignal();
  private readonly log: PartitionLog;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(topic: string, partition: number, nodeId: number, log: PartitionLog) {
    this.topic = topic;
    this.partition = partition;
    this.leaderId = nodeId;
    this.replicas = [nodeId];
    this.isr = [nodeId];
    this.log = log;
  }

  get startOffset(): number {
    return this.log.startOffset;
  }
  get highWatermark(): number {
    return this.log.endOffset;
  }
  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** A single node has no replicas: every acks level waits for the log's own flush policy. */
  append(batch: Uint8Array, _options?: AppendOptions): Promise<AppendResult> {
    const p = this.log.append(batch, 0);
    this.pending.add(p);
    const settle = (): void => {
      this.pending.delete(p);
    };
    p.then(() => {
      settle();
      this.appended.notify();
    }, settle);
    return p;
  }

  read(fromOffset: number, maxBytes: number): Promise<ReadResult> {
    return this.log.read(fromOffset, maxBytes, this.highWatermark);
  }

  offsetForTimestamp(timestampMs: number): Promise<number | null> {
    return this.log.offsetForTimestamp(timestampMs);
  }

  applyRetention(nowMs: number): Promise<number> {
    return this.log.applyRetention(nowMs);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.log.close();
    // Wake long-polls so they notice the partition is gone instead of sleeping out their wait.
    this.appended.notify();
  }
}
