/**
 * Many Raft groups on one node, sharing one transport link per peer and ONE
 * ticker for the whole host.
 *
 * Batching: everything the groups send during one event-loop turn goes to
 * each peer as one frame; heartbeats and their acks shrink to
 * (group, term, commit) tuples (Redpanda's heartbeat manager).
 *
 * Quiescence (CockroachDB): a leader whose followers all hold its whole log,
 * with nothing pending, sends a last heartbeat flagged Quiesce and stops
 * ticking; followers that get it stop their election timers. An idle group
 * then costs nothing per tick. Any real traffic for the group wakes it. Since
 * a quiesced follower no longer notices a dead leader by itself, the host
 * sends every peer one (possibly empty) frame per tick as a node-level
 * liveness signal; when a peer goes silent for peerDeadTicks, every group it
 * led here wakes up and runs a normal election.
 */

import { createRaftCore, type RaftTuning } from '../driver/create-core.ts';
import { RaftGroup, type RaftGroupOptions } from '../driver/raft-group.ts';
import type { StateMachine } from '../driver/state-machine.ts';
import type { Ticker } from '../driver/ticker.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import { BeatFlag, type GroupId, type PeerBatch, type Transport } from '../transport/transport.ts';
import { type Message, MessageType, type NodeId } from '../types.ts';
import { GroupExistsError, GroupNotFoundError, TooManyGroupsError } from './errors.ts';
import { Outbox } from './outbox.ts';

export interface MultiRaftHostOptions {
  nodeId: NodeId;
  transport: Transport;
  /** The one timer of this host. */
  ticker: Ticker;
  /** Other nodes of the cluster (liveness frames go to each every tick). */
  peers: NodeId[];
  /** Raft settings for every group created here (per-group overrides at createGroup). */
  tuning?: RaftTuning;
  /** Let idle groups go quiet (default true). */
  quiesce?: boolean;
  /** A peer silent this many ticks is presumed dead: groups it led here wake and elect. */
  peerDeadTicks?: number;
  groupsMax?: number;
  seed?: number;
}

export interface CreateGroupOptions {
  storage: RaftStorage;
  stateMachine: StateMachine;
  tuning?: RaftTuning;
  group?: Omit<RaftGroupOptions, 'groupId' | 'core' | 'storage' | 'stateMachine' | 'send'>;
}

interface Hosted {
  id: GroupId;
  group: RaftGroup;
  quiesced: boolean;
  /**
   * The peer whose silence woke this quiesced follower (0: awake for another reason). Cleared by any
   * traffic for the group; if the peer speaks again first, the group goes back to sleep (see revive).
   */
  wokenBySilenceOf: NodeId;
}

export interface MultiRaftStats {
  ticks: number;
  groupTicks: number;
  framesSent: number;
  framesReceived: number;
  quiescedGroups: number;
  unknownGroupMessages: number;
  misaddressedMessages: number;
  /** Heartbeat sets the host sent for leaders stuck in a slow Ready (beatForBusyLeader). */
  busyLeaderBeats: number;
}

const heartbeatTemplate = {
  logTerm: 0,
  index: 0,
  commit: 0,
  reject: false,
  rejectHint: 0,
  rejectHintTerm: 0,
} as const;

export class MultiRaftHost {
  readonly nodeId: NodeId;
  readonly transport: Transport;
  private readonly ticker: Ticker;
  private readonly tuning: RaftTuning;
  private readonly quiesceEnabled: boolean;
  private readonly peerDeadTicks: number;
  /** Ticks a leader's Ready may be in progress before the host beats for it. */
  private readonly heartbeatTicks: number;
  /**
   * A Ready in progress longer than this (5 election timeouts) is a dead disk, not a slow one: the host
   * stops beating for it, so the followers elect a leader that can write.
   */
  private readonly busyBeatTicksMax: number;
  private readonly groupsMax: number;
  private readonly groups = new Map<GroupId, Hosted>();
  /** The groups that are not quiesced: the only ones a tick visits (an idle host's tick costs ~nothing). */
  private readonly awake = new Set<Hosted>();
  private readonly peers = new Set<NodeId>();
  private readonly lastHeardTick = new Map<NodeId, number>();
  private readonly deadPeers = new Set<NodeId>();
  private readonly outbox = new Outbox();
  private flushScheduled = false;
  private running = false;
  private seed: number;
  readonly stats: MultiRaftStats = {
    ticks: 0,
    groupTicks: 0,
    framesSent: 0,
    framesReceived: 0,
    quiescedGroups: 0,
    unknownGroupMessages: 0,
    misaddressedMessages: 0,
    busyLeaderBeats: 0,
  };

