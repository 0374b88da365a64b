/**
 * The Membership component: a libp2p node that publishes this node's heartbeat on
 * the gossip topic every heartbeatIntervalMs, validates every heartbeat it hears,
 * feeds the pure MembershipView, and re-emits the view's events as 'change'.
 * Gossip informs; the controller decides (it reads members() and the events).
 */
import { EventEmitter } from 'node:events';
import type { Message } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import {
  MEMBERS_TOPIC,
  type MembershipOptions,
  type ResolvedMembershipOptions,
  resolveMembershipOptions,
} from './config.ts';
import {
  HeartbeatTooLargeError,
  MalformedHeartbeatError,
  MembershipStateError,
  type RejectReason,
  rejectReasonOf,
  SignerMismatchError,
  WrongClusterError,
} from './errors.ts';
import { decodeHeartbeat, encodeHeartbeat } from './heartbeat-codec.ts';
import { createMembershipLibp2p, type MembershipLibp2p } from './libp2p-node.ts';
import { MembershipView } from './membership-view.ts';
import { loadNodeIdentity } from './node-identity.ts';
import { parseSeeds } from './seed-address.ts';
import { SeedDialer } from './seed-dialer.ts';
import type { Heartbeat, MemberEvent, MemberNodeId, MemberSnapshot, MemberState } from './types.ts';

export interface MembershipCounters {
  heartbeatsSent: number;
  heartbeatsPublishFailed: number;
  heartbeatsReceived: number;
  /** Valid but not newer than what we had (duplicates, reordering): ignored, not an attack. */
  heartbeatsStale: number;
  heartbeatsRejected: Record<RejectReason, number>;
  membersByState: Record<MemberState, number>;
  dialsStarted: number;
  dialsFailed: number;
  listenerErrors: number;
}

/** Delay of the extra heartbeat sent when a peer subscribes (and of the extra connect round when a
 * member appears): lets several triggers share one. */
const JOIN_BEAT_DELAY_MS = 50;

const LifecycleState = { New: 'new', Starting: 'starting', Started: 'started', Stopped: 'stopped' } as const;
type LifecycleState = (typeof LifecycleState)[keyof typeof LifecycleState];

export interface Membership {
  on(event: 'change', listener: (e: MemberEvent) => void): this;
  off(event: 'change', listener: (e: MemberEvent) => void): this;
  once(event: 'change', listener: (e: MemberEvent) => void): this;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: typed 'change' overloads over EventEmitter
export class Membership extends EventEmitter {
  readonly options: ResolvedMembershipOptions;
  readonly view: MembershipView;
  private libp2pNode: MembershipLibp2p | undefined;
  private dialer: SeedDialer | undefined;
  private lifecycle: LifecycleState = LifecycleState.New;
  private incarnation = 0;
  private seq = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private starting: Promise<void> | undefined;
  private joinBeatTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** One pending post-disconnect check per peer; bounded by the number of connected peers. */
  private readonly disconnectChecks = new Map<string, NodeJS.Timeout>();
  private readonly counts = {
    heartbeatsSent: 0,
    heartbeatsPublishFailed: 0,
    heartbeatsReceived: 0,
    heartbeatsStale: 0,
    listenerErrors: 0,
  };
  private readonly rejected: Record<RejectReason, number> = {
    malformed: 0,
    too_large: 0,
    wrong_cluster: 0,
    signer_mismatch: 0,
    node_id_spoofed: 0,
    peer_id_reused: 0,
    members_limit: 0,
    unsigned: 0,
  };

  constructor(options: MembershipOptions) {
    super();
    this.options = resolveMembershipOptions(options);
    parseSeeds(this.options.seeds); // fail at construction on a bad seed, not at start
    this.view = new MembershipView({
      suspectAfterMs: this.options.suspectAfterMs,
      deadAfterMs: this.options.deadAfterMs,
      membersMax: this.options.membersMax,
      selfNodeId: this.options.nodeId,
    });
  }

  async start(): Promise<void> {
    if (this.lifecycle !== LifecycleState.New) {
      throw new MembershipStateError(`membership: start() in state ${this.lifecycle}; create a new Membership`);
    }
    this.lifecycle = LifecycleState.Starting;
    this.starting = this.startInner();
    try {
      await this.starting;
    } catch (err) {
      // A half-started node (port in use, unreadable key) must not leave a listener or timers behind.
      this.lifecycle = LifecycleState.Stopped;
      this.clearTimers();
      try {
        await this.libp2pNode?.stop();
      } catch {
        // already failing: the start error is the one to report
      }
      throw err;
    }
  }

