/**
 * The peer-to-peer transport contract for Multi-Raft. One logical link per
 * peer pair carries the traffic of every Raft group on both nodes, so every
 * payload is a `PeerBatch`: full Raft messages tagged with their group, plus
 * coalesced heartbeats (one light tuple per group instead of one message).
 */
import type { Message, NodeId } from '../types.ts';

/** A Raft group id (a partition or the controller). Non-negative integer. */
export type GroupId = number;

export interface GroupMessage {
  group: GroupId;
  msg: Message;
}

/** Flags on a coalesced heartbeat. Append-only bit values (they travel on the wire). */
export const BeatFlag = {
  /** The leader goes quiet for this group: the follower stops its election timer until traffic resumes. */
  Quiesce: 1,
} as const;

/** A leader's heartbeat for one group, without the per-message overhead. */
export interface HeartbeatBeat {
  group: GroupId;
  term: number;
  commit: number;
  flags: number;
}

/** A follower's answer to one coalesced heartbeat. */
export interface HeartbeatAck {
  group: GroupId;
  term: number;
}

/** Everything one node sends to one peer in one flush. */
export interface PeerBatch {
  messages: GroupMessage[];
  heartbeats: HeartbeatBeat[];
  heartbeatAcks: HeartbeatAck[];
}

export type BatchHandler = (from: NodeId, batch: PeerBatch) => void;
export type UnreachableHandler = (peer: NodeId) => void;

export interface Transport {
  readonly localId: NodeId;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Queue a batch for `to`. Returns false when the batch was dropped (peer
   * unknown, disconnected, or its send queue full); the unreachable handler
   * fires as well so the Raft leader can fall back to probing.
   */
  send(to: NodeId, batch: PeerBatch): boolean;
  onMessage(handler: BatchHandler): void;
  onUnreachable(handler: UnreachableHandler): void;
  /** True when a link to `peer` is currently up (best effort; used for liveness hints). */
  isConnected(peer: NodeId): boolean;
}

export function emptyBatch(): PeerBatch {
  return { messages: [], heartbeats: [], heartbeatAcks: [] };
}

export function batchIsEmpty(b: PeerBatch): boolean {
  return b.messages.length === 0 && b.heartbeats.length === 0 && b.heartbeatAcks.length === 0;
}