  constructor(o: MultiRaftHostOptions) {
    this.nodeId = o.nodeId;
    this.transport = o.transport;
    this.ticker = o.ticker;
    this.tuning = o.tuning ?? {};
    this.quiesceEnabled = o.quiesce ?? true;
    this.peerDeadTicks = o.peerDeadTicks ?? Math.max(2, Math.floor((o.tuning?.electionTicks ?? 10) / 2));
    this.heartbeatTicks = Math.max(1, o.tuning?.heartbeatTicks ?? 1);
    this.busyBeatTicksMax = 5 * (o.tuning?.electionTicks ?? 10);
    this.groupsMax = o.groupsMax ?? 100_000;
    this.seed = o.seed ?? (Math.random() * 0x1_0000_0000) >>> 0;
    for (const p of o.peers) if (p !== o.nodeId) this.peers.add(p);
    this.transport.onMessage((from, batch) => this.receive(from, batch));
    // Unreachable peers are handled in flush(), which knows the groups that had traffic for them.
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.transport.start();
    this.running = true;
    this.ticker.start(() => this.tick());
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.ticker.stop();
    for (const h of this.groups.values()) {
      h.group.stop();
      h.group.storage.close();
    }
    this.groups.clear();
    this.awake.clear();
    await this.transport.stop();
  }

  addPeer(id: NodeId): void {
    if (id !== this.nodeId) this.peers.add(id);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
    this.lastHeardTick.delete(id);
    this.deadPeers.delete(id);
  }

  createGroup(id: GroupId, o: CreateGroupOptions): RaftGroup {
    if (this.groups.has(id)) throw new GroupExistsError(id);
    if (this.groups.size >= this.groupsMax) throw new TooManyGroupsError(this.groupsMax);
    const core = createRaftCore(this.nodeId, o.storage, { ...this.tuning, ...o.tuning }, this.seed++);
    const hosted: Hosted = { id, group: undefined as unknown as RaftGroup, quiesced: false, wokenBySilenceOf: 0 };
    const userOnRequest = o.group?.onRequest;
    hosted.group = new RaftGroup({
      ...o.group,
      groupId: id,
      core,
      storage: o.storage,
      stateMachine: o.stateMachine,
      send: (msgs) => this.send(id, msgs),
      onRequest: () => {
        this.wake(hosted);
        userOnRequest?.();
      },
    });
    this.groups.set(id, hosted);
    this.awake.add(hosted);
    return hosted.group;
  }

  /** Stops the group and closes its storage (the files stay). */
  removeGroup(id: GroupId): void {
    const h = this.groups.get(id);
    if (!h) throw new GroupNotFoundError(id);
    this.groups.delete(id);
    this.awake.delete(h);
    if (h.quiesced) this.stats.quiescedGroups--;
    h.group.stop();
    h.group.storage.close();
  }

  group(id: GroupId): RaftGroup {
    const h = this.groups.get(id);
    if (!h) throw new GroupNotFoundError(id);
    return h.group;
  }

  hasGroup(id: GroupId): boolean {
    return this.groups.has(id);
  }

  get groupCount(): number {
    return this.groups.size;
  }

  isQuiesced(id: GroupId): boolean {
    return this.groups.get(id)?.quiesced ?? false;
  }

  // ---- time ----

