/** The names of the properties the simulator checks; stable strings used in reports and BUGS.md. */
export const Invariant = {
  /** At most one leader per term (Raft §5.2, Election Safety). */
  ElectionSafety: 'election-safety',
  /** Same index and term => same entry and identical prefixes (§5.3, Log Matching). */
  LogMatching: 'log-matching',
  /** A leader's log holds every entry committed in an earlier term (§5.4, Leader Completeness). */
  LeaderCompleteness: 'leader-completeness',
  /** A committed entry is never changed or removed from a log that reported it committed. */
  CommittedStable: 'committed-stable',
  /** Every node applies the same entry at the same index, in order, without gaps (§5.4.3). */
  StateMachineSafety: 'state-machine-safety',
  /** A running node's commit index never decreases and is never beyond its durable log. */
  CommitMonotonic: 'commit-monotonic',
  /** A client value (unique by construction) is applied at one index only: no duplicated proposal. */
  NoDuplicateApply: 'no-duplicate-apply',
  /** Entries are applied only once durable on the applying node. */
  ApplyDurable: 'apply-durable',
  /** A ReadIndex answer covers every write committed before the read was requested (§6.4). */
  ReadIndexLinearizable: 'read-index-linearizable',
  /** After faults stop and the network heals, the cluster elects a leader and commits again. */
  Liveness: 'liveness',
  /** The core broke its own contract (threw, emitted an impossible Ready). */
  CoreContract: 'core-contract',
} as const;
export type Invariant = (typeof Invariant)[keyof typeof Invariant];
