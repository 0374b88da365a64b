/** Typed errors of gossip membership. One class per condition, stable name and code. */

/** Bytes that are not a well-formed heartbeat (bad msgpack, missing or out-of-range field). */
export class MalformedHeartbeatError extends Error {
  override readonly name = 'MalformedHeartbeatError';
  readonly code = 'MEMBERSHIP_MALFORMED_HEARTBEAT';
}

export class HeartbeatTooLargeError extends Error {
  override readonly name = 'HeartbeatTooLargeError';
  readonly code = 'MEMBERSHIP_HEARTBEAT_TOO_LARGE';
  constructor(bytes: number, bytesMax: number) {
    super(`membership: heartbeat of ${bytes} bytes exceeds ${bytesMax}`);
  }
}

export class WrongClusterError extends Error {
  override readonly name = 'WrongClusterError';
  readonly code = 'MEMBERSHIP_WRONG_CLUSTER';
  constructor(got: string, expected: string) {
    super(`membership: heartbeat for cluster ${JSON.stringify(got)}, this is ${JSON.stringify(expected)}`);
  }
}

/** The heartbeat names a peer id other than the key that signed it. */
export class SignerMismatchError extends Error {
  override readonly name = 'SignerMismatchError';
  readonly code = 'MEMBERSHIP_SIGNER_MISMATCH';
  constructor(claimed: string, signer: string) {
    super(`membership: heartbeat claims peer ${claimed} but was signed by ${signer}`);
  }
}

/** A node id already bound to another (not dead) peer id is claimed by a different peer. */
export class NodeIdSpoofedError extends Error {
  override readonly name = 'NodeIdSpoofedError';
  readonly code = 'MEMBERSHIP_NODE_ID_SPOOFED';
  constructor(nodeId: number, boundPeerId: string, claimant: string) {
    super(`membership: node ${nodeId} belongs to ${boundPeerId}, claimed by ${claimant}`);
  }
}

/** A peer id already bound to one node id claims another one. */
export class PeerIdReusedError extends Error {
  override readonly name = 'PeerIdReusedError';
  readonly code = 'MEMBERSHIP_PEER_ID_REUSED';
  constructor(peerId: string, boundNodeId: number, claimedNodeId: number) {
    super(`membership: peer ${peerId} is node ${boundNodeId}, now claims node ${claimedNodeId}`);
  }
}

export class MembersLimitError extends Error {
  override readonly name = 'MembersLimitError';
  readonly code = 'MEMBERSHIP_MEMBERS_LIMIT';
  constructor(membersMax: number) {
    super(`membership: view already holds ${membersMax} members`);
  }
}

export class MembershipConfigError extends Error {
  override readonly name = 'MembershipConfigError';
  readonly code = 'MEMBERSHIP_CONFIG';
}

export class MembershipStateError extends Error {
  override readonly name = 'MembershipStateError';
  readonly code = 'MEMBERSHIP_STATE';
}

/** The key file in the data dir exists but cannot be read as a libp2p private key. */
export class NodeKeyCorruptError extends Error {
  override readonly name = 'NodeKeyCorruptError';
  readonly code = 'MEMBERSHIP_NODE_KEY_CORRUPT';
}

/** Every reason a received heartbeat is dropped, as counted in metrics. */
export const RejectReason = {
  Malformed: 'malformed',
  TooLarge: 'too_large',
  WrongCluster: 'wrong_cluster',
  SignerMismatch: 'signer_mismatch',
  NodeIdSpoofed: 'node_id_spoofed',
  PeerIdReused: 'peer_id_reused',
  MembersLimit: 'members_limit',
  Unsigned: 'unsigned',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

export function rejectReasonOf(err: unknown): RejectReason {
  if (err instanceof HeartbeatTooLargeError) return RejectReason.TooLarge;
  if (err instanceof WrongClusterError) return RejectReason.WrongCluster;
  if (err instanceof SignerMismatchError) return RejectReason.SignerMismatch;
  if (err instanceof NodeIdSpoofedError) return RejectReason.NodeIdSpoofed;
  if (err instanceof PeerIdReusedError) return RejectReason.PeerIdReused;
  if (err instanceof MembersLimitError) return RejectReason.MembersLimit;
  return RejectReason.Malformed;
}
