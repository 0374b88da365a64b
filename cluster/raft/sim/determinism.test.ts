import { describe, expect, it } from 'vitest';
import { makeRaftNode } from './core-factory.ts';
import { runSimulation } from './simulator.ts';

describe('determinism', () => {
  it('replays a seed to the same trace hash, event count and outcome', () => {
    for (const seed of [1, 7, 42, 1234]) {
      const a = runSimulation({ seed, makeCore: makeRaftNode });
      const b = runSimulation({ seed, makeCore: makeRaftNode });
      expect(b.traceHash).toBe(a.traceHash);
      expect(b.stats).toEqual(a.stats);
      expect(b.ok).toBe(a.ok);
      expect(a.stats.events).toBeGreaterThan(100);
    }
  });

  it('gives different seeds different traces and configurations', () => {
    const hashes = new Set<string>();
    const shapes = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const r = runSimulation({ seed, makeCore: makeRaftNode });
      hashes.add(r.traceHash);
      shapes.add(`${r.config.voters}/${r.config.tickMs}/${r.config.electionTicks}/${r.config.preVote}`);
    }
    expect(hashes.size).toBe(30);
    expect(shapes.size).toBeGreaterThan(5);
  });

  it('replays a failing unsafe seed identically, including the violation', () => {
    let seed = 1;
    let a = runSimulation({ seed, unsafe: 'voteWithoutLogCheck', makeCore: makeRaftNode });
    while (a.ok && seed < 20) {
      seed++;
      a = runSimulation({ seed, unsafe: 'voteWithoutLogCheck', makeCore: makeRaftNode });
    }
    expect(a.ok).toBe(false);
    const b = runSimulation({ seed, unsafe: 'voteWithoutLogCheck', makeCore: makeRaftNode });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.violation).toEqual(a.violation);
    expect(a.replayCommand).toBe(`npm run sim -- --seed ${seed} --unsafe voteWithoutLogCheck`);
    expect(a.traceTail.length).toBeGreaterThan(10);
  });
});
