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
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
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
}

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

  constructor(o: PartitionSyncOptions) {
    this.o = o;
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
    for (const inst of this.installed.values()) for (const g of inst.groupIds) if (this.isOpen(g)) keep.add(String(g));
    let entries: string[] = [];
    try {
      entries = await readdir(join(this.o.config.dataDir, 'partitions'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const e of entries) {
      if (keep.has(e) || !/^\d+$/.test(e)) continue;
      await rm(this.groupDir(Number(e)), { recursive: true, force: true });
      this.o.logger.info('removed a partition directory no longer assigned here', { group: Number(e) });
    }
  }

  private isOpen(groupId: number): boolean {
    return this.replicas().some((p) => p.group.groupId === groupId);
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
    for (const p of t.partitions) {
      const cur = inst.partitions[p.partition];
      const mine = p.replicas.includes(self);
      if (mine && cur instanceof RemotePartition) {
        inst.partitions[p.partition] = await this.openReplica(t, p, config);
        changed = true;
        this.o.logger.info('replica assigned here', { topic: t.name, partition: p.partition, epoch: p.epoch });
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
    if (changed) this.o.broker.installTopic(t.name, config, inst.partitions, Date.now());
  }

  private async install(t: Readonly<TopicRecord>): Promise<void> {
    const { config: nodeConfig, broker } = this.o;
    const self = nodeConfig.nodeId;
    const config = resolveTopicConfig(t.config, nodeConfig);
    const partitions: Partition[] = [];
    const groupIds: number[] = [];
    try {
      for (const p of t.partitions) {
        groupIds.push(p.groupId);
        if (!p.replicas.includes(self)) {
          const topicId = t.topicId;
          partitions.push(this.remote(t.name, topicId, p.partition));
          continue;
        }
        partitions.push(await this.openReplica(t, p, config));
      }
    } catch (err) {
      await Promise.allSettled(partitions.map((p) => p.close()));
      throw err;
    }
    broker.installTopic(t.name, config, partitions, Date.now());
    this.installed.set(t.name, { topicId: t.topicId, partitions, groupIds });
    this.o.logger.info('topic installed', {
      topic: t.name,
      replicasHere: partitions.filter((p) => p instanceof ReplicatedPartition).length,
    });
  }

  private async openReplica(
    t: Readonly<TopicRecord>,
    p: Readonly<PartitionRecord>,
    config: TopicConfig,
  ): Promise<ReplicatedPartition> {
    const nodeConfig = this.o.config;
    const storage = await PartitionRaftStorage.open({
      dir: this.groupDir(p.groupId),
      bootstrapConf: p.epoch === 0 ? { voters: [...p.replicas] } : {},
      logConfig: toLogConfig(config, nodeConfig),
      // --flush applies to Raft's sync(): anything but 'always' acknowledges before fsync (unsafe, for tests).
      flush: nodeConfig.flush,
      fileLogOptions: { simulatePowerLoss: nodeConfig.simulatePowerLoss },
      fetchRange: (from, to, maxBytes) => this.fetchRange(t.name, p.partition, from, to, maxBytes),
    });
    this.o.onStorage?.(storage);
    try {
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
    } catch (err) {
      await storage.closeAndWait();
      throw err;
    }
  }

  private async uninstall(name: string, inst: Installed): Promise<void> {
    this.installed.delete(name);
    const parts = this.o.broker.removeTopic(name);
    await Promise.allSettled(parts.map((p) => p.close()));
    for (const g of inst.groupIds) await rm(this.groupDir(g), { recursive: true, force: true });
    this.o.logger.info('topic removed', { topic: name });
  }

  private groupDir(groupId: number): string {
    return join(this.o.config.dataDir, 'partitions', String(groupId));
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
