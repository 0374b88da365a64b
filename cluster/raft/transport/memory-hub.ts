/**
 * An in-process network for tests and single-process benchmarks. Delivery is
 * asynchronous (a macrotask later), as on a real network, and batches are deep
 * copied through the wire codec so nodes never share objects. Tests can
 * partition, heal, isolate and drop.
 */
import type { NodeId, Prng } from '../types.ts';
import { cloneBatch } from './batch-codec.ts';
import type { BatchHandler, PeerBatch, Transport, UnreachableHandler } from './transport.ts';

export interface MemoryHubOptions {
  /** Copy each batch through the codec (default true). Benchmarks may turn it off to isolate Raft cost. */
  copyBatches?: boolean;
  /** Bound on batches in flight per directed link; beyond it batches are dropped. */
  inFlightBatchesMax?: number;
}

export class MemoryHub {
  private readonly nodes = new Map<NodeId, MemoryTransport>();
  private readonly blocked = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private dropRate = 0;
  private prng: Prng | undefined;
  readonly copyBatches: boolean;
  readonly inFlightBatchesMax: number;
  delivered = 0;
  dropped = 0;

  constructor(options: MemoryHubOptions = {}) {
    this.copyBatches = options.copyBatches ?? true;
    this.inFlightBatchesMax = options.inFlightBatchesMax ?? 10_000;
  }

  transport(id: NodeId): MemoryTransport {
    let t = this.nodes.get(id);
    if (!t) {
      t = new MemoryTransport(this, id);
      this.nodes.set(id, t);
    }
    return t;
  }

  /** Cut every link between the two sides (both directions). */
  partition(sideA: NodeId[], sideB: NodeId[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.blocked.add(linkKey(a, b));
        this.blocked.add(linkKey(b, a));
      }
    }
  }

  /** Cut one direction only (asymmetric partition). */
  cut(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  isolate(id: NodeId): void {
    const others = [...this.nodes.keys()].filter((n) => n !== id);
    this.partition([id], others);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Drop each batch with probability `rate`, decided by the given PRNG (reproducible). */
  setDropRate(rate: number, prng: Prng): void {
    this.dropRate = rate;
    this.prng = prng;
  }

  /** @internal */
  route(from: NodeId, to: NodeId, batch: PeerBatch): boolean {
    const dest = this.nodes.get(to);
    const key = linkKey(from, to);
    if (!dest?.running || this.blocked.has(key)) {
      this.dropped++;
      return false;
    }
    if (this.dropRate > 0 && this.prng && this.prng.nextInt(1_000_000) < this.dropRate * 1_000_000) {
      this.dropped++;
      return true; // lost in flight: the sender cannot know
    }
    const inFlight = this.inFlight.get(key) ?? 0;
    if (inFlight >= this.inFlightBatchesMax) {
      this.dropped++;
      return false;
    }
    this.inFlight.set(key, inFlight + 1);
    const copy = this.copyBatches ? cloneBatch(batch) : batch;
    setImmediate(() => {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
      // Re-check at delivery: a partition or stop that happened meanwhile eats the batch.
      if (!dest.running || this.blocked.has(key)) {
        this.dropped++;
        return;
      }
      this.delivered++;
      dest.deliver(from, copy);
    });
    return true;
  }

  /** @internal */
  reachable(from: NodeId, to: NodeId): boolean {
    const dest = this.nodes.get(to);
    return !!dest && dest.running && !this.blocked.has(linkKey(from, to));
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export class MemoryTransport implements Transport {
  readonly localId: NodeId;
  running = false;
  private readonly hub: MemoryHub;
  private handler: BatchHandler | undefined;
  private unreachable: UnreachableHandler | undefined;

  constructor(hub: MemoryHub, id: NodeId) {
    this.hub = hub;
    this.localId = id;
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  send(to: NodeId, batch: PeerBatch): boolean {
    if (!this.running) return false;
    const ok = this.hub.route(this.localId, to, batch);
    if (!ok) this.unreachable?.(to);
    return ok;
  }

  onMessage(handler: BatchHandler): void {
    this.handler = handler;
  }

  onUnreachable(handler: UnreachableHandler): void {
    this.unreachable = handler;
  }

  isConnected(peer: NodeId): boolean {
    return this.running && this.hub.reachable(this.localId, peer);
  }

  /** @internal */
  deliver(from: NodeId, batch: PeerBatch): void {
    this.handler?.(from, batch);
  }
}
