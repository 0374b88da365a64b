import {
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Ready,
} from '../../types.ts';
import { decodeConfChange } from '../conf-change.ts';
import { defaultRaftConfig } from '../config.ts';
import { MemoryStorage } from '../memory-storage.ts';
import { SeededPrng } from '../prng.ts';
import { RaftNode } from '../raft-node.ts';

/** Bound on stabilize() rounds: a livelock in the core fails a test instead of hanging it. */
const stabilizeRoundsMax = 10_000;

export interface TestNode {
  id: NodeId;
  raft: RaftNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  config: RaftConfig;
}

export interface TestClusterOptions {
  voters: NodeId[];
  learners?: NodeId[];
  seed?: number;
  configure?: (c: RaftConfig) => void;
}

/**
 * An in-memory cluster for unit and interaction tests: one queue of messages,
 * Readies handled in the driver's order (persist, send, apply, advance).
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Nodes whose messages are dropped in both directions. */
  readonly isolated = new Set<NodeId>();
  readonly options: TestClusterOptions;
  private seed: number;

  constructor(options: TestClusterOptions) {
    this.options = options;
    this.seed = options.seed ?? 1;
    for (const id of options.voters) this.addNode(id, options.voters, options.learners ?? []);
    for (const id of options.learners ?? []) this.addNode(id, options.voters, options.learners ?? []);
  }

  addNode(id: NodeId, voters: NodeId[], learners: NodeId[]): TestNode {
    const storage = new MemoryStorage({ voters, learners });
    const config = defaultRaftConfig(id, new SeededPrng(this.seed * 1000 + id));
    config.electionTicks = 10;
    config.heartbeatTicks = 1;
    this.options.configure?.(config);
    const node: TestNode = { id, raft: new RaftNode(config, storage), storage, applied: [], readStates: [], config };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Persist, send, apply, advance. Returns the Ready (for inspection). */
  handleReady(id: NodeId): Ready | undefined {
    const n = this.node(id);
    if (!n.raft.hasReady()) return undefined;
    const rd = n.raft.ready();
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    n.storage.append(rd.entries);
    this.queue.push(...rd.earlyMessages, ...rd.messages);
    for (const e of rd.committedEntries) {
      n.applied.push(e);
      if (e.type === EntryType.ConfChange) n.raft.applyConfChange(decodeConfChange(e.data));
    }
    n.readStates.push(...rd.readStates);
    n.raft.advance();
    return rd;
  }

  /** Delivers queued messages (those to or from isolated nodes are dropped). */
  deliver(filter?: (m: Message) => boolean): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of batch) {
      if (filter && !filter(m)) continue;
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) continue;
      const to = this.nodes.get(m.to);
      if (!to) continue;
      to.raft.step(m);
      delivered++;
    }
    return delivered;
  }

  /** Process readies and messages until nothing moves. */
  stabilize(): void {
    for (let round = 0; round < stabilizeRoundsMax; round++) {
      let moved = false;
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
        while (this.handleReady(id)) moved = true;
      }
      if (this.queue.length > 0) {
        this.deliver();
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('stabilize: no fixpoint within bound');
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).raft.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const node of this.nodes.values()) node.raft.tick();
  }

  /** Campaign `id` and stabilize; asserts it won. */
  elect(id: NodeId): void {
    this.node(id).raft.campaign();
    this.stabilize();
    const st = this.node(id).raft.status();
    if (st.role !== 'leader') throw new Error(`node ${id} did not win (role ${st.role})`);
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raft.status().role === 'leader').map((n) => n.id);
  }

  appliedData(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