  /**
   * One host tick: every awake group ticks once, every peer gets one frame. Quiesced groups are not
   * visited at all; an awake leader checks whether it may quiesce once per heartbeat interval (the
   * check reads the core's status, which copies its progress: too dear for every group every tick).
   */
  tick(): void {
    if (!this.running) return;
    const now = ++this.stats.ticks;
    this.checkPeers(now);
    // Deleting the current element (quiesce) while iterating a Set is safe; a group woken during the
    // loop is visited in this same tick.
    for (const h of this.awake) {
      if (this.quiesceEnabled && h.group.role === 'leader' && (now + h.id) % this.heartbeatTicks === 0) {
        this.maybeQuiesce(h);
      }
      if (h.quiesced) continue;
      h.group.tick();
      this.stats.groupTicks++;
      const stuck = h.group.readyInProgressTicks;
      if (stuck >= this.heartbeatTicks && stuck < this.busyBeatTicksMax) this.beatForBusyLeader(h);
    }
    for (const p of this.peers) this.outbox.touch(p);
    this.scheduleFlush();
  }

  private checkPeers(now: number): void {
    for (const p of this.peers) {
      const heard = this.lastHeardTick.get(p) ?? 0;
      // Silence, or a link that is down (a killed process resets its sockets at once).
      const dead = now - heard > this.peerDeadTicks || !this.transport.isConnected(p);
      if (dead && !this.deadPeers.has(p)) {
        this.deadPeers.add(p);
        // Followers of the dead node elect; leaders here resume ticking so check-quorum
        // can depose them if this node, not the peer, is the one cut off.
        for (const h of this.groups.values()) {
          if (!h.quiesced) continue;
          if (h.group.role === 'leader') {
            this.wake(h);
          } else if (h.group.leaderId === p) {
            this.wake(h);
            h.wokenBySilenceOf = p;
          }
        }
      } else if (!dead) {
        this.revive(p);
      }
    }
  }

  /**
   * A leader whose Ready waits on a slow log write sends nothing: the core hands out no message, not
   * even its heartbeats, before that Ready is advanced. A write slower than the election timeout (a
   * loaded disk) then makes its followers campaign, and the partition stalls for an election. So,
   * while a Ready is stuck, the host sends the leader's heartbeat itself: term = the leader's current
   * term (only once that term is durable here), commit 0 (a heartbeat's commit only moves a follower's
   * commit forward: 0 never does). This
   * is exactly a heartbeat the core could have sent; it commits nothing and only keeps followers from
   * timing out on a leader that is alive. Their answers reach the core as usual (check-quorum).
   */
  private beatForBusyLeader(h: Hosted): void {
    const st = h.group.core.status();
    // Never in a term not yet durable here: the core holds every message of such a term back too.
    if (st.role !== 'leader' || !st.progress || st.term !== h.group.durableTerm) return;
    this.stats.busyLeaderBeats++;
    for (const id of st.progress.keys()) {
      if (id !== this.nodeId) this.outbox.addQuiesceBeat(id, h.id, st.term, 0, 0);
    }
  }

  private maybeQuiesce(h: Hosted): void {
    const g = h.group;
    if (g.pendingCount > 0 || g.isProcessing) return;
    const st = g.status();
    if (st.role !== 'leader' || st.leadTransferee !== 0) return;
    if (st.commit !== st.lastIndex || g.appliedIndex !== st.commit || !st.progress) return;
    for (const [id, pr] of st.progress) {
      if (id === this.nodeId) continue;
      // A follower that lacks entries, or a peer we cannot hear, keeps the group awake. So does one not
      // heard from since the last check-quorum round or still probing: a quiesced leader keeps its
      // progress as it is, and the ISR (recently active, replicating voters) would stay short all along.
      if (pr.match !== st.lastIndex || this.deadPeers.has(id)) return;
      if (!pr.recentActive || pr.state !== 'replicate') return;
    }
    this.quiesce(h);
    for (const id of st.progress.keys()) {
      if (id !== this.nodeId) this.outbox.addQuiesceBeat(id, h.id, st.term, st.commit, BeatFlag.Quiesce);
    }
  }

