/**
 * Per-peer accumulation of everything this node's groups want to send during
 * one event-loop turn, flushed as ONE frame per peer. Heartbeats and their
 * acks without a read context are reduced to (group, term, commit) tuples;
 * everything else travels as a full message.
 */
import { emptyBatch, type GroupId, type PeerBatch } from '../transport/transport.ts';
import { type Message, MessageType, type NodeId } from '../types.ts';

export class Outbox {
  private readonly batches = new Map<NodeId, PeerBatch>();
  /** Groups with full messages per peer: told when that peer turns out unreachable. */
  private readonly groupsByPeer = new Map<NodeId, Set<GroupId>>();

  add(group: GroupId, m: Message): void {
    const b = this.batchFor(m.to);
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
    this.batchFor(to).heartbeats.push({ group, term, commit, flags });
  }

  /** Ensures a (possibly empty) frame goes to `to` this turn: the host-level liveness signal. */
  touch(to: NodeId): void {
    this.batchFor(to);
  }

  get size(): number {
    return this.batches.size;
  }

  /** Takes everything queued so far. */
  drain(): { batches: Map<NodeId, PeerBatch>; groupsByPeer: Map<NodeId, Set<GroupId>> } {
    const out = { batches: new Map(this.batches), groupsByPeer: new Map(this.groupsByPeer) };
    this.batches.clear();
    this.groupsByPeer.clear();
    return out;
  }

  private batchFor(to: NodeId): PeerBatch {
    let b = this.batches.get(to);
    if (!b) {
      b = emptyBatch();
      this.batches.set(to, b);
    }
    return b;
  }
}
