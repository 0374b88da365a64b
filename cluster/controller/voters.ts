/**
 * Which nodes vote in the controller group: the lowest node ids, as many as
 * the largest odd number not above min(nodes, votersMax). An even count adds
 * a vote without adding a tolerated failure, so 4 nodes get 3 voters.
 */
import type { NodeId } from '../raft/types.ts';

export const CONTROLLER_VOTERS_MAX = 5;

export function controllerVoters(nodeIds: readonly NodeId[], votersMax: number = CONTROLLER_VOTERS_MAX): NodeId[] {
  if (!Number.isSafeInteger(votersMax) || votersMax < 1) throw new RangeError('votersMax must be >= 1');
  const ids = [...new Set(nodeIds)].sort((a, b) => a - b);
  let count = Math.min(ids.length, votersMax);
  if (count % 2 === 0) count--;
  return ids.slice(0, Math.max(count, 0));
}
