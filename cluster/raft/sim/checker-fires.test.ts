import { describe, expect, it } from 'vitest';
import { RaftNode } from '../core/raft-node.ts';
import type { RaftCore } from '../types.ts';
import { Invariant } from './invariants.ts';
import type { CoreFactory } from './sim-node.ts';
import { runSimulation } from './simulator.ts';

/** Wraps the real core, overriding some methods (a deliberately broken system under test). */
function brokenCore(override: (core: RaftCore) => Partial<RaftCore>): CoreFactory {
  return (config, storage) => {
    const core = new RaftNode(config, storage);
    const parts = override(core);
    return new Proxy(core, {
      get(target, prop, receiver) {
        if (prop in parts) return parts[prop as keyof RaftCore];
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
}

describe('the simulator reports what it cannot check by invariants on logs', () => {
  it('liveness: a cluster whose nodes ignore every message never elects a leader', () => {
    const deaf = brokenCore(() => ({ step: () => {} }));
    const r = runSimulation({ seed: 5, makeCore: deaf });
    expect(r.ok).toBe(false);
    expect(r.violation?.invariant).toBe(Invariant.Liveness);
    expect(r.violation?.message).toMatch(/no leader committed/);
    expect(r.replayCommand).toBe('npm run sim -- --seed 5');
  });

  it('core contract: a core that throws from tick() is reported, not crashed on', () => {
    const throwing = brokenCore(() => ({
      tick: () => {
        throw new RangeError('boom');
      },
    }));
    const r = runSimulation({ seed: 5, makeCore: throwing });
    expect(r.ok).toBe(false);
    expect(r.violation?.invariant).toBe(Invariant.CoreContract);
    expect(r.violation?.message).toMatch(/tick threw RangeError: boom/);
    expect(r.traceTail.length).toBeGreaterThan(0);
  });

  it('linearizable reads: a core that answers ReadIndex with a stale index is caught', () => {
    const stale = brokenCore((core) => ({
      ready: () => {
        const rd = core.ready();
        return { ...rd, readStates: rd.readStates.map((rs) => ({ ...rs, index: 0 })) };
      },
    }));
    let violation: string | undefined;
    for (let seed = 1; seed <= 40 && violation === undefined; seed++) {
      const r = runSimulation({ seed, makeCore: stale });
      if (!r.ok) violation = r.violation?.invariant;
    }
    expect(violation).toBe(Invariant.ReadIndexLinearizable);
  });
});
