import { describe, expect, it } from 'vitest';
import { makeRaftNode } from './core-factory.ts';
import { Invariant } from './invariants.ts';
import { describeFailures, runSeedRange, SWARM_TEST_TIMEOUT_MS } from './seed-runner.ts';
import { runSimulation } from './simulator.ts';
import type { UnsafeSwitchName } from './swarm.ts';

/**
 * The checker can fail: with one Raft rule deliberately broken in the core,
 * the simulator must find a safety violation within a bounded number of seeds.
 * Liveness failures do not count: the broken rule must show up as the safety
 * property it breaks.
 */
const SEEDS_MAX = 80;
const CONTROL_SEEDS = 25;

const expected: Record<UnsafeSwitchName, readonly Invariant[]> = {
  // A stale candidate wins and lacks committed entries.
  voteWithoutLogCheck: [
    Invariant.LeaderCompleteness,
    Invariant.CommittedStable,
    Invariant.StateMachineSafety,
    Invariant.LogMatching,
  ],
  // Figure 8: an old-term entry "committed" by count is overwritten by a later leader.
  commitPreviousTermByCount: [Invariant.LeaderCompleteness, Invariant.CommittedStable, Invariant.StateMachineSafety],
  // A voter forgets its vote in a crash and votes twice in one term.
  replyBeforePersistingVote: [
    Invariant.ElectionSafety,
    Invariant.LeaderCompleteness,
    Invariant.CommittedStable,
    Invariant.LogMatching,
  ],
  // A follower appends after a mismatched prefix.
  acceptWithoutPrevCheck: [
    Invariant.LogMatching,
    Invariant.CommittedStable,
    Invariant.StateMachineSafety,
    Invariant.LeaderCompleteness,
  ],
};

describe('each unsafe switch is caught', () => {
  for (const [name, invariants] of Object.entries(expected) as [UnsafeSwitchName, readonly Invariant[]][]) {
    it(
      `${name}: a safety violation within ${SEEDS_MAX} seeds`,
      () => {
        const r = runSeedRange(1, SEEDS_MAX, { unsafe: name, stopAfterFailures: 1 });
        const safety = r.failures.filter((f) => f.violation?.invariant !== Invariant.Liveness);
        expect(safety.length, `after ${r.seeds} seeds: ${describeFailures(r.failures)}`).toBeGreaterThan(0);
        const first = safety[0]!;
        expect(invariants, describeFailures([first])).toContain(first.violation?.invariant);
        expect(first.replayCommand).toContain(`--unsafe ${name}`);
      },
      SWARM_TEST_TIMEOUT_MS,
    );
  }
});

describe('the targeted fault mixes alone break nothing', () => {
  // Control group: the same per-switch fault mix with the switch off must pass, or a "found" violation
  // above could be the fault mix (or the checker) rather than the broken rule.
  for (const name of Object.keys(expected) as UnsafeSwitchName[]) {
    it(
      `${name} fault mix with the switch off: seeds 1..${CONTROL_SEEDS} pass`,
      () => {
        const failures = [];
        for (let seed = 1; seed <= CONTROL_SEEDS; seed++) {
          const r = runSimulation({
            seed,
            unsafe: name,
            makeCore: makeRaftNode,
            tweak: (cfg) => {
              cfg.unsafe = {};
            },
          });
          if (!r.ok) failures.push(r);
        }
        expect(failures, describeFailures(failures)).toEqual([]);
      },
      SWARM_TEST_TIMEOUT_MS,
    );
  }
});
