import type { ConfState, NodeId } from '../types.ts';
import { invariant } from './errors.ts';
import { Progress } from './progress.ts';

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The configuration (voters and learners), the leader's per-peer Progress and
 * the votes of the current election. Majorities are over voters only.
 */
export class Tracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  /** Voters and learners, ascending: a stable iteration order keeps runs reproducible and readable. */
  ids: NodeId[] = [];
  private readonly inflightMsgsMax: number;
  private readonly inflightBytesMax: number;

  constructor(inflightMsgsMax: number, inflightBytesMax: number) {
    this.inflightMsgsMax = inflightMsgsMax;
    this.inflightBytesMax = inflightBytesMax;
  }

  newProgress(next: number): Progress {
    return new Progress(next, this.inflightMsgsMax, this.inflightBytesMax);
  }

  setConf(cs: ConfState, next: number): void {
    invariant(cs.votersOutgoing.length === 0, 'joint configurations are not supported by this core');
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners.filter((id) => !this.voters.has(id)));
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.has(id) && !this.learners.has(id)) this.progress.delete(id);
    }
    for (const id of [...this.voters, ...this.learners]) {
      if (!this.progress.has(id)) {
        const pr = this.newProgress(next);
        // A new peer gets a grace period before check-quorum counts it as silent.
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
    this.ids = [...this.progress.keys()].sort((a, b) => a - b);
  }

  confState(): ConfState {
    const asc = (a: number, b: number) => a - b;
    return { voters: [...this.voters].sort(asc), learners: [...this.learners].sort(asc), votersOutgoing: [] };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.has(id);
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** The highest index replicated on a majority of voters (by their match). */
  committedIndex(): number {
    if (this.voters.size === 0) return 0;
    const matches = [...this.voters].map((id) => this.progress.get(id)?.match ?? 0).sort((a, b) => b - a);
    return matches[this.quorum() - 1]!;
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  voteResult(): VoteResult {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    if (granted >= q) return 'won';
    if (rejected > this.voters.size - q) return 'lost';
    return 'pending';
  }

  /** Check-quorum: did a majority of voters talk to us since the last check? Resets the marks. */
  quorumActiveAndReset(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      if (id === self || pr?.recentActive) active++;
    }
    for (const [id, pr] of this.progress) pr.recentActive = id === self;
    return active >= this.quorum();
  }

  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    let n = 0;
    for (const id of this.voters) if (acks.has(id)) n++;
    return n >= this.quorum();
  }
}
