/** Typed errors a RaftGroup hands to callers. One class per condition. */
import type { NodeId } from '../types.ts';

export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  readonly code = 'RAFT_NOT_LEADER';
  /** The leader this node knows of, 0 if none. */
  readonly leaderId: NodeId;
  constructor(leaderId: NodeId) {
    super(`raft: not the leader (leader: ${leaderId || 'unknown'})`);
    this.leaderId = leaderId;
  }
}

/**
 * Leadership changed while the proposal or read was pending. The outcome is
 * UNKNOWN: the entry may still commit under the next leader (a Jepsen "info").
 */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
  readonly code = 'RAFT_LEADERSHIP_LOST';
  constructor() {
    super('raft: leadership lost while the request was pending; outcome unknown');
  }
}

/** Another entry (another term) was committed at the proposal's index: it definitely failed. */
export class ProposalOverwrittenError extends Error {
  override readonly name = 'ProposalOverwrittenError';
  readonly code = 'RAFT_PROPOSAL_OVERWRITTEN';
  constructor(index: number, term: number, landedTerm: number) {
    super(`raft: entry ${index} of term ${term} was replaced by one of term ${landedTerm}`);
  }
}

/** The request did not finish within its tick budget. Outcome unknown for proposals. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  readonly code = 'RAFT_REQUEST_TIMEOUT';
}

export class TooManyPendingError extends Error {
  override readonly name = 'TooManyPendingError';
  readonly code = 'RAFT_TOO_MANY_PENDING';
  constructor(what: string, limit: number) {
    super(`raft: more than ${limit} pending ${what}`);
  }
}

export class GroupStoppedError extends Error {
  override readonly name = 'GroupStoppedError';
  readonly code = 'RAFT_GROUP_STOPPED';
  constructor() {
    super('raft: group stopped');
  }
}

export class AbortedError extends Error {
  override readonly name = 'AbortedError';
  readonly code = 'RAFT_ABORTED';
  constructor() {
    super('raft: request aborted');
  }
}