  private quiesce(h: Hosted): void {
    if (h.quiesced) return;
    h.quiesced = true;
    this.awake.delete(h);
    this.stats.quiescedGroups++;
  }

  /**
   * A peer presumed dead speaks again. Its silence was a stall (GC, a loaded machine: 5 ticks are
   * 100 ms here), not a death, if the followers it woke still follow it with nothing heard since: they
   * go back to sleep. Left awake, they would tick their election timers against a leader that is
   * quiesced and silent, and campaign: with 3,000 partitions per node, every such stall moved
   * hundreds of leaders and kept the ISR short. A leader that did change (it woke, stepped down or
   * sent anything) reaches these groups as traffic, which clears the mark and wakes them as usual.
   */
  private revive(p: NodeId): void {
    if (!this.deadPeers.delete(p)) return;
    for (const h of this.awake) {
      if (h.wokenBySilenceOf !== p) continue;
      h.wokenBySilenceOf = 0;
      if (h.group.role === 'follower' && h.group.leaderId === p && !h.group.isProcessing) this.quiesce(h);
    }
  }

  private wake(h: Hosted): void {
    h.wokenBySilenceOf = 0;
    if (!h.quiesced) return;
    h.quiesced = false;
    this.awake.add(h);
    this.stats.quiescedGroups--;
  }

  // ---- network ----

  private send(group: GroupId, msgs: Message[]): void {
    for (const m of msgs) this.outbox.add(group, m);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.running) return;
    const { batches, groupsByPeer } = this.outbox.drain();
    for (const [peer, list] of batches) {
      let allSent = true;
      for (const batch of list) {
        const ok = this.transport.send(peer, batch);
        if (ok) this.stats.framesSent++;
        else allSent = false;
        // Reported as soon as it leaves (not when installed): the leader then probes as etcd's does.
        for (const gm of batch.messages) {
          if (gm.msg.type === MessageType.Snapshot) this.groups.get(gm.group)?.group.reportSnapshot(peer, ok);
        }
      }
      if (!allSent) {
        for (const gid of groupsByPeer.get(peer) ?? []) this.groups.get(gid)?.group.reportUnreachable(peer);
      }
    }
  }

  private receive(from: NodeId, batch: PeerBatch): void {
    if (!this.running) return;
    this.stats.framesReceived++;
    this.lastHeardTick.set(from, this.stats.ticks);
    // Back from the dead (or from a stall): see revive().
    this.revive(from);
    for (const gm of batch.messages) {
      const h = this.groups.get(gm.group);
      if (!h) {
        this.stats.unknownGroupMessages++;
        continue;
      }
      const m = gm.msg;
      if (m.from !== from || m.to !== this.nodeId) {
        this.stats.misaddressedMessages++;
        continue;
      }
      this.wake(h);
      h.group.step(m);
    }
    for (const hb of batch.heartbeats) {
      const h = this.groups.get(hb.group);
      if (!h) {
        this.stats.unknownGroupMessages++;
        continue;
      }
      h.wokenBySilenceOf = 0;
      h.group.step({
        ...heartbeatTemplate,
        type: MessageType.Heartbeat,
        from,
        to: this.nodeId,
        term: hb.term,
        commit: hb.commit,
        entries: [],
      });
      if ((hb.flags & BeatFlag.Quiesce) === 0) {
        this.wake(h);
      } else if (!h.quiesced) {
        // Only a follower of exactly this leader and term may go quiet.
        const st = h.group.status();
        if (st.role === 'follower' && st.leaderId === from && st.term === hb.term && st.commit === hb.commit) {
          this.quiesce(h);
        }
      }
    }
    for (const ack of batch.heartbeatAcks) {
      const h = this.groups.get(ack.group);
      if (!h) {
        this.stats.unknownGroupMessages++;
        continue;
      }
      h.group.step({
        ...heartbeatTemplate,
        type: MessageType.HeartbeatResp,
        from,
        to: this.nodeId,
        term: ack.term,
        entries: [],
      });
    }
  }
}
