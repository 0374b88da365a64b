/**
 * Replica assignment for a new topic. Pure and deterministic: the controller
 * leader computes it and carries the result inside the CreateTopic command,
 * so applying that command never depends on who computed it or when.
 */
import type { NodeId } from '../raft/types.ts';
import { NotEnoughBrokersError, PlacementInputError } from './errors.ts';
import { type BrokerLoad, loadOf } from './load.ts';
import { rackEligible } from './racks.ts';
import type { PartitionReplicas, PlacementBroker } from './types.ts';

/** A bound on the work one call may do (partitions x brokers). */
export const ASSIGN_PARTITIONS_MAX = 100_000;
export const ASSIGN_BROKERS_MAX = 10_000;

export interface AssignInput {
  /** Live brokers that may take replicas. */
  brokers: readonly PlacementBroker[];
  partitions: number;
  replicationFactor: number;
  /** Replicas already in the cluster: ties within this topic go to the brokers holding fewer. */
  existing?: readonly PartitionReplicas[];
}

function checkInput(i: AssignInput): void {
  if (!Number.isSafeInteger(i.partitions) || i.partitions < 1 || i.partitions > ASSIGN_PARTITIONS_MAX) {
    throw new PlacementInputError(
      `placement: partitions must be in [1, ${ASSIGN_PARTITIONS_MAX}], got ${i.partitions}`,
    );
  }
  if (!Number.isSafeInteger(i.replicationFactor) || i.replicationFactor < 1) {
    throw new PlacementInputError(`placement: replication factor must be >= 1, got ${i.replicationFactor}`);
  }
  if (i.brokers.length > ASSIGN_BROKERS_MAX) {
    throw new PlacementInputError(`placement: more than ${ASSIGN_BROKERS_MAX} brokers`);
  }
  const ids = new Set(i.brokers.map((b) => b.nodeId));
  if (ids.size !== i.brokers.length) throw new PlacementInputError('placement: duplicate broker id');
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id <= 0) throw new PlacementInputError(`placement: bad broker id ${id}`);
  }
  if (i.replicationFactor > i.brokers.length) throw new NotEnoughBrokersError(i.replicationFactor, i.brokers.length);
}

/**
 * Returns one replica list per partition (replicas[0] = preferred leader).
 *
 * Without a rack rule to honour (no racks, or a single one), the replica sets
 * are consecutive windows of RF slots over a walk of a ring of the brokers
 * (least loaded cluster-wide first): the windows tile the walk, so replica
 * counts stay within one of each other, which a greedy choice per partition
 * cannot promise. The
 * leader is the window member leading the fewest partitions of the topic.
 *
 * With racks, the leader is the broker leading the fewest partitions of the
 * topic (which alone keeps leaders within one), and each follower goes to the
 * broker with the fewest replicas of the topic among brokers whose rack the
 * partition does not use yet, while such brokers exist.
 */
export function assignReplicas(input: AssignInput): NodeId[][] {
  checkInput(input);
  const brokers = [...input.brokers].sort((a, b) => a.nodeId - b.nodeId);
  const ids = brokers.map((b) => b.nodeId);
  const global = loadOf(ids, input.existing ?? []);
  const topic = new Map<NodeId, BrokerLoad>(ids.map((id) => [id, { replicas: 0, leaders: 0 }]));
  const racks = new Set(brokers.map((b) => b.rack));
  // One rack (or none) constrains nothing.
  const racked = racks.size > 1;
  const pickSet = racked ? rackAwareSet(brokers, topic, global) : ringWindows(brokers, global, input.replicationFactor);
  const out: NodeId[][] = [];
  for (let p = 0; p < input.partitions; p++) {
    const replicas = pickSet(p, input.replicationFactor);
    for (const id of replicas) topic.get(id)!.replicas++;
    topic.get(replicas[0]!)!.leaders++;
    out.push(replicas);
  }
  return out;
}

type SetPicker = (partition: number, replicationFactor: number) => NodeId[];

function ringWindows(brokers: readonly PlacementBroker[], global: Map<NodeId, BrokerLoad>, rf: number): SetPicker {
  const ring = [...brokers]
    .sort((a, b) => {
      const ga = global.get(a.nodeId)!;
      const gb = global.get(b.nodeId)!;
      return ga.replicas - gb.replicas || ga.leaders - gb.leaders || a.nodeId - b.nodeId;
    })
    .map((b) => b.nodeId);
  const n = ring.length;
  const strides = coprimeStrides(n);
  const leaders = new Map<NodeId, number>(ring.map((id) => [id, 0]));
  return (p) => {
    // Pass k (n partitions, RF slots each) walks the ring with the k-th stride coprime to n: every
    // position is hit exactly RF times per pass, consecutive slots stay distinct, and the sets that
    // share partitions change from pass to pass, so a dead broker's load spreads over many others.
    const stride = strides[Math.floor(p / n) % strides.length]!;
    const first = (p % n) * rf;
    const window = Array.from({ length: rf }, (_, j) => ring[((first + j) * stride) % n]!);
    const leader = minBy(window, (id) => [leaders.get(id)!, global.get(id)!.leaders]);
    leaders.set(leader, leaders.get(leader)! + 1);
    return [leader, ...window.filter((id) => id !== leader)];
  };
}

/** Strides in [1, n) coprime to n, 1 first (bounded: at most 64 kept). */
function coprimeStrides(n: number): number[] {
  const out = [1];
  for (let s = 2; s < n && out.length < 64; s++) if (gcd(s, n) === 1) out.push(s);
  return out;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function rackAwareSet(
  brokers: readonly PlacementBroker[],
  topic: Map<NodeId, BrokerLoad>,
  global: Map<NodeId, BrokerLoad>,
): SetPicker {
  const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack] as const));
  const position = new Map(brokers.map((b, i) => [b.nodeId, i] as const));
  const n = brokers.length;
  return (p, rf) => {
    const rotation = (id: NodeId) => (position.get(id)! - (p % n) + n) % n;
    const leader = minBy(brokers, (b) => {
      const t = topic.get(b.nodeId)!;
      const g = global.get(b.nodeId)!;
      return [t.leaders, t.replicas, g.leaders, g.replicas, rotation(b.nodeId)];
    }).nodeId;
    const replicas: NodeId[] = [leader];
    while (replicas.length < rf) {
      const free = brokers.filter((b) => !replicas.includes(b.nodeId));
      const pick = minBy(rackEligible(free, replicas, rackOf), (b) => {
        const t = topic.get(b.nodeId)!;
        const g = global.get(b.nodeId)!;
        return [t.replicas, t.leaders, g.replicas, g.leaders, rotation(b.nodeId)];
      });
      replicas.push(pick.nodeId);
    }
    return replicas;
  };
}

/** The element with the lexicographically smallest key (first one on ties). */
export function minBy<T>(items: readonly T[], key: (t: T) => number[]): T {
  if (items.length === 0) throw new PlacementInputError('placement: minBy over nothing');
  let best = items[0]!;
  let bestKey = key(best);
  for (let i = 1; i < items.length; i++) {
    const k = key(items[i]!);
    if (compareKeys(k, bestKey) < 0) {
      best = items[i]!;
      bestKey = k;
    }
  }
  return best;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
