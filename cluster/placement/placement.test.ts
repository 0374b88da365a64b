import { describe, expect, it } from 'vitest';
import type { NodeId } from '../raft/types.ts';
import { assignReplicas } from './assign.ts';
import { NotEnoughBrokersError } from './errors.ts';
import { planLeaderRebalance } from './leader-balance.ts';
import { planReReplication } from './rereplicate.ts';
import type { PartitionReplicas, PlacementBroker } from './types.ts';

/** mulberry32: a tiny seeded PRNG so every random cluster is reproducible from its seed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

interface RandomCase {
  brokers: PlacementBroker[];
  partitions: number;
  rf: number;
}

function randomCase(seed: number, racked: boolean): RandomCase {
  const r = prng(seed);
  const n = 1 + r(12);
  const rackCount = 1 + r(4);
  const brokers: PlacementBroker[] = [];
  let id = 1 + r(5);
  for (let i = 0; i < n; i++) {
    id += 1 + r(3); // ids need not be dense
    brokers.push({ nodeId: id, rack: racked ? `rack-${r(rackCount)}` : '' });
  }
  return { brokers, partitions: 1 + r(40), rf: 1 + r(Math.min(n, 5)) };
}

function counts(assign: NodeId[][], brokers: PlacementBroker[]) {
  const replicas = new Map(brokers.map((b) => [b.nodeId, 0]));
  const leaders = new Map(brokers.map((b) => [b.nodeId, 0]));
  for (const rs of assign) {
    rs.forEach((id, i) => {
      replicas.set(id, replicas.get(id)! + 1);
      if (i === 0) leaders.set(id, leaders.get(id)! + 1);
    });
  }
  const spread = (m: Map<NodeId, number>) => Math.max(...m.values()) - Math.min(...m.values());
  return { replicaSpread: spread(replicas), leaderSpread: spread(leaders) };
}

/** More with PLACEMENT_SEEDS=3000 (passes; about 12 s). */
const SEEDS = Number(process.env.PLACEMENT_SEEDS ?? 400);

describe('assignReplicas', () => {
  it('RF respected, no duplicate replica, only given brokers, replicas and leaders balanced within 1 (no racks)', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const c = randomCase(seed, false);
      const a = assignReplicas({ brokers: c.brokers, partitions: c.partitions, replicationFactor: c.rf });
      const ids = new Set(c.brokers.map((b) => b.nodeId));
      expect(a.length, `seed ${seed}`).toBe(c.partitions);
      for (const rs of a) {
        expect(rs.length, `seed ${seed}`).toBe(c.rf);
        expect(new Set(rs).size, `seed ${seed}`).toBe(c.rf);
        for (const id of rs) expect(ids.has(id), `seed ${seed}`).toBe(true);
      }
      const s = counts(a, c.brokers);
      expect(s.replicaSpread, `seed ${seed} replicas`).toBeLessThanOrEqual(1);
      expect(s.leaderSpread, `seed ${seed} leaders`).toBeLessThanOrEqual(1);
    }
  });

  it('no two replicas of a partition share a rack while racks suffice, and leaders stay within 1', () => {
    let constrained = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const c = randomCase(seed, true);
      const a = assignReplicas({ brokers: c.brokers, partitions: c.partitions, replicationFactor: c.rf });
      const rackOf = new Map(c.brokers.map((b) => [b.nodeId, b.rack]));
      const racks = new Set(c.brokers.map((b) => b.rack)).size;
      for (const rs of a) {
        expect(new Set(rs).size).toBe(c.rf);
        const used = new Set(rs.map((id) => rackOf.get(id)));
        // As many distinct racks as possible: min(RF, racks).
        expect(used.size, `seed ${seed}`).toBe(Math.min(c.rf, racks));
      }
      if (racks >= c.rf && c.rf > 1) constrained++;
      expect(counts(a, c.brokers).leaderSpread, `seed ${seed} leaders`).toBeLessThanOrEqual(1);
    }
    expect(constrained).toBeGreaterThan(SEEDS / 4); // the rack rule really was exercised
  });

  it('is deterministic and ignores the order brokers are given in', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const c = randomCase(seed, seed % 2 === 0);
      const a = assignReplicas({ brokers: c.brokers, partitions: c.partitions, replicationFactor: c.rf });
      const b = assignReplicas({
        brokers: [...c.brokers].reverse(),
        partitions: c.partitions,
        replicationFactor: c.rf,
      });
      expect(b).toEqual(a);
    }
  });

  it('prefers brokers that hold fewer replicas cluster-wide', () => {
    const brokers = [1, 2, 3, 4].map((nodeId) => ({ nodeId, rack: '' }));
    const existing: PartitionReplicas[] = [{ topic: 'old', partition: 0, replicas: [1, 2] }];
    expect(assignReplicas({ brokers, partitions: 1, replicationFactor: 2, existing })).toEqual([[3, 4]]);
  });

  it('rejects RF above the broker count', () => {
    const brokers = [1, 2].map((nodeId) => ({ nodeId, rack: '' }));
    expect(() => assignReplicas({ brokers, partitions: 3, replicationFactor: 3 })).toThrow(NotEnoughBrokersError);
  });
});