  private async startInner(): Promise<void> {
    const o = this.options;
    const identity = await loadNodeIdentity(o.dataDir);
    this.incarnation = identity.incarnation;
    const node = await createMembershipLibp2p({
      privateKey: identity.privateKey,
      host: o.host,
      port: o.port,
      inboundConnectionsPerSecondMax: o.inboundConnectionsPerSecondMax,
      inboundPendingConnectionsMax: o.inboundPendingConnectionsMax,
    });
    this.libp2pNode = node;
    const pubsub = node.services.pubsub;
    pubsub.topicValidators.set(MEMBERS_TOPIC, (_source, msg) => this.validate(msg));
    node.addEventListener('peer:disconnect', (e) => this.onPeerDisconnect(e.detail));
    pubsub.addEventListener('subscription-change', (e) => {
      if (e.detail.subscriptions.some((s) => s.subscribe && s.topic === MEMBERS_TOPIC)) this.heartbeatSoon();
    });
    await node.start();
    if (this.lifecycle !== LifecycleState.Starting) {
      // stop() was called while we were starting.
      await node.stop();
      return;
    }
    pubsub.subscribe(MEMBERS_TOPIC);
    this.dialer = new SeedDialer(node, {
      seeds: parseSeeds(o.seeds),
      dialTimeoutMs: o.dialTimeoutMs,
      dialsInFlightMax: o.dialsInFlightMax,
    });
    this.lifecycle = LifecycleState.Started;
    this.publishHeartbeat();
    this.dialer.connectRound(this.view.members());
    this.timers.push(
      setInterval(() => this.publishHeartbeat(), o.heartbeatIntervalMs),
      setInterval(() => this.emitAll(this.view.tick(o.nowMs())), o.checkIntervalMs),
      setInterval(() => this.dialer?.connectRound(this.view.members()), o.connectIntervalMs),
    );
  }

  /** Idempotent. Called during start(), it waits for start to notice and close the node. */
  async stop(): Promise<void> {
    const previous = this.lifecycle;
    this.lifecycle = LifecycleState.Stopped;
    this.clearTimers();
    if (previous === LifecycleState.Starting) await this.starting?.catch(() => {});
    if (previous === LifecycleState.Started) await this.libp2pNode?.stop();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    clearTimeout(this.joinBeatTimer);
    for (const t of this.disconnectChecks.values()) clearTimeout(t);
    this.disconnectChecks.clear();
    this.joinBeatTimer = undefined;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.dialer?.stop();
  }

  get peerId(): string {
    return this.node().peerId.toString();
  }

  /** libp2p listen addresses, each ending in /p2p/<peerId>: usable as seeds by other nodes. */
  multiaddrs(): string[] {
    return this.node()
      .getMultiaddrs()
      .map((a) => a.toString());
  }

  members(): MemberSnapshot[] {
    return this.view.members();
  }

  member(nodeId: MemberNodeId): MemberSnapshot | undefined {
    return this.view.member(nodeId);
  }

  counters(): MembershipCounters {
    return {
      ...this.counts,
      heartbeatsRejected: { ...this.rejected },
      membersByState: this.view.countByState(),
      dialsStarted: this.dialer?.dialsStarted ?? 0,
      dialsFailed: this.dialer?.dialsFailed ?? 0,
    };
  }

  private node(): MembershipLibp2p {
    if (this.libp2pNode === undefined) throw new MembershipStateError('membership: not started');
    return this.libp2pNode;
  }

  private buildHeartbeat(): Heartbeat {
    const o = this.options;
    const node = this.node();
    return {
      nodeId: o.nodeId,
      peerId: node.peerId.toString(),
      clusterId: o.clusterId,
      addresses: { ...o.addresses },
      p2pAddrs: node
        .getMultiaddrs()
        .map((a) => a.toString())
        .slice(0, 16),
      rack: o.rack,
      load: o.load(),
      version: o.version,
      incarnation: this.incarnation,
      seq: this.seq++,
    };
  }

  /**
   * A peer just subscribed: tell it about us now instead of up to one interval later, so a
   * joining node learns the cluster in one round trip. Coalesced: at most one extra beat per
   * JOIN_BEAT_DELAY_MS however many peers subscribe at once.
   */
  private heartbeatSoon(): void {
    if (this.lifecycle !== LifecycleState.Started || this.joinBeatTimer !== undefined) return;
    this.joinBeatTimer = setTimeout(() => {
      this.joinBeatTimer = undefined;
      this.publishHeartbeat();
    }, JOIN_BEAT_DELAY_MS);
  }

