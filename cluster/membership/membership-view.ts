/**
 * The membership view: a pure state machine (no I/O, no timers, no clock of its
 * own; every call passes nowMs). It turns accepted heartbeats and the passage of
 * time into member states and change events:
 *
 *   alive --(no heartbeat for suspectAfterMs, or connection closed)--> suspect
 *   suspect --(no heartbeat for deadAfterMs)--> dead
 *   suspect | dead --(a newer heartbeat: higher incarnation, or same incarnation and higher seq)--> alive
 *
 * A closed connection may make a member suspect early, but only the timeout makes it
 * dead: a connection can drop while gossip still reaches us through other peers.
 * The view also binds node id <-> peer id, so a peer cannot speak for another node.
 */
import {
  MembershipConfigError,
  MembershipStateError,
  MembersLimitError,
  NodeIdSpoofedError,
  PeerIdReusedError,
  SignerMismatchError,
} from './errors.ts';
import {
  type Heartbeat,
  type MemberEvent,
  MemberEventType,
  type MemberNodeId,
  type MemberSnapshot,
  MemberState,
} from './types.ts';

export interface MembershipViewOptions {
  suspectAfterMs: number;
  deadAfterMs: number;
  membersMax: number;
  /** This node: never suspected or declared dead by its own view. */
  selfNodeId?: MemberNodeId;
}

export interface ObserveResult {
  /** False for a heartbeat no newer than the last one accepted from that node (duplicate or reordered). */
  accepted: boolean;
  events: MemberEvent[];
}

interface Member {
  hb: Heartbeat;
  state: MemberState;
  lastSeenMs: number;
  stateSinceMs: number;
}

export class MembershipView {
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly membersMax: number;
  readonly selfNodeId: MemberNodeId | undefined;
  private readonly byNode = new Map<MemberNodeId, Member>();
  private readonly nodeByPeer = new Map<string, MemberNodeId>();
  private lastNowMs = Number.NEGATIVE_INFINITY;

  constructor(options: MembershipViewOptions) {
    const { suspectAfterMs, deadAfterMs, membersMax } = options;
    if (!Number.isFinite(suspectAfterMs) || suspectAfterMs <= 0) {
      throw new MembershipConfigError('membership: suspectAfterMs must be > 0');
    }
    if (!Number.isFinite(deadAfterMs) || deadAfterMs <= suspectAfterMs) {
      throw new MembershipConfigError('membership: deadAfterMs must be > suspectAfterMs');
    }
    if (!Number.isSafeInteger(membersMax) || membersMax < 1) {
      throw new MembershipConfigError('membership: membersMax must be a positive integer');
    }
    this.suspectAfterMs = suspectAfterMs;
    this.deadAfterMs = deadAfterMs;
    this.membersMax = membersMax;
    this.selfNodeId = options.selfNodeId;
  }

  /**
   * Apply a validated heartbeat signed by signerPeerId. Throws SignerMismatch,
   * NodeIdSpoofed, PeerIdReused or MembersLimit for a heartbeat that must be dropped;
   * the view is unchanged then.
   */
  observe(hb: Heartbeat, signerPeerId: string, nowMs: number): ObserveResult {
    this.advanceClock(nowMs);
    if (hb.peerId !== signerPeerId) throw new SignerMismatchError(hb.peerId, signerPeerId);
    const existing = this.byNode.get(hb.nodeId);
    if (existing !== undefined && existing.hb.peerId !== hb.peerId && existing.state !== MemberState.Dead) {
      throw new NodeIdSpoofedError(hb.nodeId, existing.hb.peerId, hb.peerId);
    }
    const boundNode = this.nodeByPeer.get(hb.peerId);
    if (boundNode !== undefined && boundNode !== hb.nodeId && this.byNode.get(boundNode)?.state !== MemberState.Dead) {
      throw new PeerIdReusedError(hb.peerId, boundNode, hb.nodeId);
    }
    if (existing === undefined && this.byNode.size >= this.membersMax) throw new MembersLimitError(this.membersMax);

    // A dead node id may be taken over by a new key (its data dir was wiped), and a peer may
    // come back under a new node id once its old one is dead: drop the stale bindings first.
    if (boundNode !== undefined && boundNode !== hb.nodeId) this.byNode.delete(boundNode);
    if (existing !== undefined && existing.hb.peerId !== hb.peerId) this.nodeByPeer.delete(existing.hb.peerId);
    this.nodeByPeer.set(hb.peerId, hb.nodeId);

    if (existing === undefined) {
      const m: Member = { hb, state: MemberState.Alive, lastSeenMs: nowMs, stateSinceMs: nowMs };
      this.byNode.set(hb.nodeId, m);
      return { accepted: true, events: [event(MemberEventType.Joined, m, undefined, 'heartbeat')] };
    }
    const rebound = existing.hb.peerId !== hb.peerId;
    if (!rebound && !isNewer(hb, existing.hb)) return { accepted: false, events: [] };

    const previous = existing.hb;
    const previousState = existing.state;
    existing.hb = hb;
    existing.lastSeenMs = nowMs;
    if (previousState !== MemberState.Alive) {
      existing.state = MemberState.Alive;
      existing.stateSinceMs = nowMs;
      return { accepted: true, events: [event(MemberEventType.Alive, existing, previousState, 'heartbeat')] };
    }
    if (describesDifferently(previous, hb)) {
      return { accepted: true, events: [event(MemberEventType.Updated, existing, previousState, 'heartbeat')] };
    }
    return { accepted: true, events: [] };
  }

