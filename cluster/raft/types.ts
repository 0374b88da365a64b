/**
 * The contract of raftbus's Raft module: the data the pure core consumes and
 * produces. The core (`core/`), the simulator (`sim/`) and the drivers
 * (`driver/`, `multiraft/`) all build against this file. Change it only with
 * care: every field here is on the wire or on disk somewhere.
 *
 * Model (etcd raft): the application calls `tick()`, `step(msg)`, `propose()`,
 * then drains `ready()`: it persists `hardState`/`entries`/`snapshot` (fsync when
 * `mustSync`), sends `messages`, applies `committedEntries`, and calls `advance()`.
 * Time is counted in ticks; randomness comes from an injected `Prng`.
 */

/** A node (broker) id. 0 means "none". */
export type NodeId = number;
export const NONE: NodeId = 0;

/** Append-only: never renumber (these travel on the wire). */
export const MessageType = {
  /** Candidate asks for a vote (term already incremented and persisted). */
  Vote: 1,
  VoteResp: 2,
  /** Pre-vote (Raft thesis §9.6): asks "would you vote for me at term+1?" without bumping any term. */
  PreVote: 3,
  PreVoteResp: 4,
  /** AppendEntries. */
  App: 5,
  AppResp: 6,
  Heartbeat: 7,
  HeartbeatResp: 8,
  /** InstallSnapshot. */
  Snapshot: 9,
  /** Leadership transfer: the target should campaign at once (thesis §3.10). */
  TimeoutNow: 10,
  /** A follower forwards a ReadIndex request to the leader. */
  ReadIndex: 11,
  ReadIndexResp: 12,
  /** A follower forwards a proposal to the leader (optional; drivers may disable). */
  Prop: 13,
  /** A follower asks the leader to transfer leadership (forwarded). */
  TransferLeader: 14,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Append-only: never renumber (these are stored in logs). */
export const EntryType = {
  Normal: 0,
  /** `data` is an encoded ConfChange (see encodeConfChange in core). */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to the core. Empty for the no-op entry a new leader appends. */
  data: Uint8Array;
}

/** The state that must be durable before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Non-empty only while a joint configuration (C_old,new) is in force. */
  votersOutgoing: NodeId[];
}

export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner';

/**
 * One membership step. A list with more than one change requests a joint
 * change (if the core supports it); a single change is applied one server at a time.
 */
