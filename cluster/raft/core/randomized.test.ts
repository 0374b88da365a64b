import { describe, expect, it } from 'vitest';
import { EntryType, type Message, type NodeId, type UnsafeRaftSwitches } from '../types.ts';
import { SeededPrng } from './prng.ts';
import { TestCluster, utf8 } from './testing/test-cluster.ts';

/**
 * A small randomized schedule (reorder, drop, duplicate, isolate, compact,
 * restart from storage) checking election safety and state-machine safety after
 * every step. The real fault simulator lives in ../sim; this keeps the core honest on its own.
 */
function runSeed(seed: number, steps: number, unsafe?: UnsafeRaftSwitches): void {
  const rnd = new SeededPrng(seed);
  const ids = [1, 2, 3, 4, 5].slice(0, 3 + rnd.nextInt(3));
  const c = new TestCluster({
    voters: ids,
    seed,
    configure: (cfg) => {
      cfg.preVote = rnd.nextInt(2) === 0;
      cfg.checkQuorum = rnd.nextInt(2) === 0;
      cfg.maxMsgBytes = 64;
      cfg.maxInflightMsgs = 1 + rnd.nextInt(4);
      cfg.maxInflightBytes = 0;
      if (unsafe) cfg.unsafe = unsafe;
    },
  });
  const leaderOfTerm = new Map<number, NodeId>();
  const appliedAt = new Map<number, string>();
  const appliedCount = new Map<NodeId, number>(ids.map((id) => [id, 0]));
  let proposals = 0;

  const check = () => {
    for (const id of ids) {
      const st = c.node(id).raft.status();
      if (st.role === 'leader') {
        const prev = leaderOfTerm.get(st.term);
        expect(prev === undefined || prev === id, `two leaders in term ${st.term}`).toBe(true);
        leaderOfTerm.set(st.term, id);
      }
      const n = c.node(id);
      const seen = appliedCount.get(id)!;
      for (const e of n.applied.slice(seen)) {
        const key = `${e.term}:${new TextDecoder().decode(e.data)}`;
        const prev = appliedAt.get(e.index);
        expect(prev === undefined || prev === key, `node ${id} applied ${key} at ${e.index}, others ${prev}`).toBe(
          true,
        );
        appliedAt.set(e.index, key);
      }
      appliedCount.set(id, n.applied.length);
    }
  };

  for (let step = 0; step < steps; step++) {
    const r = rnd.nextInt(100);
    const id = ids[rnd.nextInt(ids.length)]!;
    if (r < 30) {
      c.tick(id);
    } else if (r < 55) {
      c.handleReady(id);
    } else if (r < 80 && c.queue.length > 0) {
      const k = rnd.nextInt(c.queue.length);
      const m = c.queue[k] as Message;
      const fate = rnd.nextInt(10);
      if (fate !== 0) c.queue.splice(k, 1); // 1 in 10: duplicate (leave it queued)
      if (fate !== 1 && !c.isolated.has(m.from) && !c.isolated.has(m.to)) c.node(m.to).raft.step(m);
    } else if (r < 88) {
      const leader = c.leaders()[0];
      if (leader !== undefined) {
        try {
          c.node(leader).raft.propose(utf8(`v${proposals++}`));
        } catch {
          // dropped: fine
        }
      }
    } else if (r < 91) {
      if (c.isolated.has(id)) c.isolated.delete(id);
      else if (c.isolated.size < Math.floor((ids.length - 1) / 2)) c.isolated.add(id);
    } else if (r < 94) {
      const n = c.node(id);
      const applied = n.raft.status().applied;
      const snapIndex = n.storage.snapshot().meta.index;
      if (applied > snapIndex + 2) {
        n.storage.createSnapshot(applied, undefined, utf8(String(applied)));
        n.storage.compact(applied);
      }
    } else if (r < 96) {
      // Restart from storage: everything this harness persisted survives; volatile state is lost.
      restart(c, id);
      appliedCount.set(id, 0);
    }
    check();
  }

  // Heal and require progress.
  c.isolated.clear();
  for (let round = 0; round < 200 && c.leaders().length === 0; round++) {
    c.tickAll();
    c.stabilize();
  }
  const leader = c.leaders()[0];
  expect(leader, `seed ${seed}: no leader after healing`).toBeDefined();
  let final: { index: number } | undefined;
  for (let round = 0; round < 50 && !final; round++) {
    try {
      final = c.node(leader!).raft.propose(utf8('final'));
    } catch {
      c.tickAll();
      c.stabilize();
    }
  }
  expect(final).toBeDefined();
  for (let round = 0; round < 50; round++) {
    c.tickAll();
    c.stabilize();
    check();
  }
  for (const id of ids)
    expect(c.node(id).raft.status().applied, `seed ${seed} node ${id}`).toBeGreaterThanOrEqual(final!.index);
}

function restart(c: TestCluster, id: NodeId): void {
  const n = c.node(id);
  if (n.raft.hasReady()) c.handleReady(id);
  const snap = n.storage.snapshot();
  n.config.applied = snap.meta.index;
  // The applied list restarts at the snapshot: entries below it are in the (opaque) snapshot image.
  n.applied = [];
  // biome-ignore lint/suspicious/noExplicitAny: test-only swap of the node instance
  (n as any).raft = new (n.raft.constructor as any)(n.config, n.storage);
}

describe('randomized schedules (election safety §5.2, state machine safety §5.4.3)', () => {
  it('keeps one leader per term and one entry per index across 30 seeds', () => {
    for (let seed = 1; seed <= 30; seed++) runSeed(seed, 3000);
  });

  for (const rule of ['voteWithoutLogCheck', 'acceptWithoutPrevCheck'] as const) {
    it(`the same check catches the broken rule ${rule}`, () => {
      let caught = 0;
      for (let seed = 1; seed <= 30 && caught === 0; seed++) {
        try {
          runSeed(seed, 3000, { [rule]: true });
        } catch {
          caught++;
        }
      }
      expect(caught).toBeGreaterThan(0);
    });
  }

  it('applies only Normal and ConfChange entries in index order', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    for (let i = 0; i < 20; i++) c.node(1).raft.propose(utf8(`x${i}`));
    c.stabilize();
    const idx = c.node(2).applied.map((e) => e.index);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    expect(c.node(2).applied.every((e) => e.type === EntryType.Normal)).toBe(true);
  });
});
