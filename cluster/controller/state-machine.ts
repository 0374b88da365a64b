/**
 * The controller's metadata state machine: brokers, topics with their
 * configuration and replica assignments, producer id allocation.
 *
 * Pure and deterministic: apply() depends only on the image and the entry
 * (no clock, no randomness, no placement: the proposer computes assignments
 * and carries them in the command). Every command is validated here against
 * the image; a rejected command returns a typed error result and changes
 * nothing. Every change bumps the metadata epoch by one.
 */
import { Packr } from 'msgpackr';
import { ErrorCode } from '../../node/protocol/errors.ts';
import { topicNameProblem } from '../../node/protocol/validate.ts';
import type { StateMachine } from '../raft/driver/state-machine.ts';
import type { Entry, NodeId } from '../raft/types.ts';
import { decodeCommand } from './codec.ts';
import {
  type AllocateProducerIds,
  type ControllerCommand,
  ControllerOp,
  type CreateTopic,
  type DeleteTopic,
  type ReassignPartition,
  type RegisterBroker,
  type SetPartitionLeaderHint,
  type TopicConfigOverrides,
  type UnregisterBroker,
  type UpdateTopicConfig,
} from './commands.ts';
import { SnapshotDecodeError } from './errors.ts';
import { ControllerLimits as L } from './limits.ts';
import type { BrokerRecord, MetadataImage, PartitionRecord, TopicRecord } from './metadata.ts';
import { type ApplyResult, type CreatedTopic, failed, type ProducerIdBlock } from './results.ts';

