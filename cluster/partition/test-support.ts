/**
 * An in-process cluster of replicated partitions for tests and the
 * benchmark: N MultiRaftHosts over one MemoryHub, each node with one
 * PartitionRaftStorage (FileLog on a temp dir) and one ReplicatedPartition of
 * the same group. A follower installing a snapshot fetches the missing
 * batches from whichever node currently leads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IntervalTicker } from '../raft/driver/ticker.ts';
import { MultiRaftHost } from '../raft/multiraft/multiraft-host.ts';
import { MemoryHub } from '../raft/transport/memory-hub.ts';
import type { NodeId } from '../raft/types.ts';
import { PartitionRaftStorage } from './partition-raft-storage.ts';
import { ReplicatedPartition } from './replicated-partition.ts';

export interface PartitionClusterOptions {
  nodes?: number;
  tickMs?: number;
  electionTicks?: number;
  windowBytesMax?: number;
  /** Unsynced writes are lost on crashNode (FileLog's power-loss simulation). */
  simulatePowerLoss?: boolean;
  copyBatches?: boolean;
  quiesce?: boolean;
  requestTimeoutTicks?: number;
  /** Initial voters (default: every node); the others start empty, to be added by membership changes. */
  voters?: NodeId[];
}

export interface PartitionNode {
  host: MultiRaftHost;
  storage: PartitionRaftStorage;
  partition: ReplicatedPartition;
}

export const GROUP_ID = 1;

export class PartitionCluster {
  readonly hub: MemoryHub;
  readonly dir: string;
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, PartitionNode>();
  private readonly o: PartitionClusterOptions;

  private constructor(o: PartitionClusterOptions) {
    this.o = o;
    this.hub = new MemoryHub({ copyBatches: o.copyBatches ?? true });
    this.ids = Array.from({ length: o.nodes ?? 3 }, (_, i) => i + 1);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-partition-'));
  }

  static async start(o: PartitionClusterOptions = {}): Promise<PartitionCluster> {
    const c = new PartitionCluster(o);
    try {
      for (const id of c.ids) await c.startNode(id);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  dataDir(id: NodeId): string {
    return path.join(this.dir, `n${id}`);
  }

  async startNode(id: NodeId): Promise<PartitionNode> {
    const tickMs = this.o.tickMs ?? 10;
    const electionTicks = this.o.electionTicks ?? 10;
    const storage = await PartitionRaftStorage.open({
      dir: this.dataDir(id),
      bootstrapConf: { voters: this.o.voters ?? this.ids },
      windowBytesMax: this.o.windowBytesMax,
      fileLogOptions: { simulatePowerLoss: this.o.simulatePowerLoss ?? false },
      fetchRange: (from, to, maxBytes) => {
        const leader = this.leaderPartition();
        if (!leader || leader.nodeId === id)
          return Promise.reject(new Error(`no leader to fetch [${from}, ${to}) from`));
        return leader.fetchCommittedRange(from, to, maxBytes);
      },
    });
    const host = new MultiRaftHost({
      nodeId: id,
      transport: this.hub.transport(id),
      ticker: new IntervalTicker(tickMs),
      peers: this.ids,
      tuning: { electionTicks, heartbeatTicks: 1 },
      quiesce: this.o.quiesce ?? true,
      seed: id * 7919,
    });
    await host.start();
    const partition = ReplicatedPartition.create({
      topic: 't',
      partition: 0,
      nodeId: id,
      host,
      groupId: GROUP_ID,
      storage,
      group: { requestTimeoutTicks: this.o.requestTimeoutTicks ?? 200 },
    });
    const node = { host, storage, partition };
    this.nodes.set(id, node);
    return node;
  }

  /** Graceful stop: closes the partition (the log is flushed), then the host. */
  async stopNode(id: NodeId): Promise<void> {
    const n = this.nodes.get(id);
    if (!n) return;
    this.nodes.delete(id);
    await n.partition.close();
    await n.host.stop();
  }

  /** A crash: nothing is flushed; with simulatePowerLoss, unsynced bytes are gone. */
  async crashNode(id: NodeId): Promise<void> {
    const n = this.nodes.get(id);
    if (!n) return;
    this.nodes.delete(id);
    await n.storage.simulateCrash();
    await n.host.stop();
  }

  partitionOf(id: NodeId): ReplicatedPartition {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n.partition;
  }

  leaderId(): NodeId {
    for (const [id, n] of this.nodes) if (n.partition.isLeader) return id;
    return 0;
  }

  leaderPartition(): ReplicatedPartition | undefined {
    const id = this.leaderId();
    return id === 0 ? undefined : this.nodes.get(id)?.partition;
  }

  async until(check: () => boolean, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async waitForLeader(opts?: { timeoutMs?: number; not?: NodeId }): Promise<ReplicatedPartition> {
    await this.until(() => {
      const id = this.leaderId();
      return id !== 0 && id !== opts?.not;
    }, opts);
    return this.leaderPartition()!;
  }

  /** Every byte of a node's log, [startOffset, endOffset), read straight from its FileLog. */
  async logBytes(id: NodeId, upTo?: number): Promise<Buffer> {
    const log = this.nodes.get(id)!.storage.log;
    const end = upTo ?? log.endOffset;
    const parts: Uint8Array[] = [];
    let at = log.startOffset;
    // Bounded: each read returns at least one batch or we stop.
    while (at < end) {
      const r = await log.read(at, 1024 * 1024, end);
      if (r.chunks.length === 0) break;
      parts.push(...r.chunks);
      at = r.nextOffset;
    }
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
