/**
 * Keeps this node's partitions in step with the controller's metadata: for
 * every topic, a ReplicatedPartition (its own Raft group over its own
 * partition log) where this node holds a replica, a RemotePartition
 * (NOT_LEADER with a hint) elsewhere; topics gone from the metadata are closed
 * and their group directories removed. Runs one pass at a time; a change
 * during a pass asks for another; a failed pass retries after a delay.
 *
 * A brand-new group bootstraps with its assigned replicas as voters only when
 * the partition was never reassigned (epoch 0): a replica added later starts
 * empty and waits for the leader's configuration change to reach it.
 *
 * Opening replicas is I/O bound (a new group creates and fsyncs a few files):
 * a topic's replicas open up to openConcurrency at a time on the thread pool,
 * never on the event loop, in batches of openBatch; each batch ends with ONE
 * fsync of the partitions directory (the new group directories' entries)
 * before its groups are created, so no group votes before its files are
 * durable. 3,000 partitions per node opened one by one with synchronous
 * fsyncs took minutes and starved the event loop (elections, heartbeats).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Broker } from '../../node/broker/broker.ts';
import type { Partition } from '../../node/broker/partition.ts';
import { RemotePartition } from '../../node/broker/remote-partition.ts';
import { resolveTopicConfig, toLogConfig } from '../../node/broker/topic-config.ts';
import type { NodeConfig } from '../../node/config.ts';
import type { TopicConfig } from '../../node/protocol/api.ts';
import { ApiKey, type FetchResponse } from '../../node/protocol/api.ts';
import type { Logger } from '../../node/server/logger.ts';
import { readBatchHeader, splitBatches } from '../../node/storage/batch.ts';
import type { MetadataImage, PartitionRecord, TopicRecord } from '../controller/metadata.ts';
import { PartitionRaftStorage } from '../partition/partition-raft-storage.ts';
import { ReplicatedPartition } from '../partition/replicated-partition.ts';
import type { MultiRaftHost } from '../raft/multiraft/multiraft-host.ts';
import { fsyncDirAsync } from '../raft/storage/atomic-file.ts';
import type { PeerClient } from './peer-client.ts';

export interface PartitionSyncOptions {
  config: NodeConfig;
  logger: Logger;
  host: MultiRaftHost;
  broker: Broker;
  metadata: () => MetadataImage;
  peers: PeerClient;
  timing: { electionTicks: number; heartbeatTicks: number };
  /** Pause before retrying a failed pass. */
  retryDelayMs?: number;
  /**
   * True once this node's metadata image is known to include everything committed before this
   * start (its own registration applied): only then are leftover group directories removed.
   */
  caughtUp: () => boolean;
  /** Called with each partition storage opened (metrics time its syncs). */
  onStorage?: (storage: PartitionRaftStorage) => void;
  /** Replica storages opening at once (default 32). */
  openConcurrency?: number;
  /** New replicas per fsync of the partitions directory (default 256). */
  openBatch?: number;
}

const OPEN_CONCURRENCY_DEFAULT = 32;
const OPEN_BATCH_DEFAULT = 256;

interface Installed {
  topicId: number;
  partitions: Partition[];
  groupIds: number[];
}

export class PartitionSync {
  private readonly o: PartitionSyncOptions;
  private readonly installed = new Map<string, Installed>();
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private swept = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The partitions directory exists and its entry in the data directory is durable. */
  private partitionsDirReady = false;
  private readonly openConcurrency: number;
  private readonly openBatch: number;

  constructor(o: PartitionSyncOptions) {
    this.o = o;
    this.openConcurrency = o.openConcurrency ?? OPEN_CONCURRENCY_DEFAULT;
    this.openBatch = o.openBatch ?? OPEN_BATCH_DEFAULT;
    if (!(Number.isSafeInteger(this.openConcurrency) && this.openConcurrency >= 1))
      throw new RangeError(`openConcurrency must be a positive integer, got ${this.openConcurrency}`);
    if (!(Number.isSafeInteger(this.openBatch) && this.openBatch >= 1))
      throw new RangeError(`openBatch must be a positive integer, got ${this.openBatch}`);
  }

  /** This node's replica of a partition (undefined when it holds none or it is not open yet). */
  local(topic: string, topicId: number, partition: number): ReplicatedPartition | undefined {
    const t = this.installed.get(topic);
    if (!t || t.topicId !== topicId) return undefined;
    const p = t.partitions[partition];
    return p instanceof ReplicatedPartition ? p : undefined;
  }

