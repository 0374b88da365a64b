/** Rack rule shared by assignment and re-replication. */
import type { NodeId } from '../raft/types.ts';
import type { PlacementBroker } from './types.ts';

/**
 * Candidates that keep racks distinct: brokers whose rack no chosen replica
 * uses yet. When every rack is already used (racks do not suffice) or no rack
 * is set, every candidate qualifies. Brokers without a rack count as their
 * own rack each, so a rackless cluster is unconstrained.
 */
export function rackEligible(
  candidates: readonly PlacementBroker[],
  chosen: readonly NodeId[],
  rackOf: ReadonlyMap<NodeId, string>,
): PlacementBroker[] {
  const used = new Set<string>();
  for (const id of chosen) {
    const r = rackOf.get(id) ?? '';
    if (r !== '') used.add(r);
  }
  const fresh = candidates.filter((b) => b.rack === '' || !used.has(b.rack));
  return fresh.length > 0 ? fresh : [...candidates];
}