  /**
   * We just heard of a member, probably through a relay: connect to it directly now rather
   * than at the next round, so a kill is seen by every node's own connection close.
   */
  private connectSoon(): void {
    if (this.lifecycle !== LifecycleState.Started || this.connectTimer !== undefined) return;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.lifecycle === LifecycleState.Started) this.dialer?.connectRound(this.view.members());
    }, JOIN_BEAT_DELAY_MS);
  }

  private publishHeartbeat(): void {
    if (this.lifecycle !== LifecycleState.Started) return;
    const hb = this.buildHeartbeat();
    const bytes = encodeHeartbeat(hb);
    // Our own heartbeat goes through the same view, so members() includes this node.
    this.emitAll(this.view.observe(hb, hb.peerId, this.options.nowMs()).events);
    this.node()
      .services.pubsub.publish(MEMBERS_TOPIC, bytes)
      .then(
        () => this.counts.heartbeatsSent++,
        () => this.counts.heartbeatsPublishFailed++,
      );
  }

  /**
   * Runs inside gossipsub before a message is delivered or forwarded. Objectively invalid
   * heartbeats are Rejected (gossipsub penalises the sender and does not forward them);
   * ones that only conflict with this node's view (a node id bound to another key) are
   * Ignored, because an honest relay may have seen them in another order.
   */
  private validate(msg: Message): TopicValidatorResult {
    if (this.lifecycle !== LifecycleState.Started) return TopicValidatorResult.Ignore;
    if (msg.type !== 'signed') {
      this.rejected.unsigned++;
      return TopicValidatorResult.Reject;
    }
    try {
      const hb = decodeHeartbeat(msg.data, this.options.clusterId);
      const result = this.view.observe(hb, msg.from.toString(), this.options.nowMs());
      if (!result.accepted) {
        this.counts.heartbeatsStale++;
        return TopicValidatorResult.Ignore;
      }
      this.counts.heartbeatsReceived++;
      this.emitAll(result.events);
      return TopicValidatorResult.Accept;
    } catch (err) {
      if (err instanceof MembershipStateError) throw err; // our clock broke: a bug here, not a lying peer
      this.rejected[rejectReasonOf(err)]++;
      const objective =
        err instanceof MalformedHeartbeatError ||
        err instanceof HeartbeatTooLargeError ||
        err instanceof WrongClusterError ||
        err instanceof SignerMismatchError;
      return objective ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    }
  }

  /**
   * The last connection to a member closed. Suspect it only if, after disconnectGraceMs, we
   * still hold no connection to it and have heard nothing newer from it: a reset connection that
   * is re-dialled while gossip still flows must not flap the member (defensive; see README).
   */
  private onPeerDisconnect(peerId: PeerId): void {
    if (this.lifecycle !== LifecycleState.Started || !this.options.suspectOnDisconnect) return;
    const key = peerId.toString();
    const nodeId = this.view.nodeIdOfPeer(key);
    if (nodeId === undefined || this.disconnectChecks.has(key)) return;
    const seenBefore = this.view.member(nodeId)?.lastSeenMs;
    const timer = setTimeout(() => {
      this.disconnectChecks.delete(key);
      if (this.lifecycle !== LifecycleState.Started) return;
      if (this.node().getConnections(peerId).length > 0) return;
      const m = this.view.member(nodeId);
      if (m === undefined || m.peerId !== key || m.lastSeenMs !== seenBefore) return;
      this.emitAll(this.view.suspect(nodeId, this.options.nowMs(), 'connection-closed'));
    }, this.options.disconnectGraceMs);
    this.disconnectChecks.set(key, timer);
  }

  /** Whether this node holds an open libp2p connection to the member (for tests and diagnostics). */
  isConnectedTo(nodeId: MemberNodeId): boolean {
    const m = this.view.member(nodeId);
    if (m === undefined || this.libp2pNode === undefined) return false;
    return this.libp2pNode.getConnections().some((c) => c.remotePeer.toString() === m.peerId);
  }

  private emitAll(events: readonly MemberEvent[]): void {
    for (const e of events) {
      if ((e.type === 'joined' || e.type === 'alive') && e.member.nodeId !== this.options.nodeId) this.connectSoon();
      try {
        this.emit('change', e);
      } catch {
        // A listener's bug must not turn into a rejected heartbeat or a dead timer.
        this.counts.listenerErrors++;
      }
    }
  }
}