  /** Early suspicion (a closed connection): alive -> suspect now. Never makes anyone dead. */
  suspect(nodeId: MemberNodeId, nowMs: number, reason: string): MemberEvent[] {
    this.advanceClock(nowMs);
    const m = this.byNode.get(nodeId);
    if (m === undefined || m.state !== MemberState.Alive || nodeId === this.selfNodeId) return [];
    m.state = MemberState.Suspect;
    m.stateSinceMs = nowMs;
    return [event(MemberEventType.Suspect, m, MemberState.Alive, reason)];
  }

  /** Apply the timeouts as of nowMs. */
  tick(nowMs: number): MemberEvent[] {
    this.advanceClock(nowMs);
    const events: MemberEvent[] = [];
    for (const [nodeId, m] of this.byNode) {
      if (nodeId === this.selfNodeId) continue;
      const silentMs = nowMs - m.lastSeenMs;
      if (m.state === MemberState.Alive && silentMs >= this.suspectAfterMs) {
        m.state = MemberState.Suspect;
        m.stateSinceMs = nowMs;
        events.push(event(MemberEventType.Suspect, m, MemberState.Alive, 'timeout'));
      }
      if (m.state === MemberState.Suspect && silentMs >= this.deadAfterMs) {
        m.state = MemberState.Dead;
        m.stateSinceMs = nowMs;
        events.push(event(MemberEventType.Dead, m, MemberState.Suspect, 'timeout'));
      }
    }
    return events;
  }

  /** Forget a dead member (e.g. decommissioned by the controller). Refuses live ones. */
  forget(nodeId: MemberNodeId): boolean {
    const m = this.byNode.get(nodeId);
    if (m === undefined) return false;
    if (m.state !== MemberState.Dead) {
      throw new MembershipStateError(`membership: node ${nodeId} is ${m.state}; only dead members can be forgotten`);
    }
    this.byNode.delete(nodeId);
    this.nodeByPeer.delete(m.hb.peerId);
    return true;
  }

  members(): MemberSnapshot[] {
    return [...this.byNode.values()].map(snapshot).sort((a, b) => a.nodeId - b.nodeId);
  }

  member(nodeId: MemberNodeId): MemberSnapshot | undefined {
    const m = this.byNode.get(nodeId);
    return m === undefined ? undefined : snapshot(m);
  }

  nodeIdOfPeer(peerId: string): MemberNodeId | undefined {
    return this.nodeByPeer.get(peerId);
  }

  countByState(): Record<MemberState, number> {
    const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0 };
    for (const m of this.byNode.values()) counts[m.state]++;
    return counts;
  }

  private advanceClock(nowMs: number): void {
    if (!Number.isFinite(nowMs) || nowMs < this.lastNowMs) {
      throw new MembershipStateError(`membership: clock went backwards (${nowMs} < ${this.lastNowMs})`);
    }
    this.lastNowMs = nowMs;
  }
}

function isNewer(hb: Heartbeat, than: Heartbeat): boolean {
  return hb.incarnation > than.incarnation || (hb.incarnation === than.incarnation && hb.seq > than.seq);
}

/** A change worth an 'updated' event: identity, addresses, placement inputs. Load and seq change every beat. */
function describesDifferently(a: Heartbeat, b: Heartbeat): boolean {
  return (
    a.incarnation !== b.incarnation ||
    a.addresses.client !== b.addresses.client ||
    a.addresses.raft !== b.addresses.raft ||
    a.rack !== b.rack ||
    a.version !== b.version
  );
}

function snapshot(m: Member): MemberSnapshot {
  const { hb } = m;
  return {
    nodeId: hb.nodeId,
    peerId: hb.peerId,
    state: m.state,
    addresses: { ...hb.addresses },
    p2pAddrs: [...hb.p2pAddrs],
    rack: hb.rack,
    load: { ...hb.load },
    version: hb.version,
    incarnation: hb.incarnation,
    seq: hb.seq,
    lastSeenMs: m.lastSeenMs,
    stateSinceMs: m.stateSinceMs,
  };
}

function event(type: MemberEventType, m: Member, previousState: MemberState | undefined, reason: string): MemberEvent {
  return { type, member: snapshot(m), previousState, reason };
}