export const SNAPSHOT_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** One applied change, for listeners (the Controller's change event). */
export interface MetadataChange {
  epoch: number;
  index: number;
  command: ControllerCommand;
}

export interface ControllerStateMachineOptions {
  /** Called after every command that changed the image. */
  onChange?: (change: MetadataChange) => void;
}

interface SnapshotImage {
  v: number;
  epoch: number;
  appliedIndex: number;
  nextProducerId: number;
  nextGroupId: number;
  nextTopicId: number;
  brokers: BrokerRecord[];
  topics: TopicRecord[];
}

export class ControllerStateMachine implements StateMachine, MetadataImage {
  epoch = 0;
  appliedIndex = 0;
  nextProducerId = 1;
  nextGroupId: number = L.firstPartitionGroupId;
  nextTopicId = 1;
  readonly brokers = new Map<NodeId, BrokerRecord>();
  readonly topics = new Map<string, TopicRecord>();
  private readonly onChange: ((change: MetadataChange) => void) | undefined;

  constructor(o: ControllerStateMachineOptions = {}) {
    this.onChange = o.onChange;
  }

  apply(entry: Entry): ApplyResult {
    if (entry.index <= this.appliedIndex) throw new Error(`controller: entry ${entry.index} applied twice`);
    this.appliedIndex = entry.index;
    let cmd: ControllerCommand;
    try {
      cmd = decodeCommand(entry.data);
    } catch (err) {
      return failed(ErrorCode.INVALID_REQUEST, { detail: (err as Error).message });
    }
    const result = this.dispatch(cmd);
    if (result.ok) {
      this.epoch++;
      result.epoch = this.epoch;
      this.onChange?.({ epoch: this.epoch, index: entry.index, command: cmd });
    }
    return result;
  }

  private dispatch(cmd: ControllerCommand): ApplyResult {
    switch (cmd.op) {
      case ControllerOp.RegisterBroker:
        return this.registerBroker(cmd);
      case ControllerOp.UnregisterBroker:
        return this.unregisterBroker(cmd);
      case ControllerOp.CreateTopic:
        return this.createTopic(cmd);
      case ControllerOp.DeleteTopic:
        return this.deleteTopic(cmd);
      case ControllerOp.UpdateTopicConfig:
        return this.updateTopicConfig(cmd);
      case ControllerOp.ReassignPartition:
        return this.reassignPartition(cmd);
      case ControllerOp.SetPartitionLeaderHint:
        return this.setLeaderHint(cmd);
      case ControllerOp.AllocateProducerIds:
        return this.allocateProducerIds(cmd);
    }
  }

  private ok<V>(value: V): ApplyResult<V> {
    // The epoch is filled in by apply() once the change is counted.
    return { ok: true, epoch: 0, value };
  }

  private registerBroker(c: RegisterBroker): ApplyResult {
    if (c.host === '' || c.raftHost === '') return failed(ErrorCode.INVALID_REQUEST, { detail: 'empty broker host' });
    const prev = this.brokers.get(c.nodeId);
    if (prev && prev.incarnation > c.incarnation) {
      return failed(ErrorCode.INVALID_REQUEST, {
        detail: `broker ${c.nodeId} incarnation ${c.incarnation} is older than the registered ${prev.incarnation}`,
      });
    }
    if (!prev && this.brokers.size >= L.brokersMax) {
      return failed(ErrorCode.INVALID_REQUEST, { detail: `more than ${L.brokersMax} brokers` });
    }
    this.brokers.set(c.nodeId, {
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
      raftHost: c.raftHost,
      raftPort: c.raftPort,
      rack: c.rack,
      incarnation: c.incarnation,
      registeredEpoch: this.epoch + 1,
    });
    return this.ok(null);
  }

  private unregisterBroker(c: UnregisterBroker): ApplyResult {
    if (!this.brokers.delete(c.nodeId)) {
      return failed(ErrorCode.INVALID_REQUEST, { detail: `broker ${c.nodeId} is not registered` });
    }
    return this.ok(null);
  }

  /** Why `replicas` is not a valid replica list, or null. */
  private replicasProblem(replicas: readonly NodeId[]): string | null {
    if (replicas.length === 0) return 'a replica list is empty';
    if (new Set(replicas).size !== replicas.length) return `replica list [${replicas}] repeats a broker`;
    for (const id of replicas) if (!this.brokers.has(id)) return `broker ${id} is not registered`;
    return null;
  }

  private createTopic(c: CreateTopic): ApplyResult<CreatedTopic> | ApplyResult {
    const nameProblem = topicNameProblem(c.name);
    if (nameProblem !== null) return failed(ErrorCode.INVALID_TOPIC, { topic: c.name, detail: nameProblem });
    if (this.topics.has(c.name)) return failed(ErrorCode.TOPIC_ALREADY_EXISTS, { topic: c.name });
    if (this.topics.size >= L.topicsMax)
      return failed(ErrorCode.INVALID_REQUEST, { detail: `more than ${L.topicsMax} topics` });
    if (c.partitions < 1 || c.partitions > L.partitionsPerTopicMax) {
      return failed(ErrorCode.INVALID_PARTITIONS, { partitions: c.partitions });
    }
    const rf = c.replicationFactor;
    if (rf < 1 || rf > L.replicasMax || rf > this.brokers.size) {
      return failed(ErrorCode.INVALID_REPLICATION_FACTOR, {
        replicationFactor: rf,
        detail: `must be in [1, ${Math.min(L.replicasMax, this.brokers.size)}] (registered brokers: ${this.brokers.size})`,
      });
    }
    if (c.assignment.length !== c.partitions) {
      return failed(ErrorCode.INVALID_REQUEST, {
        detail: `assignment has ${c.assignment.length} replica lists for ${c.partitions} partitions`,
      });
    }
    for (const rs of c.assignment) {
      if (rs.length !== rf) {
        return failed(ErrorCode.INVALID_REPLICATION_FACTOR, {
          replicationFactor: rf,
          detail: `replica list [${rs}] has ${rs.length} replicas`,
        });
      }
      const problem = this.replicasProblem(rs);
      if (problem !== null) return failed(ErrorCode.INVALID_REQUEST, { detail: problem });
    }
    const configProblem = overridesProblem(c.config);
    if (configProblem !== null) return failed(ErrorCode.INVALID_CONFIG, { detail: configProblem });
    const partitions: PartitionRecord[] = c.assignment.map((replicas, partition) => ({
      partition,
      groupId: this.nextGroupId++,
      replicas: [...replicas],
      epoch: 0,
      leaderHint: 0,
    }));
    const topic: TopicRecord = {
      name: c.name,
      topicId: this.nextTopicId++,
      replicationFactor: rf,
      config: { ...c.config },
      partitions,
      createdEpoch: this.epoch + 1,
    };
    this.topics.set(c.name, topic);
    return this.ok({ topicId: topic.topicId, groupIds: partitions.map((p) => p.groupId) });
  }

  private deleteTopic(c: DeleteTopic): ApplyResult {
    if (!this.topics.delete(c.name))
      return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: c.name, partition: '*' });
    return this.ok(null);
  }

  private updateTopicConfig(c: UpdateTopicConfig): ApplyResult {
    const t = this.topics.get(c.name);
    if (!t) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: c.name, partition: '*' });
    const problem = overridesProblem(c.set);
    if (problem !== null) return failed(ErrorCode.INVALID_CONFIG, { detail: problem });
    const next: TopicConfigOverrides = { ...t.config };
    for (const k of c.remove) delete next[k];
    Object.assign(next, c.set);
    t.config = next;
    return this.ok(null);
  }

  private partitionOf(topic: string, partition: number): PartitionRecord | ApplyResult {
    const p = this.topics.get(topic)?.partitions[partition];
    return p ?? failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic, partition });
  }

  private reassignPartition(c: ReassignPartition): ApplyResult {
    const p = this.partitionOf(c.topic, c.partition);
    if ('ok' in p) return p;
    if (p.epoch !== c.partitionEpoch) {
      return failed(ErrorCode.INVALID_REQUEST, {
        detail: `stale partition epoch ${c.partitionEpoch} for ${c.topic}/${c.partition} (now ${p.epoch})`,
      });
    }
    const problem = this.replicasProblem(c.replicas);
    if (problem !== null) return failed(ErrorCode.INVALID_REQUEST, { detail: problem });
    p.replicas = [...c.replicas];
    p.epoch++;
    if (!p.replicas.includes(p.leaderHint)) p.leaderHint = 0;
    return this.ok({ partitionEpoch: p.epoch });
  }

  private setLeaderHint(c: SetPartitionLeaderHint): ApplyResult {
    const p = this.partitionOf(c.topic, c.partition);
    if ('ok' in p) return p;
    if (p.epoch !== c.partitionEpoch) {
      return failed(ErrorCode.INVALID_REQUEST, {
        detail: `stale partition epoch ${c.partitionEpoch} for ${c.topic}/${c.partition} (now ${p.epoch})`,
      });
    }
    if (c.leader !== 0 && !p.replicas.includes(c.leader)) {
      return failed(ErrorCode.INVALID_REQUEST, {
        detail: `broker ${c.leader} is not a replica of ${c.topic}/${c.partition}`,
      });
    }
    p.leaderHint = c.leader;
    return this.ok(null);
  }

  private allocateProducerIds(c: AllocateProducerIds): ApplyResult<ProducerIdBlock> | ApplyResult {
    if (c.count < 1 || c.count > L.producerIdBlockMax) {
      return failed(ErrorCode.INVALID_REQUEST, { detail: `producer id count must be in [1, ${L.producerIdBlockMax}]` });
    }
    if (this.nextProducerId + c.count > Number.MAX_SAFE_INTEGER) {
      return failed(ErrorCode.INVALID_REQUEST, { detail: 'producer ids exhausted' });
    }
    const firstId = this.nextProducerId;
    this.nextProducerId += c.count;
    return this.ok({ firstId, count: c.count });
  }

  // ---- snapshots ----

  snapshot(): Uint8Array {
    const image: SnapshotImage = {
      v: SNAPSHOT_FORMAT_VERSION,
      epoch: this.epoch,
      appliedIndex: this.appliedIndex,
      nextProducerId: this.nextProducerId,
      nextGroupId: this.nextGroupId,
      nextTopicId: this.nextTopicId,
      brokers: [...this.brokers.values()],
      topics: [...this.topics.values()],
    };
    return packr.pack(image);
  }

  restore(data: Uint8Array): void {
    let image: SnapshotImage;
    try {
      image = packr.unpack(data) as SnapshotImage;
    } catch (err) {
      throw new SnapshotDecodeError(`controller: snapshot is not msgpack: ${(err as Error).message}`);
    }
    if (typeof image !== 'object' || image === null || image.v !== SNAPSHOT_FORMAT_VERSION) {
      throw new SnapshotDecodeError(`controller: unsupported snapshot format ${String(image?.v)}`);
    }
    if (!Array.isArray(image.brokers) || !Array.isArray(image.topics)) {
      throw new SnapshotDecodeError('controller: snapshot lacks brokers or topics');
    }
    this.epoch = image.epoch;
    this.appliedIndex = image.appliedIndex;
    this.nextProducerId = image.nextProducerId;
    this.nextGroupId = image.nextGroupId;
    this.nextTopicId = image.nextTopicId;
    this.brokers.clear();
    for (const b of image.brokers) this.brokers.set(b.nodeId, b);
    this.topics.clear();
    for (const t of image.topics) this.topics.set(t.name, t);
  }
}

/** Apply-time range check of pinned settings (the proposer resolves them against node defaults first). */
function overridesProblem(c: TopicConfigOverrides): string | null {
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'number' || (v !== -1 && v < 1)) return `${k} = ${String(v)} must be -1 or >= 1`;
  }
  return null;
}
