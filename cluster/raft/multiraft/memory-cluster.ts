/**
 * An in-process Multi-Raft cluster over a MemoryHub, for tests and the
 * in-process benchmark: N hosts, each with one ManualTicker or IntervalTicker,
 * groups created on every node with memory or file storage.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RaftTuning } from '../driver/create-core.ts';
import type { RaftGroup } from '../driver/raft-group.ts';
import { IntervalTicker, ManualTicker, type Ticker } from '../driver/ticker.ts';
import { KvStateMachine } from '../examples/kv-state-machine.ts';
import { FileLogStorage } from '../storage/file-storage.ts';
import { MemoryRaftStorage } from '../storage/memory-raft-storage.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import { MemoryHub } from '../transport/memory-hub.ts';
import type { NodeId } from '../types.ts';
import { type CreateGroupOptions, MultiRaftHost } from './multiraft-host.ts';

export interface MemoryClusterOptions {
  nodes: number;
  /** 'manual' (tests step time) or a tick interval in ms. */
  tick: 'manual' | number;
  tuning?: RaftTuning;
  quiesce?: boolean;
  /** Durable file storage in a temp dir (removed by close()) instead of memory. */
  fileStorage?: boolean;
  copyBatches?: boolean;
  seed?: number;
}

export class MemoryCluster {
  readonly hub: MemoryHub;
  readonly hosts = new Map<NodeId, MemoryHostEntry>();
  readonly ids: NodeId[];
  readonly dataDir: string | undefined;
  private readonly o: MemoryClusterOptions;

  private constructor(o: MemoryClusterOptions) {
    this.o = o;
    this.hub = new MemoryHub({ copyBatches: o.copyBatches ?? true });
    this.ids = Array.from({ length: o.nodes }, (_, i) => i + 1);
    this.dataDir = o.fileStorage ? fs.mkdtempSync(path.join(os.tmpdir(), 'raft-cluster-')) : undefined;
  }

  static async start(o: MemoryClusterOptions): Promise<MemoryCluster> {
    const c = new MemoryCluster(o);
    for (const id of c.ids) await c.startHost(id);
    return c;
  }

  async startHost(id: NodeId): Promise<MultiRaftHost> {
    const ticker: Ticker = this.o.tick === 'manual' ? new ManualTicker() : new IntervalTicker(this.o.tick);
    const host = new MultiRaftHost({
      nodeId: id,
      transport: this.hub.transport(id),
      ticker,
      peers: this.ids,
      tuning: this.o.tuning ?? {},
      quiesce: this.o.quiesce ?? true,
      seed: (this.o.seed ?? 1) * 1000 + id,
    });
    await host.start();
    this.hosts.set(id, { host, ticker, sms: new Map() });
    return host;
  }

  async stopHost(id: NodeId): Promise<void> {
    const e = this.hosts.get(id);
    if (!e) return;
    this.hosts.delete(id);
    await e.host.stop();
  }

  storageFor(node: NodeId, group: number, voters: NodeId[]): RaftStorage {
    if (!this.dataDir) return new MemoryRaftStorage({ voters });
    return FileLogStorage.open({ dir: path.join(this.dataDir, `n${node}`, `g${group}`), bootstrapConf: { voters } });
  }

  /** Creates `group` on every running host (voters = all nodes). */
  createGroup(group: number, voters: NodeId[] = this.ids, options: CreateGroupOptions['group'] = {}): void {
    for (const [id, e] of this.hosts) {
      if (!voters.includes(id)) continue;
      const sm = new KvStateMachine();
      e.sms.set(group, sm);
      e.host.createGroup(group, { storage: this.storageFor(id, group, voters), stateMachine: sm, group: options });
    }
  }

  group(node: NodeId, group: number): RaftGroup {
    return this.hosts.get(node)!.host.group(group);
  }

  sm(node: NodeId, group: number): KvStateMachine {
    return this.hosts.get(node)!.sms.get(group)!;
  }

  /** Advances every manual ticker by one tick (no-op for interval tickers). */
  tickAll(): void {
    for (const e of this.hosts.values()) if (e.ticker instanceof ManualTicker) e.ticker.tick();
  }

  leaderOf(group: number): NodeId {
    for (const [id, e] of this.hosts) {
      if (e.host.hasGroup(group) && e.host.group(group).role === 'leader') return id;
    }
    return 0;
  }

  /** Ticks (manual mode) and yields until `check` holds. */
  async until(check: () => boolean, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`cluster condition not met within ${timeoutMs} ms`);
      this.tickAll();
      await new Promise((r) => setTimeout(r, this.o.tick === 'manual' ? 1 : 5));
    }
  }

  async waitForLeader(group: number, opts?: { timeoutMs?: number }): Promise<NodeId> {
    await this.until(() => this.leaderOf(group) !== 0, opts);
    return this.leaderOf(group);
  }

  async close(): Promise<void> {
    for (const id of [...this.hosts.keys()]) await this.stopHost(id);
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface MemoryHostEntry {
  host: MultiRaftHost;
  ticker: Ticker;
  sms: Map<number, KvStateMachine>;
}
