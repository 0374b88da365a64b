/** The data model of gossip membership: what a heartbeat says and what the view makes of it. */

/** A node id as the Raft groups use it (cluster/raft/types.ts NodeId): a positive integer. */
export type MemberNodeId = number;

export const MemberState = {
  Alive: 'alive',
  Suspect: 'suspect',
  Dead: 'dead',
} as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

export interface MemberAddresses {
  /** host:port where clients reach this node. */
  client: string;
  /** host:port of this node's Raft transport. */
  raft: string;
}

export interface MemberLoad {
  /** Partitions this node currently leads. */
  partitionsLed: number;
  /** CPU use as a fraction of one core's worth per core, 0..1 (load average / cores, clamped). */
  cpu: number;
}

/** One heartbeat as published on the gossip topic (msgpackr-encoded). */
export interface Heartbeat {
  nodeId: MemberNodeId;
  /** libp2p peer id (base58) of the key that signs this node's heartbeats. */
  peerId: string;
  clusterId: string;
  addresses: MemberAddresses;
  /** libp2p listen multiaddrs, so peers can connect to each other and not only to the seeds. */
  p2pAddrs: string[];
  rack: string;
  load: MemberLoad;
  version: string;
  /** Restart counter persisted in the data dir: a restarted node outranks its former self. */
  incarnation: number;
  /** Per-incarnation sequence number, starts at 0 and grows by one per heartbeat. */
  seq: number;
}

/** What the view tells the rest of the node about one member. */
export interface MemberSnapshot {
  nodeId: MemberNodeId;
  peerId: string;
  state: MemberState;
  addresses: MemberAddresses;
  p2pAddrs: readonly string[];
  rack: string;
  load: MemberLoad;
  version: string;
  incarnation: number;
  seq: number;
  /** Clock reading (ms, from the clock the view is driven with) of the last accepted heartbeat. */
  lastSeenMs: number;
  /** Clock reading of the last state change. */
  stateSinceMs: number;
}

export const MemberEventType = {
  Joined: 'joined',
  Suspect: 'suspect',
  Dead: 'dead',
  Alive: 'alive',
  Updated: 'updated',
} as const;
export type MemberEventType = (typeof MemberEventType)[keyof typeof MemberEventType];

export interface MemberEvent {
  type: MemberEventType;
  member: MemberSnapshot;
  /** State before the event; undefined for joined. */
  previousState: MemberState | undefined;
  /** Why: 'heartbeat', 'timeout', 'connection-closed', 'removed'. */
  reason: string;
}
