import type { UnsafeRaftSwitches } from '../types.ts';
import type { NetworkFaults } from './network.ts';
import type { SimPrng } from './prng.ts';

/**
 * Swarm testing: every seed draws its own cluster shape, timings, limits and
 * fault mix, so the seeds together cover combinations no single
 * configuration reaches (e.g. tiny messages + slow disks + no pre-vote).
 */
export interface SwarmConfig {
  voters: 3 | 5;
  /** Ids beyond the initial voters that membership changes may add. */
  spareNodes: number;
  tickMs: number;
  /** Each node's tick period deviates from tickMs by up to this many percent (timer drift). */
  tickDriftPercentMax: number;
  /** The driver steps messages into the core while an fsync is in flight. */
  stepWhileSyncing: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxMsgBytes: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  maxUncommittedBytes: number;
  network: NetworkFaults;
  fsyncMinMs: number;
  fsyncMaxMs: number;
  /** Extra fsync time drawn from [0, this] during the fault phase only (a slow-disk fault on every sync). */
  fsyncFaultExtraMaxMs: number;
  /** Virtual time with faults on; then the liveness phase starts. */
  faultPhaseMs: number;
  /** Virtual time the healed cluster gets to elect a leader and commit a new entry. */
  livenessBudgetMs: number;
  faultIntervalMs: number;
  clientIntervalMs: number;
  faults: {
    /** Random crashes of random nodes; also enables the targeted crashes below. */
    crash: boolean;
    partition: boolean;
    asymmetricPartition: boolean;
    slowDisk: boolean;
    /** Two nodes campaign at the same instant (same term, split votes). */
    electionStorm: boolean;
    /** Pause a process (SIGSTOP / GC): it stops ticking and stepping, then resumes with a backlog. */
    pause: boolean;
    /** Crash the leader soon after it is elected (Figure-8 style churn). */
    leaderKillPerMille: number;
    /** Crash a leader right after its commit index advances, before followers learn it. */
    leaderKillOnCommitPerMille: number;
    /** Isolate a leader right after its election for a while (it keeps accepting proposals). */
    leaderIsolatePerMille: number;
    /** Crash a leader right after its commit index covers an entry of an earlier term (Figure 8). */
    leaderKillOnOldTermCommitPerMille: number;
    /** Per sync: crash the node while that fsync is in flight (torn writes). */
    crashDuringSyncPerMille: number;
    /** On a crash, keep a random prefix of the unsynced writes (the kernel flushed some). */
    crashKeepsPrefix: boolean;
    restartDelayMaxMs: number;
  };
  workload: {
    confChange: boolean;
    transfer: boolean;
    compaction: boolean;
    /** Tell a random node to campaign (extra leader churn). */
    campaign: boolean;
    valueBytesMax: number;
    proposalsPerStepMax: number;
    /** Issue ReadIndex requests and check each answer is linearizable. */
    reads: boolean;
    /** Client backpressure: no new proposals while the leader holds this many uncommitted entries. */
    uncommittedEntriesMax: number;
  };
  unsafe: UnsafeRaftSwitches;
}

export type UnsafeSwitchName = keyof UnsafeRaftSwitches;

export const UNSAFE_SWITCH_NAMES: readonly UnsafeSwitchName[] = [
  'voteWithoutLogCheck',
  'commitPreviousTermByCount',
  'replyBeforePersistingVote',
  'acceptWithoutPrevCheck',
];

export function isUnsafeSwitchName(s: string): s is UnsafeSwitchName {
  return (UNSAFE_SWITCH_NAMES as readonly string[]).includes(s);
}