  /** Every replica open on this node. */
  replicas(): ReplicatedPartition[] {
    const out: ReplicatedPartition[] = [];
    for (const t of this.installed.values())
      for (const p of t.partitions) if (p instanceof ReplicatedPartition) out.push(p);
    return out;
  }

  /** Asks for a pass (coalesced with one running). */
  request(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
    });
  }

  /** Stops passes; the broker closes the open partitions. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.running;
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (err) {
        if (this.stopped) return; // a pass cut short by stop() is not a failure
        this.o.logger.error('partition sync failed; retrying', { err });
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          this.request();
        }, this.o.retryDelayMs ?? 1000);
      }
    } while (this.again && !this.stopped);
  }

  private async pass(): Promise<void> {
    const image = this.o.metadata();
    for (const [name, inst] of [...this.installed]) {
      if (this.stopped) return;
      const t = image.topics.get(name);
      if (!t || t.topicId !== inst.topicId) await this.uninstall(name, inst);
    }
    for (const t of image.topics.values()) {
      if (this.stopped) return;
      const inst = this.installed.get(t.name);
      if (!inst) await this.install(t);
      else await this.follow(t, inst);
    }
    if (!this.swept && this.o.caughtUp()) await this.sweep(image);
  }

  /**
   * Once per start, after catching up: removes group directories no partition assigned here
   * uses (replicas moved away while this node was down, topics deleted meanwhile). Never from a
   * lagging image: a directory deleted by mistake would be a voter's lost log.
   */
  private async sweep(image: MetadataImage): Promise<void> {
    this.swept = true;
    const keep = new Set<string>();
    for (const t of image.topics.values()) {
      for (const p of t.partitions) if (p.replicas.includes(this.o.config.nodeId)) keep.add(String(p.groupId));
    }
    // Every replica open here (one pass: a lookup per group id would walk them all each time).
    for (const p of this.replicas()) keep.add(String(p.group.groupId));
    let entries: string[] = [];
    try {
      entries = await readdir(this.partitionsDir());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const e of entries) {
      if (keep.has(e) || !/^\d+$/.test(e)) continue;
      await rm(this.groupDir(Number(e)), { recursive: true, force: true });
      this.o.logger.info('removed a partition directory no longer assigned here', { group: Number(e) });
    }
  }

  /**
   * Reassignments of an installed topic: a replica newly assigned here opens its group with an
   * empty configuration (the leader adds it as a learner, then promotes it); a replica no longer
   * assigned here closes once it is out of the group's configuration or not leading (a node back
   * from the dead whose replicas moved away), and its directory goes.
   */
  private async follow(t: Readonly<TopicRecord>, inst: Installed): Promise<void> {
    const self = this.o.config.nodeId;
    const config = resolveTopicConfig(t.config, this.o.config);
    let changed = false;
    const assigned: Readonly<PartitionRecord>[] = [];
    for (const p of t.partitions) {
      const cur = inst.partitions[p.partition];
      const mine = p.replicas.includes(self);
      if (mine && cur instanceof RemotePartition) {
        assigned.push(p);
      } else if (!mine && cur instanceof ReplicatedPartition) {
        const conf = cur.group.confState;
        const inConf = conf.voters.includes(self) || conf.learners.includes(self);
        if (inConf && cur.group.role === 'leader') continue; // hands leadership away first (ClusterNode.watch)
        await cur.close();
        await rm(this.groupDir(p.groupId), { recursive: true, force: true });
        const topicId = t.topicId;
        inst.partitions[p.partition] = this.remote(t.name, topicId, p.partition);
        changed = true;
        this.o.logger.info('replica moved away', { topic: t.name, partition: p.partition, epoch: p.epoch });
      }
    }
    const opened = await this.openReplicas(t, assigned, config);
    for (let k = 0; k < assigned.length; k++) {
      const p = assigned[k]!;
      inst.partitions[p.partition] = opened[k]!;
      changed = true;
      this.o.logger.info('replica assigned here', { topic: t.name, partition: p.partition, epoch: p.epoch });
    }
    if (changed) this.o.broker.installTopic(t.name, config, inst.partitions, Date.now());
  }

  private async install(t: Readonly<TopicRecord>): Promise<void> {
    const { config: nodeConfig, broker } = this.o;
    const self = nodeConfig.nodeId;
    const config = resolveTopicConfig(t.config, nodeConfig);
    const partitions: Partition[] = [];
    const groupIds: number[] = [];
    const mine: Readonly<PartitionRecord>[] = [];
    for (const p of t.partitions) {
      groupIds.push(p.groupId);
      if (p.replicas.includes(self)) mine.push(p);
      else partitions[p.partition] = this.remote(t.name, t.topicId, p.partition);
    }
    const opened = await this.openReplicas(t, mine, config);
    for (let k = 0; k < mine.length; k++) partitions[mine[k]!.partition] = opened[k]!;
    for (let k = 0; k < t.partitions.length; k++) {
      if (partitions[k] === undefined) throw new Error(`topic ${t.name}: partition ${k} missing from its record`);
    }
    broker.installTopic(t.name, config, partitions, Date.now());
    this.installed.set(t.name, { topicId: t.topicId, partitions, groupIds });
    this.o.logger.info('topic installed', { topic: t.name, replicasHere: mine.length });
  }

  /**
   * Opens this node's replicas of `records` (same order): storages concurrently (at most
   * openConcurrency at once), then per batch of openBatch ONE fsync of the partitions directory, then
   * the batch's groups. All or nothing: on a failure everything opened here is closed again.
   */
  private async openReplicas(
    t: Readonly<TopicRecord>,
    records: readonly Readonly<PartitionRecord>[],
    config: TopicConfig,
  ): Promise<ReplicatedPartition[]> {
    const out: ReplicatedPartition[] = [];
    if (records.length === 0) return out;
    try {
      await this.ensurePartitionsDir();
      // Bounded: each round consumes up to openBatch records.
      for (let from = 0; from < records.length; from += this.openBatch) {
        const batch = records.slice(from, from + this.openBatch);
        const storages = await this.openStorages(t, batch, config);
        try {
          // The new group directories' entries: durable before any of these groups can vote.
          await fsyncDirAsync(this.partitionsDir());
        } catch (err) {
          await Promise.allSettled(storages.map((s) => s.closeAndWait()));
          throw err;
        }
        for (let k = 0; k < batch.length; k++) {
          const storage = storages[k]!;
          try {
            out.push(this.createReplica(t, batch[k]!, config, storage));
          } catch (err) {
            await Promise.allSettled(storages.slice(k).map((s) => s.closeAndWait()));
            throw err;
          }
        }
      }
    } catch (err) {
      await Promise.allSettled(out.map((p) => p.close()));
      throw err;
    }
    return out;
  }

  /** Opens the storages of `records` (same order), at most openConcurrency at once; all or nothing. */
  private async openStorages(
    t: Readonly<TopicRecord>,
    records: readonly Readonly<PartitionRecord>[],
    config: TopicConfig,
  ): Promise<PartitionRaftStorage[]> {
    const results: (PartitionRaftStorage | undefined)[] = new Array(records.length);
    let next = 0;
    let failure: { err: unknown } | undefined;
    const worker = async (): Promise<void> => {
      // Bounded: every iteration takes the next record; a failure stops all workers.
      while (next < records.length && failure === undefined && !this.stopped) {
        const k = next++;
        try {
          results[k] = await this.openStorage(t, records[k]!, config);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (let w = 0; w < Math.min(this.openConcurrency, records.length); w++) workers.push(worker());
    await Promise.all(workers);
    const opened = results.filter((s): s is PartitionRaftStorage => s !== undefined);
    if (failure === undefined && opened.length === records.length) return opened;
    await Promise.allSettled(opened.map((s) => s.closeAndWait()));
    if (failure !== undefined) throw failure.err;
    throw new PartitionSyncStoppedError();
  }

  private async openStorage(
    t: Readonly<TopicRecord>,
    p: Readonly<PartitionRecord>,
    config: TopicConfig,
  ): Promise<PartitionRaftStorage> {
    const nodeConfig = this.o.config;
    const storage = await PartitionRaftStorage.open({
      dir: this.groupDir(p.groupId),
      bootstrapConf: p.epoch === 0 ? { voters: [...p.replicas] } : {},
      logConfig: toLogConfig(config, nodeConfig),
      // --flush applies to Raft's sync(): anything but 'always' acknowledges before fsync (unsafe, for tests).
      flush: nodeConfig.flush,
      fileLogOptions: { simulatePowerLoss: nodeConfig.simulatePowerLoss },
      fetchRange: (from, to, maxBytes) => this.fetchRange(t.name, p.partition, from, to, maxBytes),
      // openReplicas fsyncs the partitions directory once per batch.
      parentDirSynced: true,
    });
    this.o.onStorage?.(storage);
    return storage;
  }

  /** The group of an opened storage; closes the storage when that fails. */
  private createReplica(
    t: Readonly<TopicRecord>,
    p: Readonly<PartitionRecord>,
    config: TopicConfig,
    storage: PartitionRaftStorage,
  ): ReplicatedPartition {
    const nodeConfig = this.o.config;
    return ReplicatedPartition.create({
      topic: t.name,
      partition: p.partition,
      nodeId: nodeConfig.nodeId,
      host: this.o.host,
      groupId: p.groupId,
      storage,
      maxBatchBytes: config.maxBatchBytes,
      tuning: { electionTicks: this.o.timing.electionTicks, heartbeatTicks: this.o.timing.heartbeatTicks },
    });
  }

  /** Creates the partitions directory once, its entry in the data directory durable. */
  private async ensurePartitionsDir(): Promise<void> {
    if (this.partitionsDirReady) return;
    const made = await mkdir(this.partitionsDir(), { recursive: true });
    if (made !== undefined) await fsyncDirAsync(dirname(made));
    this.partitionsDirReady = true;
  }

  private partitionsDir(): string {
    return join(this.o.config.dataDir, 'partitions');
  }

  private async uninstall(name: string, inst: Installed): Promise<void> {
    this.installed.delete(name);
    const parts = this.o.broker.removeTopic(name);
    await Promise.allSettled(parts.map((p) => p.close()));
    for (const g of inst.groupIds) await rm(this.groupDir(g), { recursive: true, force: true });
    this.o.logger.info('topic removed', { topic: name });
  }

  private groupDir(groupId: number): string {
    return join(this.partitionsDir(), String(groupId));
  }

  private remote(topic: string, topicId: number, partition: number): RemotePartition {
    return new RemotePartition(
      topic,
      partition,
      () => this.recordOf(topic, topicId, partition)?.replicas ?? [],
      () => this.hintOf(topic, topicId, partition),
    );
  }

  private recordOf(topic: string, topicId: number, partition: number): Readonly<PartitionRecord> | undefined {
    const t = this.o.metadata().topics.get(topic);
    return t?.topicId === topicId ? t.partitions[partition] : undefined;
  }

  private hintOf(topic: string, topicId: number, partition: number): number {
    const t = this.o.metadata().topics.get(topic);
    const p = t?.topicId === topicId ? t.partitions[partition] : undefined;
    if (!p) return -1;
    return p.leaderHint > 0 ? p.leaderHint : (p.replicas[0] ?? -1);
  }

  /**
   * Snapshot install on a far-behind follower: the committed batches [from, to) copied from the
   * partition leader with ordinary Fetch requests to its client port.
   */
  private async fetchRange(topic: string, partition: number, from: number, to: number, maxBytes: number) {
    const t = this.o.metadata().topics.get(topic);
    const local = this.installed.get(topic)?.partitions[partition];
    const leader = local?.leaderId ?? -1;
    const rec = leader > 0 ? this.o.metadata().brokers.get(leader) : undefined;
    if (!t || !rec || leader === this.o.config.nodeId) {
      throw new Error(`no leader to copy ${topic}/${partition} [${from}, ${to}) from`);
    }
    const r = await this.o.peers.request<FetchResponse>(leader, { host: rec.host, port: rec.port }, ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes,
      partitions: [{ topic, partition, offset: from, maxBytes }],
    });
    const err = r.body.partitions[0]?.error;
    if (err) throw new Error(`fetch of ${topic}/${partition} from node ${leader}: ${err.message ?? err.code}`);
    return splitBatches(r.raw).filter((b) => readBatchHeader(b).baseOffset < to);
  }
}

/** A pass was stopped (node shutting down) while replicas were opening: nothing of it was kept. */
export class PartitionSyncStoppedError extends Error {
  override readonly name = 'PartitionSyncStoppedError';
  readonly code = 'PARTITION_SYNC_STOPPED';
  constructor() {
    super('partition sync stopped while replicas were opening');
  }
}
