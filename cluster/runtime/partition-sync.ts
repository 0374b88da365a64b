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
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Broker } from '../../node/broker/broker.ts';
import type { Partition } from '../../node/broker/partition.ts';
import { RemotePartition } from '../../node/broker/remote-partition.ts';
import { resolveTopicConfig, toLogConfig } from '../../node/broker/topic-config.ts';
import type { NodeConfig } from '../../node/config.ts';
import { ApiKey, type FetchResponse } from '../../node/protocol/api.ts';
import type { Logger } from '../../node/server/logger.ts';
import { readBatchHeader, splitBatches } from '../../node/storage/batch.ts';
import type { MetadataImage, TopicRecord } from '../controller/metadata.ts';
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
      if (!this.installed.has(t.name)) await this.install(t);
    }
  }

  private async install(t: Readonly<TopicRecord>): Promise<void> {
    const { config: nodeConfig, broker, host } = this.o;
    const self = nodeConfig.nodeId;
    const config = resolveTopicConfig(t.config, nodeConfig);
    const partitions: Partition[] = [];
    const groupIds: number[] = [];
    try {
      for (const p of t.partitions) {
        groupIds.push(p.groupId);
        if (!p.replicas.includes(self)) {
          const topicId = t.topicId;
          partitions.push(
            new RemotePartition(t.name, p.partition, [...p.replicas], () => this.hintOf(t.name, topicId, p.partition)),
          );
          continue;
        }
        const storage = await PartitionRaftStorage.open({
          dir: this.groupDir(p.groupId),
          bootstrapConf: p.epoch === 0 ? { voters: [...p.replicas] } : {},
          logConfig: toLogConfig(config, nodeConfig),
          fetchRange: (from, to, maxBytes) => this.fetchRange(t.name, p.partition, from, to, maxBytes),
        });
        this.o.onStorage?.(storage);
        try {
          partitions.push(
            ReplicatedPartition.create({
              topic: t.name,
              partition: p.partition,
              nodeId: self,
              host,
              groupId: p.groupId,
              storage,
              maxBatchBytes: config.maxBatchBytes,
              tuning: { electionTicks: this.o.timing.electionTicks, heartbeatTicks: this.o.timing.heartbeatTicks },
            }),
          );
        } catch (err) {
          await storage.closeAndWait();
          throw err;
        }
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
