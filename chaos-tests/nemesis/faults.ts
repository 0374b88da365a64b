/**
 * One fault of each family: where it strikes (from the fault's block of
 * seeded draws and, for leader targets, a probe of the cluster) and how it is
 * applied. Every fault is undone the same way (ClusterState.healAll), so a
 * plan only says how to break things.
 */
import type { ProbeResult } from '../workload/protocol.ts';
import type { ClusterState } from './cluster-state.ts';
import type { NemesisFamily } from './families.ts';
import type { FaultDraw } from './random.ts';

export interface FaultPlan {
  family: NemesisFamily;
  /** e.g. 'kill-9 node 2', 'partition split {1}|{2,3}'. */
  description: string;
  nodes: number[];
  apply(state: ClusterState): Promise<void>;
}

/** Asks the cluster who leads; null when it did not answer. */
export type LeaderProbe = () => Promise<ProbeResult | null>;

type Rule = readonly [to: number, from: number];

function set(ids: readonly number[]): string {
  return `{${[...ids].sort((a, b) => a - b).join(',')}}`;
}

function cutBetween(a: readonly number[], b: readonly number[]): Rule[] {
  const rules: Rule[] = [];
  for (const x of a) {
    for (const y of b) {
      rules.push([x, y]);
      rules.push([y, x]);
    }
  }
  return rules;
}

/** The node leading the most partitions (ties: the drawn one among them), or null without an answer. */
function busiestLeader(probe: ProbeResult | null, nodeIds: readonly number[], tie: number): [number, number] | null {
  if (!probe) return null;
  const counts = new Map<number, number>();
  for (const l of probe.leaders) if (nodeIds.includes(l)) counts.set(l, (counts.get(l) ?? 0) + 1);
  if (counts.size === 0) return null;
  const most = Math.max(...counts.values());
  const tied = [...counts]
    .filter(([, c]) => c === most)
    .map(([id]) => id)
    .sort((a, b) => a - b);
  return [tied[Math.floor(tie * tied.length)]!, most];
}

/** Every description starts with the family: `kill-leader: kill-9 node 2 (leads 3 of 6 partitions)`. */
export async function planFault(
  family: NemesisFamily,
  draw: FaultDraw,
  nodeIds: readonly number[],
  probe: LeaderProbe,
): Promise<FaultPlan> {
  const plan = await planBare(family, draw, nodeIds, probe);
  return { ...plan, description: `${family}: ${plan.description}` };
}

async function planBare(
  family: NemesisFamily,
  draw: FaultDraw,
  nodeIds: readonly number[],
  probe: LeaderProbe,
): Promise<FaultPlan> {
  const n = nodeIds.length;
  const majority = Math.floor(n / 2) + 1;
  // Drawn first, in the same order for every family, so the block's use never depends on the cluster.
  const any = draw.pick(nodeIds);
  const tie = draw.float();
  const coin = draw.float();
  const order = draw.sample(nodeIds, n);
  switch (family) {
    case 'kill':
      return { family, description: `kill-9 node ${any}`, nodes: [any], apply: (s) => s.kill([any]) };
    case 'kill-leader': {
      const p = await probe();
      const busiest = busiestLeader(p, nodeIds, tie);
      const target = busiest?.[0] ?? any;
      const why = busiest ? `leads ${busiest[1]} of ${p!.leaders.length} partitions` : 'no leader answer: random node';
      return {
        family,
        description: `kill-9 leader node ${target} (${why})`,
        nodes: [target],
        apply: (s) => s.kill([target]),
      };
    }
    case 'kill-majority': {
      const victims = order.slice(0, majority);
      return { family, description: `kill-9 majority ${set(victims)}`, nodes: victims, apply: (s) => s.kill(victims) };
    }
    case 'kill-all':
      return {
        family,
        description: `kill-9 all nodes ${set(nodeIds)}`,
        nodes: [...nodeIds],
        apply: (s) => s.kill(nodeIds),
      };
    case 'pause': {
      let target = any;
      let why = 'random node';
      if (coin < 0.5) {
        const busiest = busiestLeader(await probe(), nodeIds, tie);
        if (busiest) {
          target = busiest[0];
          why = `busiest leader, ${busiest[1]} partitions`;
        }
      }
      return { family, description: `pause node ${target} (${why})`, nodes: [target], apply: (s) => s.pause(target) };
    }
    case 'restart':
      return { family, description: `graceful stop node ${any}`, nodes: [any], apply: (s) => s.stop(any) };
    case 'isolate': {
      const others = nodeIds.filter((x) => x !== any);
      return {
        family,
        description: `partition isolate node ${any} ${set([any])}|${set(others)}`,
        nodes: [any],
        apply: (s) => s.cut(cutBetween([any], others)),
      };
    }
    case 'isolate-controller': {
      const p = await probe();
      const known = p !== null && nodeIds.includes(p.controllerId);
      const target = known ? p.controllerId : any;
      const others = nodeIds.filter((x) => x !== target);
      return {
        family,
        description: `partition isolate controller leader node ${target}${known ? '' : ' (no controller answer: random node)'} ${set([target])}|${set(others)}`,
        nodes: [target],
        apply: (s) => s.cut(cutBetween([target], others)),
      };
    }
    case 'split': {
      const minoritySize = 1 + Math.floor(coin * Math.max(1, Math.floor((n - 1) / 2)));
      const minority = order.slice(0, minoritySize);
      const rest = order.slice(minoritySize);
      return {
        family,
        description: `partition majority-minority ${set(minority)}|${set(rest)}`,
        nodes: minority,
        apply: (s) => s.cut(cutBetween(minority, rest)),
      };
    }
    case 'bridge': {
      const bridge = order[0]!;
      const rest = order.slice(1);
      const a = rest.slice(0, Math.floor(rest.length / 2));
      const b = rest.slice(Math.floor(rest.length / 2));
      return {
        family,
        description: `partition bridge node ${bridge} sees ${set(a)} and ${set(b)}, which do not see each other`,
        nodes: [bridge],
        apply: (s) => s.cut(cutBetween(a, b)),
      };
    }
    case 'one-way': {
      const others = nodeIds.filter((x) => x !== any);
      const deaf = coin < 0.5;
      const rules: Rule[] = others.map((y) => (deaf ? [any, y] : [y, any]));
      return {
        family,
        description: deaf
          ? `partition one-way node ${any} hears nobody (its packets still go out)`
          : `partition one-way nobody hears node ${any} (it still hears them)`,
        nodes: [any],
        apply: (s) => s.cut(rules),
      };
    }
  }
}
