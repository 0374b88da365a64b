/**
 * What the reconciler needs from membership: who is alive, suspect or dead,
 * since when, and a nudge when that changes. Gossip (cluster/membership)
 * informs; the controller decides.
 */
import type { NodeId } from '../raft/types.ts';

export type MemberLiveness = 'alive' | 'suspect' | 'dead';

export interface MemberStatus {
  nodeId: NodeId;
  state: MemberLiveness;
  /** When the member entered `state`, on the clock the reconciler is given (nowMs). */
  sinceMs: number;
}

export interface MembershipSource {
  members(): readonly MemberStatus[];
  /** Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** The shape of cluster/membership's Membership that the adapter uses (structural, no import cycle). */
export interface GossipMembershipLike {
  members(): readonly { nodeId: NodeId; state: MemberLiveness; stateSinceMs: number }[];
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

/** Adapts the gossip Membership (its stateSinceMs is on its own nowMs clock: give the reconciler the same). */
export function membershipSourceFrom(m: GossipMembershipLike): MembershipSource {
  return {
    members: () => m.members().map((x) => ({ nodeId: x.nodeId, state: x.state, sinceMs: x.stateSinceMs })),
    onChange: (listener) => {
      m.on('change', listener);
      return () => m.off('change', listener);
    },
  };
}

/** An in-memory source for tests and tools: set states by hand. */
export class StaticMembership implements MembershipSource {
  private readonly byId = new Map<NodeId, MemberStatus>();
  private readonly listeners = new Set<() => void>();

  set(nodeId: NodeId, state: MemberLiveness, sinceMs: number): void {
    this.byId.set(nodeId, { nodeId, state, sinceMs });
    for (const l of this.listeners) l();
  }

  members(): readonly MemberStatus[] {
    return [...this.byId.values()];
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
