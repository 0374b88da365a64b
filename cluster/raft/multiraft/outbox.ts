/**
 * Per-peer accumulation of everything this node's groups want to send during
 * one event-loop turn, flushed as ONE frame per peer. Heartbeats and their
 * acks without a read context are reduced to (group, term, commit) tuples;
 * everything else travels as a full message.
 */
import { emptyBatch, type GroupId, type PeerBatch } from '../transport/transport.ts';
import { type Message, MessageType, type NodeId } from '../types.ts';

/** Rough wire cost of a full message beyond its entry payloads (fields, msgpack framing). */
const messageOverheadBytes = 64;
const entryOverheadBytes = 24;
const beatBytes = 24;

export class Outbox {
  /** Per peer, the batches of this turn; a new one starts when the last would pass batchBytesMax. */
  private readonly batches = new Map<NodeId, PeerBatch[]>();
  private readonly lastBatchBytes = new Map<NodeId, number>();
  readonly batchBytesMax: number;

  /** Keep batchBytesMax well under the transport's frameBytesMax (the estimate is approximate). */
  constructor(batchBytesMax = 4 * 1024 * 1024) {
    this.batchBytesMax = batchBytesMax;
  }
  /** Groups with full messages per peer: told when that peer turns out unreachable. */
  private readonly groupsByPeer = new Map<NodeId, Set<GroupId>>();

  add(group: GroupId, m: Message): void {
    let bytes = messageOverheadBytes + (m.context?.byteLength ?? 0) + (m.snapshot?.data.byteLength ?? 0);
    for (const e of m.entries) bytes += entryOverheadBytes + e.data.byteLength;
    const b = this.batchFor(m.to, bytes);
    const light = m.context === undefined || m.context.byteLength === 0;
    if (m.type === MessageType.Heartbeat && light) {
      b.heartbeats.push({ group, term: m.term, commit: m.commit, flags: 0 });
    } else if (m.type === MessageType.HeartbeatResp && light) {
      b.heartbeatAcks.push({ group, term: m.term });
    } else {
      b.messages.push({ group, msg: m });
      let gs = this.groupsByPeer.get(m.to);
      if (!gs) {
        gs = new Set();
        this.groupsByPeer.set(m.to, gs);
      }
      gs.add(group);
    }
  }

  addQuiesceBeat(to: NodeId, group: GroupId, term: number, commit: number, flags: number): void {
    this.batchFor(to, beatBytes).heartbeats.push({ group, term, commit, flags });
  }

  /** Ensures a (possibly empty) frame goes to `to` this turn: the host-level liveness signal. */
  touch(to: NodeId): void {
    this.batchFor(to, 0);
  }

  get size(): number {
    return this.batches.size;
  }

  /** Takes everything queued so far. */
  drain(): { batches: Map<NodeId, PeerBatch[]>; groupsByPeer: Map<NodeId, Set<GroupId>> } {
    const out = { batches: new Map(this.batches), groupsByPeer: new Map(this.groupsByPeer) };
    this.batches.clear();
    this.lastBatchBytes.clear();
    this.groupsByPeer.clear();
    return out;
  }

  private batchFor(to: NodeId, bytes: number): PeerBatch {
    let list = this.batches.get(to);
    if (!list) {
      list = [emptyBatch()];
      this.batches.set(to, list);
      this.lastBatchBytes.set(to, 0);
    }
    const used = this.lastBatchBytes.get(to)!;
    if (used > 0 && used + bytes > this.batchBytesMax) {
      list.push(emptyBatch());
      this.lastBatchBytes.set(to, bytes);
    } else {
      this.lastBatchBytes.set(to, used + bytes);
    }
    return list[list.length - 1]!;
  }
}
