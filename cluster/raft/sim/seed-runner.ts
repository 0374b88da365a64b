import { makeRaftNode } from './core-factory.ts';
import { formatFailure } from './report.ts';
import { runSimulation, type SimResult } from './simulator.ts';
import type { UnsafeSwitchName } from './swarm.ts';

/**
 * 500 seeds take ~15 s of CPU; on a shared 2-core machine a file can wait for a core, so the
 * seed-range tests get more than vitest's default timeout (which is for hangs, not for load).
 */
export const SWARM_TEST_TIMEOUT_MS = 300_000;

export interface SeedRangeResult {
  seeds: number;
  failures: SimResult[];
  events: number;
}

/** Runs seeds first..last (inclusive) against the real core; stops early after `stopAfterFailures`. */
export function runSeedRange(
  first: number,
  last: number,
  opts: { unsafe?: UnsafeSwitchName; stopAfterFailures?: number } = {},
): SeedRangeResult {
  const failures: SimResult[] = [];
  let events = 0;
  let seeds = 0;
  for (let seed = first; seed <= last; seed++) {
    const r = runSimulation({ seed, unsafe: opts.unsafe, makeCore: makeRaftNode });
    seeds++;
    events += r.stats.events;
    if (!r.ok) {
      failures.push(r);
      if (failures.length >= (opts.stopAfterFailures ?? Number.POSITIVE_INFINITY)) break;
    }
  }
  return { seeds, failures, events };
}

/** The report a failing test prints: every failure with its trace tail and replay command. */
export function describeFailures(failures: readonly SimResult[], max = 3): string {
  if (failures.length === 0) return 'no failures';
  const shown = failures.slice(0, max).map(formatFailure).join('\n\n');
  return `${failures.length} failing seed(s): ${failures.map((f) => f.seed).join(', ')}\n\n${shown}`;
}
