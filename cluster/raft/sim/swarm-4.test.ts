import { describe, expect, it } from 'vitest';
import { describeFailures, runSeedRange, SWARM_TEST_TIMEOUT_MS } from './seed-runner.ts';

// The default swarm: seeds 1501..2000, each with its own drawn configuration and fault mix.
// Split across files so vitest runs them in parallel. Replay one with `npm run sim -- --seed N`.
describe('raft simulation swarm (seeds 1501..2000)', () => {
  it(
    'keeps every safety invariant and recovers liveness after healing',
    () => {
      const r = runSeedRange(1501, 2000);
      expect(r.seeds).toBe(500);
      expect(r.events).toBeGreaterThan(500 * 500); // the runs did real work
      expect(r.failures, describeFailures(r.failures)).toEqual([]);
    },
    SWARM_TEST_TIMEOUT_MS,
  );
});
