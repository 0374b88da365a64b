/**
 * The Raft consensus core: a synchronous, deterministic state machine in the
 * style of etcd's raft. No timers, clock, I/O or global randomness: time is
 * tick(), randomness is config.prng, and every effect leaves through ready().
 *
 * Membership: single-server changes (thesis §4.1), not joint consensus. One
 * change per ConfChange entry keeps the rules small enough to audit: any two
 * majorities of consecutive configurations overlap, so no separate C_old,new
 * phase is needed. The known flaw of single-server changes (Ongaro, raft-dev
 * 2015: a leader of a new term may commit a change computed against a stale
 * configuration) is closed the documented way: a leader proposes a change only
 * after an entry of its own term is committed, and at most one change is pending
 * (proposed but not yet applied) at any time. As in etcd, a configuration takes
 * effect when the application applies the committed entry (applyConfChange), and
 * a node with committed-but-unapplied changes does not campaign. Learners are
 * non-voting members that receive the log (catch-up before addVoter).
 */
import {
  CompactedError,
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  ProposalDroppedError,
  type RaftConfig,
  type RaftCore,
  type RaftLogStorage,
  type RaftStatus,
  type ReadState,
  type Ready,
  type Role,
  type SoftState,
} from '../types.ts';
import { applyConfChangeTo, decodeConfChange, encodeConfChange } from './conf-change.ts';
import { validateRaftConfig } from './config.ts';
import { entriesBytes, payloadBytes } from './entry-size.ts';
import { invariant, RaftUsageError } from './errors.ts';
import type { Progress, ProgressState } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import { pendingReadsMax, ReadOnlyQueue } from './read-only.ts';
import { Tracker } from './tracker.ts';

type CampaignType = 'pre-election' | 'election' | 'transfer';

/** Marks a Vote sent because of TimeoutNow: it bypasses leader stickiness (thesis §3.10, §4.2.3). */
const transferContext = new Uint8Array([0x72, 0x61, 0x66, 0x74, 0x3a, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]);

/** Reads waiting for the new leader's first commit in its term. */
const pendingReadIndexMessagesMax = pendingReadsMax;
/**
 * Bound on messages waiting for the next ready(). A driver that stops draining
 * Readies makes further messages drop, which Raft tolerates like network loss.
 */
const outboxMessagesMax = 65_536;
/** Committed entries handed out per Ready: 16 messages' worth, at least 256 KiB (then the next Ready). */
const committedMsgsPerReady = 16;
const committedBytesPerReadyMin = 256 * 1024;

const emptyData = new Uint8Array(0);

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Messages that depend on state made durable by the Ready that carries them. */
function dependsOnPersistence(type: MessageType): boolean {
  return (
    type === MessageType.Vote ||
    type === MessageType.VoteResp ||
    type === MessageType.AppResp ||
    type === MessageType.HeartbeatResp
  );
}

interface InFlightReady {
  hardState: HardState | undefined;
  lastEntry: { index: number; term: number } | undefined;
  snapshotIndex: number | undefined;
  committedEntries: Entry[];
}

export class RaftNode implements RaftCore {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;
  private readonly trk: Tracker;

  private term = 0;
  private vote: NodeId = NONE;
  private lead: NodeId = NONE;
  private role: Role = 'follower';

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private leadTransferee: NodeId = NONE;
  /** Index of the last ConfChange proposed by this leader; no new one while it is unapplied. */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private readonly readOnly = new ReadOnlyQueue();
  private pendingReadIndexMessages: Message[] = [];
  /** TimeoutNow arrived while configuration changes were still unapplied: campaign once they are. */
  private campaignOnApply = false;
  /** Proposals were appended: broadcast them once, at the next ready(), as one batch. */
  private appendPending = false;

  private msgs: Message[] = [];
  private msgsEarly: Message[] = [];
  private readStates: ReadState[] = [];

  private prevSoft: SoftState;
  private prevHard: HardState;
  /** Term and vote known durable (acknowledged by advance()). */
  private durableTerm: number;
  private durableVote: NodeId;
  private inFlight: InFlightReady | undefined;
  /** The last commit index reported (status, hardState): reported commit never goes back. */
  private commitFloor = 0;