export function drawSwarmConfig(p: SimPrng, unsafe: UnsafeSwitchName | undefined): SwarmConfig {
  const voters = p.bool() ? 3 : 5;
  const tickMs = p.pick([5, 10, 20]);
  const heartbeatTicks = p.between(1, 3);
  const electionTicks = p.between(heartbeatTicks * 3, 20);
  const delayMinMs = p.between(0, 5);
  const delayMaxMs = delayMinMs + p.pick([1, 5, 20, tickMs * heartbeatTicks * 3]);
  const maxMsgBytes = p.pick([1, 64, 512, 1 << 20]);
  const cfg: SwarmConfig = {
    voters,
    spareNodes: p.between(0, 3),
    stepWhileSyncing: p.bool(),
    tickDriftPercentMax: p.pick([0, 0, 10, 30]),
    tickMs,
    electionTicks,
    heartbeatTicks,
    preVote: p.bool(),
    checkQuorum: p.bool(),
    maxMsgBytes,
    maxInflightMsgs: p.pick([1, 4, 64, 256]),
    maxInflightBytes: p.bool() ? 0 : Math.max(maxMsgBytes, p.pick([256, 4096, 1 << 20])),
    maxUncommittedBytes: p.bool() ? 0 : p.pick([256, 4096]),
    network: {
      delayMinMs,
      delayMaxMs,
      lossPerMille: p.pick([0, 0, 10, 50, 150]),
      duplicatePerMille: p.pick([0, 10, 50]),
      fifoLinks: p.bool(),
    },
    fsyncMinMs: 0,
    fsyncMaxMs: 0,
    fsyncFaultExtraMaxMs: 0,
    faultPhaseMs: p.between(2000, 4000),
    livenessBudgetMs: 0,
    faultIntervalMs: p.between(50, 400),
    clientIntervalMs: p.between(5, 40),
    faults: {
      crash: p.between(0, 3) > 0,
      partition: p.between(0, 3) > 0,
      asymmetricPartition: p.bool(),
      slowDisk: p.bool(),
      electionStorm: p.between(0, 3) === 0,
      pause: p.bool(),
      leaderKillPerMille: p.pick([0, 0, 100, 400]),
      leaderKillOnCommitPerMille: p.pick([0, 0, 0, 20]),
      leaderIsolatePerMille: p.pick([0, 0, 100]),
      leaderKillOnOldTermCommitPerMille: p.pick([0, 0, 200]),
      crashDuringSyncPerMille: p.pick([0, 0, 5, 30]),
      crashKeepsPrefix: p.bool(),
      restartDelayMaxMs: p.pick([10, 100, 500]),
    },
    workload: {
      confChange: p.bool(),
      transfer: p.bool(),
      compaction: p.bool(),
      campaign: p.between(0, 3) === 0,
      valueBytesMax: p.pick([8, 64, 300]),
      proposalsPerStepMax: p.pick([1, 3, 8]),
      reads: p.bool(),
      uncommittedEntriesMax: p.pick([16, 64, 256]),
    },
    unsafe: {},
  };
  cfg.fsyncMinMs = p.between(0, 2);
  cfg.fsyncMaxMs = cfg.fsyncMinMs + p.pick([0, 2, 8]);
  // Liveness gets enough time for several election rounds even with the slowest draws.
  enforceTimingRule(cfg);
  if (!cfg.faults.crash) {
    // Without crashes, no targeted crashes either.
    cfg.faults.leaderKillPerMille = 0;
    cfg.faults.leaderKillOnCommitPerMille = 0;
    cfg.faults.leaderKillOnOldTermCommitPerMille = 0;
    cfg.faults.crashDuringSyncPerMille = 0;
  }
  if (unsafe !== undefined) targetUnsafe(cfg, p, unsafe);
  if (unsafe !== undefined) enforceTimingRule(cfg);
  cfg.livenessBudgetMs = livenessBudgetMs(cfg);
  return cfg;
}

/**
 * Raft's timing requirement (§5.6): broadcastTime << electionTimeout. Draws that break it only
 * measure election livelock, so the election timeout is raised to cover a few worst-case rounds
 * (network both ways plus an fsync on each side).
 */
function enforceTimingRule(cfg: SwarmConfig): void {
  const roundTripMs = 2 * cfg.network.delayMaxMs + 2 * (cfg.fsyncMaxMs + cfg.fsyncFaultExtraMaxMs);
  const minTicks = Math.ceil((2 * roundTripMs) / cfg.tickMs);
  if (cfg.electionTicks < minTicks) cfg.electionTicks = minTicks;
}

/** Enough virtual time for many election rounds and round trips, even with the slowest draws. */
export function livenessBudgetMs(cfg: SwarmConfig): number {
  const roundTripMs = 2 * cfg.network.delayMaxMs + cfg.fsyncMaxMs + 1;
  // A new leader may first have to bring followers over the whole uncommitted backlog, possibly
  // one entry per round trip (tiny maxMsgBytes), before its own entry commits.
  const backlogMs = cfg.workload.uncommittedEntriesMax * roundTripMs;
  return 40 * cfg.electionTicks * cfg.tickMs + 20 * roundTripMs + backlogMs + 2000;
}