describe('planReReplication', () => {
  it('replaces every dead replica with a live one, keeps RF and distinctness, spreads load', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = prng(seed * 7919);
      const c = randomCase(seed, seed % 3 !== 0);
      if (c.brokers.length < 2) continue;
      const rf = Math.min(c.rf, c.brokers.length - 1);
      const a = assignReplicas({ brokers: c.brokers, partitions: c.partitions, replicationFactor: rf });
      const parts = a.map((replicas, partition) => ({ topic: 't', partition, replicas }));
      const deadNode = c.brokers[r(c.brokers.length)]!.nodeId;
      const live = c.brokers.filter((b) => b.nodeId !== deadNode);
      const rackOf = new Map(c.brokers.map((b) => [b.nodeId, b.rack]));
      const plan = planReReplication({ partitions: parts, live, dead: [deadNode], rackOf });
      expect(plan.stuck, `seed ${seed}`).toEqual([]);
      const affected = parts.filter((p) => p.replicas.includes(deadNode));
      expect(plan.moves.length, `seed ${seed}`).toBe(affected.length);
      const after = parts.map((p) => plan.moves.find((m) => m.partition === p.partition)?.to ?? p.replicas);
      for (const rs of after) {
        expect(rs.length).toBe(rf);
        expect(new Set(rs).size).toBe(rf);
        expect(rs.includes(deadNode)).toBe(false);
        const racks = new Set(live.map((b) => b.rack)).size;
        expect(new Set(rs.map((id) => rackOf.get(id))).size, `seed ${seed}`).toBe(Math.min(rf, racks));
      }
      for (const m of plan.moves) {
        expect(m.removed).toEqual([deadNode]);
        expect(m.to.slice(0, -1)).toEqual(m.from.filter((id) => id !== deadNode));
      }
      if (new Set(c.brokers.map((b) => b.rack)).size === 1) {
        // One rack (or none): each replacement goes to a least-loaded candidate, so the dead
        // broker's share spreads out instead of piling onto one survivor.
        const load = new Map(live.map((b) => [b.nodeId, 0]));
        for (const rs of after) for (const id of rs) load.set(id, load.get(id)! + 1);
        const fair = Math.ceil((after.length * rf) / live.length);
        expect(Math.max(...load.values()), `seed ${seed}`).toBeLessThanOrEqual(fair + 1);
      }
    }
  });

  it('reports partitions that cannot be repaired and honours movesMax', () => {
    const parts = [
      { topic: 'a', partition: 0, replicas: [1, 2, 3] },
      { topic: 'a', partition: 1, replicas: [2, 3, 1] },
    ];
    const live = [2, 3].map((nodeId) => ({ nodeId, rack: '' }));
    expect(planReReplication({ partitions: parts, live, dead: [1] })).toEqual({
      moves: [],
      stuck: [
        { topic: 'a', partition: 0 },
        { topic: 'a', partition: 1 },
      ],
    });
    const four = [2, 3, 4].map((nodeId) => ({ nodeId, rack: '' }));
    const plan = planReReplication({ partitions: parts, live: four, dead: [1], movesMax: 1 });
    expect(plan.moves).toEqual([
      { topic: 'a', partition: 0, from: [1, 2, 3], to: [2, 3, 4], added: [4], removed: [1] },
    ]);
  });
});

describe('planLeaderRebalance', () => {
  it('moves leadership back to a live preferred leader, and only then', () => {
    const parts = [
      { topic: 't', partition: 0, replicas: [1, 2, 3], leader: 2 },
      { topic: 't', partition: 1, replicas: [2, 3, 1], leader: 2 },
      { topic: 't', partition: 2, replicas: [3, 1, 2], leader: 1 },
      { topic: 't', partition: 3, replicas: [1, 3, 2], leader: 0 },
    ];
    expect(planLeaderRebalance({ partitions: parts, live: [1, 2, 3] })).toEqual([
      { topic: 't', partition: 0, from: 2, to: 1 },
      { topic: 't', partition: 2, from: 1, to: 3 },
    ]);
    expect(planLeaderRebalance({ partitions: parts, live: [1, 2] })).toEqual([
      { topic: 't', partition: 0, from: 2, to: 1 },
    ]);
    expect(planLeaderRebalance({ partitions: parts, live: [1, 2, 3], transfersMax: 1 })).toHaveLength(1);
  });

  it('after a node returns, the plan restores the assignment leader spread (random clusters)', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const c = randomCase(seed, false);
      if (c.brokers.length < 2 || c.rf < 2) continue;
      const a = assignReplicas({ brokers: c.brokers, partitions: c.partitions, replicationFactor: c.rf });
      const back = c.brokers[seed % c.brokers.length]!.nodeId;
      // While `back` was away, its partitions were led by their second replica.
      const parts = a.map((replicas, partition) => ({
        topic: 't',
        partition,
        replicas,
        leader: replicas[0] === back ? replicas[1]! : replicas[0]!,
      }));
      const plan = planLeaderRebalance({ partitions: parts, live: c.brokers.map((b) => b.nodeId) });
      for (const t of plan) parts[t.partition]!.leader = t.to;
      const leaders = parts.map((p) => [p.leader]);
      expect(counts(leaders, c.brokers).leaderSpread, `seed ${seed}`).toBeLessThanOrEqual(1);
      expect(plan.every((t) => t.to === back)).toBe(true);
    }
  });
});