  constructor(config: RaftConfig, storage: RaftLogStorage) {
    validateRaftConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.log = new RaftLog(storage);
    this.trk = new Tracker(config.maxInflightMsgs, config.maxInflightBytes);
    const { hardState, confState } = storage.initialState();
    this.trk.setConf(confState, this.log.lastIndex() + 1);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      // A snapshot may be durable while the hard state written with it is not: the
      // snapshot's index is committed by definition, so a lower stored commit is raised.
      invariant(
        hardState.commit <= this.log.lastIndex(),
        `stored commit ${hardState.commit} beyond the last index ${this.log.lastIndex()}`,
      );
      this.log.committed = Math.max(this.log.committed, hardState.commit);
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    this.commitFloor = this.log.committed;
    if (config.applied > this.log.applied) this.log.appliedTo(config.applied);
    this.becomeFollower(this.term, NONE);
    this.prevSoft = this.softState();
    this.prevHard = this.hardState();
    this.durableTerm = this.term;
    this.durableVote = this.vote;
  }

  // ---------------------------------------------------------------- public API

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  campaign(): void {
    this.hup(this.cfg.preVote ? 'pre-election' : 'election');
  }

  propose(data: Uint8Array): { index: number; term: number } {
    this.checkCanPropose();
    const e = this.appendEntry(EntryType.Normal, data);
    return { index: e.index, term: e.term };
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.checkCanPropose();
    if (cc.changes.length !== 1) {
      throw new ProposalDroppedError('this core applies one membership change per entry (no joint consensus)');
    }
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError(`configuration change at ${this.pendingConfIndex} is not applied yet`);
    }
    if (!this.committedEntryInCurrentTerm()) {
      throw new ProposalDroppedError('leader has not committed an entry of its term yet');
    }
    const change = cc.changes[0]!;
    const { type, nodeId } = change;
    const isVoter = this.trk.isVoter(nodeId);
    const isLearner = this.trk.isLearner(nodeId);
    if (type === 'addVoter' && isVoter) throw new ProposalDroppedError(`${nodeId} is already a voter`);
    if (type === 'addLearner' && isLearner) throw new ProposalDroppedError(`${nodeId} is already a learner`);
    if (type === 'removeVoter' && !isVoter && !isLearner) {
      throw new ProposalDroppedError(`${nodeId} is not a member`);
    }
    if ((type === 'removeVoter' || type === 'addLearner') && isVoter && this.trk.voters.size === 1) {
      throw new ProposalDroppedError('cannot remove the last voter');
    }
    const e = this.appendEntry(EntryType.ConfChange, encodeConfChange(cc));
    this.pendingConfIndex = e.index;
    return { index: e.index, term: e.term };
  }

  applyConfChange(cc: ConfChange): ConfState {
    const next = applyConfChangeTo({ voters: this.trk.voters, learners: this.trk.learners }, cc);
    this.trk.setConf(next, this.log.lastIndex() + 1);
    if (this.role === 'leader') {
      if (!this.trk.isVoter(this.id)) {
        // Removed (or demoted) leader: the change is committed, so step down. Hand over to
        // an up-to-date voter at once (§3.10) rather than leaving the group leaderless for
        // an election timeout.
        const successor = this.upToDateVoter();
        if (successor !== NONE) this.send({ type: MessageType.TimeoutNow, to: successor });
        this.becomeFollower(this.term, NONE);
      } else {
        if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
        // A smaller quorum may commit more; new peers need their first App.
        this.maybeCommit();
        this.bcastAppend();
      }
    }
    return this.trk.confState();
  }

  transferLeadership(to: NodeId): void {
    if (this.role === 'leader') {
      this.handleTransferLeader(to);
    } else if (this.lead !== NONE) {
      this.send({ type: MessageType.TransferLeader, to: this.lead, term: 0, index: to });
    }
  }

  readIndex(context: Uint8Array): void {
    if (context.byteLength === 0) throw new ProposalDroppedError('read context must not be empty');
    const req = this.newMessage({ type: MessageType.ReadIndex, to: this.id, term: 0, context });
    if (this.role === 'leader') {
      this.leaderReadIndex(req, true);
    } else if (this.lead === NONE) {
      throw new ProposalDroppedError('no leader to confirm the read');
    } else {
      this.send({ type: MessageType.ReadIndex, to: this.lead, term: 0, context });
    }
  }

  reportUnreachable(id: NodeId): void {
    if (this.role !== 'leader') return;
    const pr = this.trk.progress.get(id);
    if (pr && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.role !== 'leader') return;
    const pr = this.trk.progress.get(id);
    if (pr?.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the next heartbeat reply before probing: the follower may still be installing.
    pr.probeSent = true;
  }

  status(): RaftStatus {
    const st: RaftStatus = {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.visibleCommit(),
      applied: this.log.applied,
      role: this.role,
      leaderId: this.lead,
      lastIndex: this.log.lastIndex(),
      conf: this.trk.confState(),
      leadTransferee: this.leadTransferee,
    };
    if (this.role === 'leader') {
      st.progress = new Map([...this.trk.progress].map(([id, pr]) => [id, pr.status()]));
    }
    return st;
  }

  hasReady(): boolean {
    if (this.inFlight) return false;
    this.flushAppends();
    const hs = this.hardState();
    const ss = this.softState();
    return (
      this.msgs.length > 0 ||
      this.msgsEarly.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstable.entries.length > 0 ||
      this.log.unstable.snapshot !== undefined ||
      this.log.hasNextCommittedEntries() ||
      ss.leaderId !== this.prevSoft.leaderId ||
      ss.role !== this.prevSoft.role ||
      !sameHardState(hs, this.prevHard)
    );
  }

  ready(): Ready {
    if (this.inFlight) throw new RaftUsageError('ready() called again before advance()');
    this.flushAppends();
    const entries = [...this.log.unstable.entries];
    const snapshot = this.log.unstable.snapshot;
    const committedEntries = this.log.nextCommittedEntries(
      Math.max(this.cfg.maxMsgBytes * committedMsgsPerReady, committedBytesPerReadyMin),
    );
    const rd: Ready = {
      entries,
      mustSync: false,
      messages: this.msgs,
      earlyMessages: this.msgsEarly,
      committedEntries,
      readStates: this.readStates,
    };
    if (snapshot) rd.snapshot = snapshot;
    const ss = this.softState();
    if (ss.leaderId !== this.prevSoft.leaderId || ss.role !== this.prevSoft.role) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    const hs = this.hardState();
    let hardChanged = false;
    if (!sameHardState(hs, this.prevHard)) {
      rd.hardState = hs;
      hardChanged = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
      this.prevHard = hs;
    }
    rd.mustSync = hardChanged || entries.length > 0 || snapshot !== undefined;
    this.msgs = [];
    this.msgsEarly = [];
    this.readStates = [];
    const last = entries[entries.length - 1];
    this.inFlight = {
      hardState: rd.hardState,
      lastEntry: last ? { index: last.index, term: last.term } : undefined,
      snapshotIndex: snapshot?.meta.index,
      committedEntries,
    };
    return rd;
  }

  advance(): void {
    const r = this.inFlight;
    if (!r) throw new RaftUsageError('advance() without a ready()');
    this.inFlight = undefined;
    if (r.hardState) {
      this.durableTerm = r.hardState.term;
      this.durableVote = r.hardState.vote;
    }
    if (r.snapshotIndex !== undefined) {
      this.log.unstable.stableSnapTo(r.snapshotIndex);
      if (r.snapshotIndex > this.log.applied) this.log.appliedTo(r.snapshotIndex);
    }
    if (r.lastEntry) this.log.unstable.stableTo(r.lastEntry.index, r.lastEntry.term);
    const lastApplied = r.committedEntries[r.committedEntries.length - 1];
    if (lastApplied && lastApplied.index > this.log.applied) {
      this.log.appliedTo(lastApplied.index);
      if (this.role === 'leader') {
        this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(r.committedEntries));
      }
    }
    if (this.role === 'leader') {
      // The leader's own copy counts toward commit only once it is durable.
      const self = this.trk.progress.get(this.id);
      if (self?.maybeUpdate(this.log.persistedIndex()) && this.maybeCommit()) this.bcastAppend();
    } else if (this.campaignOnApply && !this.hasUnappliedConfChanges()) {
      this.campaignOnApply = false;
      this.hup('transfer');
    }
  }

  step(m: Message): void {
    if (m.to !== this.id || m.from === NONE || m.from === this.id) return;
    if (!this.wellFormed(m)) return;
    if (m.term === 0) {
      // Forwarded requests carry no term (etcd's local messages): no term rules apply.
      if (m.type !== MessageType.ReadIndex && m.type !== MessageType.TransferLeader && m.type !== MessageType.Prop) {
        return;
      }
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = sameBytes(m.context, transferContext);
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTicks;
        // Leader stickiness: a follower that hears from a live leader ignores would-be disruptors.
        if (!force && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term we asked about; the term moves only if we win.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snapshot) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // A stale leader (e.g. back from a partition) learns our term and steps down.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  // ------------------------------------------------------------ role changes

  private reset(term: number): void {
    if (this.term !== term) {
      invariant(term > this.term, `term moves forward (${this.term} -> ${term})`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.prng.nextInt(this.cfg.electionTicks);
    this.abortLeaderTransfer();
    this.trk.votes.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of this.trk.ids) {
      const pr = this.trk.newProgress(next);
      if (id === this.id) pr.match = this.log.persistedIndex();
      this.trk.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.campaignOnApply = false;
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
    this.appendPending = false;
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'leader cannot become pre-candidate');
    // Thesis §9.6: neither term nor vote change until a real election is won.
    this.trk.votes.clear();
    this.lead = NONE;
    this.role = 'pre-candidate';
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // No configuration change until everything up to here is applied (see the header).
    this.pendingConfIndex = this.log.lastIndex();
    // §5.4.2/§8: an entry of the new term lets the leader commit (and learn) what came before.
    this.appendEntry(EntryType.Normal, emptyData);
    this.flushAppends();
  }

  private promotable(): boolean {
    return this.trk.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  private hup(t: CampaignType): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    this.runCampaign(t);
  }

  private runCampaign(t: CampaignType): void {
    let voteType: MessageType;
    let term: number;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    this.trk.recordVote(this.id, true);
    if (this.trk.voteResult() === 'won') {
      // Single voter: no one to ask.
      if (t === 'pre-election') this.runCampaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.trk.ids) {
      if (id === this.id || !this.trk.isVoter(id)) continue;
      const m: Partial<Message> & { type: MessageType; to: NodeId } = {
        type: voteType,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
      };
      if (t === 'transfer') m.context = transferContext;
      this.send(m);
    }
  }

  private hasUnappliedConfChanges(): boolean {
    let lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const hi = this.log.committed + 1;
    // Paged scan; bounded by the committed-but-unapplied range.
    while (lo < hi) {
      const page = this.log.slice(lo, hi, this.cfg.maxMsgBytes);
      invariant(page.length > 0, 'log slice returns progress');
      for (const e of page) if (e.type === EntryType.ConfChange) return true;
      lo = page[page.length - 1]!.index + 1;
    }
    return false;
  }

  // ----------------------------------------------------------------- ticking

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.trk.quorumActiveAndReset(this.id)) {
        // Check-quorum (§6.2): a leader cut off from a majority stops serving.
        this.becomeFollower(this.term, NONE);
        return;
      }
      // A transfer that has not finished within an election timeout is abandoned (§3.10).
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastContext());
    }
  }

  // ----------------------------------------------------------------- voting

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === MessageType.PreVote;
    const respType = isPre ? MessageType.PreVoteResp : MessageType.VoteResp;
    const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (isPre && m.term > this.term);
    const logOk = this.cfg.unsafe?.voteWithoutLogCheck === true || this.log.isUpToDate(m.index, m.logTerm);
    if (canVote && logOk) {
      // §5.2/§5.4.1: grant. The reply carries the requested term (a pre-vote's future term).
      this.send({ type: respType, to: m.from, term: m.term });
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  // ------------------------------------------------------------ per role

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        for (const e of m.entries) {
          if (e.type !== EntryType.Normal) continue;
          try {
            this.propose(e.data);
          } catch (err) {
            if (!(err instanceof ProposalDroppedError)) throw err;
          }
        }
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m, false);
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m.index);
        return;
    }
    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppResp(m, pr);
        return;
      case MessageType.HeartbeatResp:
        this.handleHeartbeatResp(m, pr);
        return;
    }
  }

  private handleAppResp(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      // Stale: the follower's log was shorter than what it has acknowledged since (its log
      // only grows within our term, and a fresh rejection hints at least its match). On a
      // reordering network, acting on these rewinds the pipeline once per stale reply.
      if (m.rejectHint < pr.match) return;
      // Stale too: in replicate state every App of the current run had prev < next, so a
      // rejection of prev >= next answers an App sent before the last rewind.
      if (pr.state === 'replicate' && m.index >= pr.next) return;
      let nextProbe = m.rejectHint;
      if (m.rejectHintTerm > 0) {
        // Fast backtracking: skip every entry of ours whose term is above the follower's conflicting term.
        [nextProbe] = this.log.findConflictByTerm(m.rejectHint, m.rejectHintTerm);
      }
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    if (m.index > this.log.lastIndex()) return; // an ack for entries we never had: ignore
    const wasPaused = pr.isPaused();
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe'))) return;
    const state: ProgressState = pr.state;
    if (state === 'probe') {
      pr.becomeReplicate();
    } else if (state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      // The follower caught up past our compaction point (through the snapshot or otherwise).
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from, true);
    }
    // Fill the window freed by this ack without sending empty messages.
    for (let n = 0; n <= this.cfg.maxInflightMsgs && this.sendAppend(m.from, false); n++);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: MessageType.TimeoutNow, to: m.from });
    }
  }

  private handleHeartbeatResp(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'snapshot' && ++pr.snapshotHeartbeats >= this.snapshotRetryHeartbeats()) {
      // The follower is alive but the snapshot never completed and nobody called
      // reportSnapshot (e.g. it was lost): give up on it and probe again, which
      // sends a fresh snapshot if the entries are still compacted.
      pr.pendingSnapshot = 0;
      pr.becomeProbe();
    }
    // The follower is alive but a full window may be waiting on a lost App: open one slot (etcd).
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from, true);
    if (this.cfg.readOnly !== 'safe' || !m.context || m.context.byteLength === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks || !this.trk.hasQuorum(acks)) return;
    for (const p of this.readOnly.advance(m.context)) this.respondToRead(p.req, p.index);
  }

  private stepCandidate(m: Message): void {
    const myRespType = this.role === 'candidate' ? MessageType.VoteResp : MessageType.PreVoteResp;
    switch (m.type) {
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
    }
    if (m.type !== myRespType) return;
    this.trk.recordVote(m.from, !m.reject);
    const result = this.trk.voteResult();
    if (result === 'won') {
      if (this.role === 'pre-candidate') this.runCampaign('election');
      else this.becomeLeader();
    } else if (result === 'lost') {
      // A pre-vote or vote rejection carries a term >= ours; the term rules already applied it.
      this.becomeFollower(this.term, NONE);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead !== NONE) this.send({ type: MessageType.TransferLeader, to: this.lead, term: 0, index: m.index });
        return;
      case MessageType.TimeoutNow:
        // §3.10: campaign at once, skipping pre-vote (we know the leader is alive and asked us).
        // A removed leader hands over right after applying its removal, usually before we
        // applied it too: then campaign as soon as we have (see advance()).
        if (this.promotable() && this.hasUnappliedConfChanges()) this.campaignOnApply = true;
        else this.hup('transfer');
        return;
      case MessageType.ReadIndex:
        // Forwarded to us by a node that thought we lead. Re-forwarding would stamp our id
        // as the requester and the answer would come here; drop it, the requester retries.
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? emptyData });
        return;
    }
  }

  // ------------------------------------------------------------ follower side

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
      return;
    }
    let last: number | undefined;
    if (
      this.cfg.unsafe?.acceptWithoutPrevCheck === true &&
      m.index <= this.log.lastIndex() &&
      m.index >= this.log.firstIndex() - 1
    ) {
      // Deliberately broken (§5.3 check skipped): only for proving the simulator catches it.
      last = this.log.appendAfter(m.index, m.commit, m.entries);
    } else {
      last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    }
    if (last !== undefined) {
      this.send({ type: MessageType.AppResp, to: m.from, index: last });
      return;
    }
    // §5.3 rejection, with a hint (etcd): the last index that may match, and its term.
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hintIndex,
      rejectHintTerm: hintTerm,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const resp: Partial<Message> & { type: MessageType; to: NodeId } = { type: MessageType.HeartbeatResp, to: m.from };
    if (m.context) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
    }
  }

  private restore(s: NonNullable<Message['snapshot']>): boolean {
    if (s.meta.index <= this.log.committed) return false;
    // A snapshot taken before this node was added does not list it; the entries
    // after the snapshot (which add it) follow, so install it anyway (etcd refuses,
    // which leaves a new replica unable to catch up from an older snapshot).
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have the snapshot's last entry: fast-forward the commit instead.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.trk.setConf(s.meta.conf, this.log.lastIndex() + 1);
    return true;
  }

  // ------------------------------------------------------------- leader side

  private checkCanPropose(): void {
    if (this.role !== 'leader') {
      throw new ProposalDroppedError(`not the leader (leader is ${this.lead === NONE ? 'unknown' : this.lead})`);
    }
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`leadership transfer to ${this.leadTransferee} in progress`);
    }
    if (!this.trk.isVoter(this.id)) throw new ProposalDroppedError('leader is not a voter');
  }

  private appendEntry(type: EntryType, data: Uint8Array): Entry {
    const e: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    const size = data.byteLength;
    const limit = this.cfg.maxUncommittedBytes;
    // Always admit when nothing is uncommitted, so one oversized entry cannot wedge the group.
    if (limit > 0 && size > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + size > limit) {
      throw new ProposalDroppedError(`uncommitted bytes would exceed maxUncommittedBytes (${limit})`);
    }
    this.uncommittedBytes += size;
    this.log.append([e]);
    this.appendPending = true;
    return e;
  }

  private flushAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.role === 'leader') this.bcastAppend();
  }

  private maybeCommit(): boolean {
    const mci = this.trk.committedIndex();
    if (mci <= this.log.committed) return false;
    // §5.4.2 / Figure 8: only an entry of the current term is committed by counting replicas.
    if (this.cfg.unsafe?.commitPreviousTermByCount !== true && this.log.termOrZero(mci) !== this.term) return false;
    this.log.commitTo(mci);
    this.releasePendingReadIndexMessages();
    return true;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  /** One App per follower (carrying the commit index), then fill each pipelining window. */
  private bcastAppend(): void {
    for (const id of this.trk.ids) {
      if (id === this.id || !this.sendAppend(id, true)) continue;
      for (let n = 0; n < this.cfg.maxInflightMsgs && this.sendAppend(id, false); n++);
    }
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined): void {
    for (const id of this.trk.ids) {
      if (id === this.id) continue;
      const pr = this.trk.progress.get(id)!;
      // Never tell a follower to commit past what it is known to hold.
      const m: Partial<Message> & { type: MessageType; to: NodeId } = {
        type: MessageType.Heartbeat,
        to: id,
        commit: Math.min(pr.match, this.log.committed),
      };
      if (ctx) m.context = ctx;
      this.send(m);
    }
  }

  /** Sends an App (or a snapshot) to `to` if its progress allows; returns whether a message left. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      ents = this.log.entriesFrom(pr.next, this.cfg.maxMsgBytes);
    } catch (err) {
      if (err instanceof CompactedError) return this.sendSnapshot(to, pr);
      throw err;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: MessageType.App,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.log.committed,
    });
    const last = ents[ents.length - 1];
    pr.sentEntries(ents.length, last ? last.index : prevIndex, entriesBytes(ents));
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot();
    invariant(snap.meta.index > 0, 'the log is compacted, so a snapshot exists');
    pr.becomeSnapshot(snap.meta.index);
    this.send({ type: MessageType.Snapshot, to, snapshot: snap });
    return true;
  }

  private handleTransferLeader(transferee: NodeId): void {
    if (!this.trk.isVoter(transferee)) return;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout (tickHeartbeat aborts it).
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    const pr = this.trk.progress.get(transferee)!;
    if (pr.match === this.log.lastIndex()) {
      this.send({ type: MessageType.TimeoutNow, to: transferee });
    } else {
      this.sendAppend(transferee, true);
    }
  }

  /** About three election timeouts of heartbeat replies. */
  private snapshotRetryHeartbeats(): number {
    return 3 * Math.ceil(this.cfg.electionTicks / this.cfg.heartbeatTicks);
  }

  /** A voter other than us whose log matches ours to the end (lowest id), or NONE. */
  private upToDateVoter(): NodeId {
    const last = this.log.lastIndex();
    for (const id of this.trk.ids) {
      if (id !== this.id && this.trk.isVoter(id) && this.trk.progress.get(id)!.match === last) return id;
    }
    return NONE;
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ------------------------------------------------------------ read index

  /** ReadIndex at the leader (§6.4); `local` requests come from this node's readIndex(). */
  private leaderReadIndex(req: Message, local: boolean): void {
    if (!this.committedEntryInCurrentTerm()) {
      // §6.4 step 1: the commit index is only known to be current after an entry of this term commits.
      if (this.pendingReadIndexMessages.length >= pendingReadIndexMessagesMax) {
        if (local) throw new ProposalDroppedError('too many pending reads');
        return;
      }
      this.pendingReadIndexMessages.push(req);
      return;
    }
    this.sendReadIndexResponse(req, local);
  }

  private sendReadIndexResponse(req: Message, local: boolean): void {
    const single = this.trk.voters.size === 1 && this.trk.isVoter(this.id);
    if (single || this.cfg.readOnly === 'lease') {
      // Lease mode is sound only with checkQuorum (validated): no other leader can exist meanwhile.
      this.respondToRead(req, this.log.committed);
      return;
    }
    if (this.readOnly.size() >= pendingReadsMax) {
      if (local) throw new ProposalDroppedError('too many pending reads');
      return;
    }
    if (this.readOnly.add(this.log.committed, req)) {
      this.readOnly.recvAck(this.id, req.context);
      this.bcastHeartbeat(req.context);
    }
  }

  private respondToRead(req: Message, index: number): void {
    const context = req.context ?? emptyData;
    if (req.from === this.id) {
      this.readStates.push({ index, context });
    } else {
      this.send({ type: MessageType.ReadIndexResp, to: req.from, index, context });
    }
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.sendReadIndexResponse(m, false);
  }

  // --------------------------------------------------------------- plumbing

  private softState(): SoftState {
    return { leaderId: this.lead, role: this.role };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.visibleCommit() };
  }

  /**
   * The commit index as reported outside (status, hardState): capped at the
   * prefix of our log that is already durable. A follower may learn that index i
   * is committed while its own entry i is still being written (or replaces an
   * older one on disk); reporting i before that would let a stored hard state
   * name an entry the disk does not hold, whatever order the driver writes in.
   */
  private visibleCommit(): number {
    const durable = this.log.unstable.snapshot ? 0 : this.log.persistedIndex();
    const v = Math.max(this.commitFloor, Math.min(this.log.committed, durable));
    this.commitFloor = v;
    return v;
  }

  private wellFormed(m: Message): boolean {
    if (!Array.isArray(m.entries)) return false;
    if (m.type !== MessageType.App) return true;
    // App entries must follow the prev entry contiguously; anything else is corrupt.
    for (let k = 0; k < m.entries.length; k++) {
      if (m.entries[k]!.index !== m.index + 1 + k) return false;
    }
    return true;
  }

  private newMessage(m: Partial<Message> & { type: MessageType; to: NodeId }): Message {
    return {
      from: this.id,
      term: this.term,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      rejectHintTerm: 0,
      ...m,
    };
  }

  private send(partial: Partial<Message> & { type: MessageType; to: NodeId }): void {
    if (this.msgs.length + this.msgsEarly.length >= outboxMessagesMax) return;
    const m = this.newMessage(partial);
    const hardDirty = this.term !== this.durableTerm || this.vote !== this.durableVote;
    if (m.type === MessageType.VoteResp && !m.reject && this.cfg.unsafe?.replyBeforePersistingVote === true) {
      this.msgsEarly.push(m); // deliberately unsafe test switch (c)
    } else if (dependsOnPersistence(m.type) || hardDirty) {
      // Also holds back everything sent while a term/vote change is not yet durable.
      this.msgs.push(m);
    } else {
      this.msgsEarly.push(m);
    }
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export { decodeConfChange, encodeConfChange };