/**
 * With a broken rule switched on, bias the fault mix toward the scenario that
 * exposes it, so a bounded number of seeds finds it reliably.
 */
function targetUnsafe(cfg: SwarmConfig, p: SimPrng, unsafe: UnsafeSwitchName): void {
  cfg.unsafe = { [unsafe]: true };
  switch (unsafe) {
    case 'voteWithoutLogCheck':
      // A node that missed commits must win an election: partitions isolate it, churn triggers elections.
      cfg.faults.partition = true;
      cfg.faults.leaderKillPerMille = 300;
      cfg.faults.crash = true;
      cfg.preVote = false;
      break;
    case 'commitPreviousTermByCount':
      // Figure 8: five nodes, one entry per message so old-term entries are acked before the new
      // leader's no-op, short-lived leaders that leave unreplicated entries behind, and leaders
      // killed right after their commit index moves.
      cfg.voters = 5;
      cfg.spareNodes = 0;
      cfg.tickMs = 5;
      cfg.heartbeatTicks = 1;
      cfg.electionTicks = p.between(3, 6);
      cfg.maxMsgBytes = 1;
      cfg.maxInflightMsgs = p.pick([1, 4]);
      cfg.maxUncommittedBytes = 0;
      cfg.faultPhaseMs = 6000;
      cfg.clientIntervalMs = 3;
      cfg.faults.crash = true;
      cfg.faults.partition = true;
      cfg.faults.leaderKillPerMille = 500;
      cfg.faults.leaderKillOnCommitPerMille = 100;
      cfg.faults.leaderKillOnOldTermCommitPerMille = 900;
      cfg.faults.leaderIsolatePerMille = 400;
      cfg.faults.restartDelayMaxMs = 30;
      cfg.network.delayMinMs = 1;
      cfg.network.delayMaxMs = 6;
      cfg.fsyncMinMs = 0;
      cfg.fsyncMaxMs = 1;
      cfg.network.lossPerMille = p.pick([50, 100, 200]);
      cfg.workload.campaign = true;
      cfg.workload.compaction = false;
      cfg.workload.confChange = false;
      cfg.workload.proposalsPerStepMax = 1;
      cfg.workload.uncommittedEntriesMax = 1000;
      cfg.preVote = false;
      cfg.checkQuorum = false;
      break;
    case 'replyBeforePersistingVote':
      // A voter must crash after its early vote reply left but before the vote hit the disk, then
      // vote again in the same term: three nodes, split elections (short timeouts, no pre-vote),
      // slow fsyncs with crashes inside them, fast restarts, slow and duplicated vote requests.
      cfg.voters = 3;
      cfg.spareNodes = 0;
      cfg.tickMs = 10;
      cfg.heartbeatTicks = 1;
      cfg.electionTicks = p.between(4, 6);
      cfg.fsyncFaultExtraMaxMs = 30;
      cfg.faultPhaseMs = 6000;
      cfg.faultIntervalMs = 300;
      cfg.faults.electionStorm = true;
      cfg.faults.partition = false;
      cfg.faults.slowDisk = false;
      cfg.faults.crash = false; // only the targeted crashes: random ones keep elections from finishing
      cfg.faults.crashDuringSyncPerMille = 300;
      cfg.faults.crashKeepsPrefix = false;
      cfg.faults.restartDelayMaxMs = 5;
      cfg.faults.leaderKillPerMille = 500;
      cfg.network.delayMinMs = 1;
      cfg.network.delayMaxMs = 60;
      cfg.network.duplicatePerMille = 300;
      cfg.preVote = false;
      cfg.checkQuorum = false;
      cfg.workload.campaign = true;
      cfg.faults.leaderIsolatePerMille = 400;
      break;
    case 'acceptWithoutPrevCheck':
      // Followers with divergent suffixes receive appends: churn plus loss and reordering.
      cfg.faults.crash = true;
      cfg.faults.partition = true;
      cfg.faults.leaderKillPerMille = 300;
      cfg.network.lossPerMille = 100;
      cfg.network.delayMaxMs = cfg.network.delayMinMs + 40;
      // One entry per App gives many distinct prev indexes; campaigns and pauses leave stale
      // leaders whose followers hold divergent suffixes.
      cfg.maxMsgBytes = 1;
      cfg.workload.campaign = true;
      cfg.faults.pause = true;
      cfg.faults.leaderIsolatePerMille = 400;
      break;
  }
}