export interface ConfChange {
  changes: { type: ConfChangeType; nodeId: NodeId }[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The application's state-machine image; opaque to the core. */
  data: Uint8Array;
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: term of the entry at `index` (prev log term). Vote/PreVote: candidate's last log term. */
  logTerm: number;
  /** App: prev log index. Vote/PreVote: candidate's last log index. AppResp: the index acknowledged or rejected. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppResp with reject: the follower's hint for fast backtracking (last index it may match). */
  rejectHint: number;
  /** AppResp with reject: the term of the follower's entry at rejectHint (etcd's "findConflictByTerm"). */
  rejectHintTerm: number;
  snapshot?: Snapshot;
  /** ReadIndex / Heartbeat round-trip context. */
  context?: Uint8Array;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface SoftState {
  leaderId: NodeId;
  role: Role;
}

/** A linearizable read may be served once the applied index reaches `index`. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

export interface Ready {
  /** Set when changed since the last advance(); persist it. */
  softState?: SoftState;
  hardState?: HardState;
  /** Append to stable storage; an entry at an existing index replaces that index and everything after it. */
  entries: Entry[];
  /** A snapshot to persist and install (replaces the log up to its index). */
  snapshot?: Snapshot;
  /** True when hardState (term/vote) or entries changed: fsync before sending `messages`. */
  mustSync: boolean;
  /**
   * Messages that may only leave after this Ready's hardState/entries/snapshot are durable
   * (vote grants, append acknowledgements, a candidate's vote requests).
   */
  messages: Message[];
  /**
   * Messages that do not depend on this Ready's persistence and may be sent
   * before or while it is written: the leader's AppendEntries/heartbeats. The
   * leader counts its own copy of an entry only after advance() says it is durable.
   */
  earlyMessages: Message[];
  /** Committed and durable entries to apply to the state machine, in order. */
  committedEntries: Entry[];
  readStates: ReadState[];
}

/** Seeded, deterministic randomness passed into the core. */
export interface Prng {
  /** An integer in [0, n). */
  nextInt(n: number): number;
}

/**
 * Test-only switches that each break one Raft rule, so the simulator can prove
 * it catches the breakage. Never set in production code.
 */
export interface UnsafeRaftSwitches {
  /** (a) Grant votes without the "candidate's log is at least as up-to-date" check (§5.4.1). */
  voteWithoutLogCheck?: boolean;
  /** (b) Commit entries of a previous term by counting replicas (violates §5.4.2 / Figure 8). */
  commitPreviousTermByCount?: boolean;
  /** (c) Send the vote reply before the vote is persisted (puts VoteResp in earlyMessages). */
  replyBeforePersistingVote?: boolean;
  /** (d) Follower accepts AppendEntries without the prevLogIndex/prevLogTerm check (§5.3). */
  acceptWithoutPrevCheck?: boolean;
}

export interface RaftConfig {
  id: NodeId;
  /** Election timeout is drawn from [electionTicks, 2*electionTicks). Must be > heartbeatTicks. */
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Max bytes of entries in one App message (at least one entry is always sent). */
  maxMsgBytes: number;
  /** Max App messages in flight to one follower (pipelining window). */
  maxInflightMsgs: number;
  /** Max bytes of entries in flight to one follower; 0 = unlimited. */
  maxInflightBytes: number;
  /** Max bytes of proposed-but-uncommitted entries at the leader; 0 = unlimited. Excess proposals are dropped. */
  maxUncommittedBytes: number;
  /** 'safe' = ReadIndex confirms leadership with a heartbeat round; 'lease' needs checkQuorum (validated). */
  readOnly: 'safe' | 'lease';
  /** Last index the application has applied (on restart). */
  applied: number;
  prng: Prng;
  unsafe?: UnsafeRaftSwitches;
}

/**
 * The stable log the core reads from (etcd's Storage). The application writes
 * to it when handling Ready; the core only reads. Indexes are 1-based; index
 * `firstIndex()-1` is the snapshot's (its term is still answerable).
 */
export interface RaftLogStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if lo < hi, at most maxBytes total otherwise. Throws CompactedError / UnavailableError. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. Throws CompactedError / UnavailableError. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export class CompactedError extends Error {
  override readonly name = 'CompactedError';
  readonly code = 'RAFT_LOG_COMPACTED';
  constructor(index: number) {
    super(`raft log: index ${index} is compacted`);
  }
}

export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  readonly code = 'RAFT_LOG_UNAVAILABLE';
  constructor(index: number) {
    super(`raft log: index ${index} is not available`);
  }
}

export class ProposalDroppedError extends Error {
  override readonly name = 'ProposalDroppedError';
  readonly code = 'RAFT_PROPOSAL_DROPPED';
  constructor(reason: string) {
    super(`raft: proposal dropped: ${reason}`);
  }
}

export class RaftConfigError extends Error {
  override readonly name = 'RaftConfigError';
  readonly code = 'RAFT_CONFIG_INVALID';
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  role: Role;
  leaderId: NodeId;
  lastIndex: number;
  conf: ConfState;
  /** Leader only. */
  progress?: Map<NodeId, ProgressStatus>;
  leadTransferee: NodeId;
}

/**
 * The core's public surface (implemented by `core/raft-node.ts`).
 * All methods are synchronous and deterministic given the config's Prng.
 */
export interface RaftCore {
  tick(): void;
  step(m: Message): void;
  /** Leader only: appends one Normal entry; returns its index and term. Throws ProposalDroppedError. */
  propose(data: Uint8Array): { index: number; term: number };
  /** Leader only: appends a ConfChange entry. Throws ProposalDroppedError (e.g. a change is already pending). */
  proposeConfChange(cc: ConfChange): { index: number; term: number };
  /** Call when a committed ConfChange entry is applied; returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState;
  /** Start an election now (skipping pre-vote is not allowed: it still runs pre-vote when enabled). */
  campaign(): void;
  transferLeadership(to: NodeId): void;
  /** Request a linearizable read; the answer arrives as a ReadState carrying `context`. */
  readIndex(context: Uint8Array): void;
  hasReady(): boolean;
  ready(): Ready;
  /** Acknowledge the last ready(): its entries/hardState/snapshot are durable, its entries applied. */
  advance(): void;
  /** The transport could not deliver to `id`: the leader falls back to probing it. */
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
  status(): RaftStatus;
}
