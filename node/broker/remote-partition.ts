/**
 * A partition of a topic that has no replica on this node: it exists in the
 * cluster catalogue, so requests for it get NOT_LEADER with the leader the
 * catalogue knows (the client refreshes and goes there), never
 * UNKNOWN_TOPIC_OR_PARTITION.
 */
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import type { AppendResult, ReadResult } from '../storage/log.ts';
import { AppendSignal } from './append-signal.ts';
import type { Partition } from './partition.ts';

export class RemotePartition implements Partition {
  readonly topic: string;
  readonly partition: number;
  readonly isLeader = false;
  private readonly replicasOf: () => readonly number[];
  readonly startOffset = 0;
  readonly highWatermark = 0;
  readonly sizeBytes = 0;
  readonly appended = new AppendSignal();
  private readonly leaderOf: () => number;

  /** `replicasOf` and `leaderOf` read the catalogue at each call: reassignments show at once. */
  constructor(topic: string, partition: number, replicasOf: () => readonly number[], leaderOf: () => number) {
    this.topic = topic;
    this.partition = partition;
    this.replicasOf = replicasOf;
    this.leaderOf = leaderOf;
  }

  get replicas(): readonly number[] {
    return this.replicasOf();
  }

  /** Not known here (no replica): the assigned replicas. */
  get isr(): readonly number[] {
    return this.replicasOf();
  }

  get leaderId(): number {
    return this.leaderOf();
  }

  private notHere(): RaftbusError {
    return new RaftbusError(ErrorCode.NOT_LEADER, {
      topic: this.topic,
      partition: this.partition,
      leader: this.leaderId,
    });
  }

  append(_batch: Uint8Array): Promise<AppendResult> {
    return Promise.reject(this.notHere());
  }
  read(_fromOffset: number, _maxBytes: number): Promise<ReadResult> {
    return Promise.reject(this.notHere());
  }
  offsetForTimestamp(_timestampMs: number): Promise<number | null> {
    return Promise.reject(this.notHere());
  }
  applyRetention(_nowMs: number): Promise<number> {
    return Promise.resolve(0);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.appended.notify();
    return Promise.resolve();
  }
}
