/**
 * The cluster side of one node: one MultiRaftHost over one TcpTransport (one
 * connection per peer pair carries every group), the controller group, broker
 * registration, and the node's view of the catalogue for the client protocol
 * (the broker's ClusterCatalogue). Admin requests reaching a node that does
 * not lead the controller are FORWARDED to the leader's client port (clients
 * need no NOT_CONTROLLER handling). Partition groups are opened and closed by
 * PartitionSync as the metadata changes.
 *
 * Lifecycle: open() binds the Raft port; start() (once the client listener is
 * bound, so the registration carries the real client port) starts Raft,
 * registration and partition sync; stop() after the broker closed its partitions.
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Broker } from '../../node/broker/broker.ts';
import type { ClusterCatalogue } from '../../node/broker/cluster-catalogue.ts';
import { mapError, topicMetadataProblem } from '../../node/broker/errors.ts';
import { pickOverrides, resolveTopicConfig } from '../../node/broker/topic-config.ts';
import type { NodeConfig } from '../../node/config.ts';
import {
  ApiKey,
  type BrokerInfo,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type ListTopicsResponse,
  type MetadataRequest,
  type MetadataResponse,
  type RegisterBrokerRequest,
  type TopicMetadata,
  type TopicResult,
} from '../../node/protocol/api.ts';
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { checkTopicName } from '../../node/protocol/validate.ts';
import type { Logger } from '../../node/server/logger.ts';
import {
  Controller,
  ControllerOp,
  ControllerReconciler,
  type MetadataImage,
  membershipSourceFrom,
  type ProducerIdBlock,
} from '../controller/index.ts';
import { MemberState, Membership, registerMembershipMetrics } from '../membership/index.ts';
import type { RaftGroup } from '../raft/driver/raft-group.ts';
import { IntervalTicker } from '../raft/driver/ticker.ts';
import { MultiRaftHost } from '../raft/multiraft/multiraft-host.ts';
import { FileLogStorage } from '../raft/storage/file-storage.ts';
import { TcpTransport } from '../raft/transport/tcp-transport.ts';
import { ClusterMetrics, type HostedGroup } from './cluster-metrics.ts';
import { type ClusterTopology, topologyOf } from './cluster-topology.ts';
import { bumpIncarnation } from './incarnation.ts';
import { PartitionSync } from './partition-sync.ts';
import { PeerClient } from './peer-client.ts';

export interface ClusterTiming {
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** How long an admin request keeps looking for the controller leader. */
  forwardTimeoutMs: number;
  /** Pause between attempts to find the controller leader. */
  retryDelayMs: number;
  /** Period of the watcher: leader-change counting and preferred-leader rebalancing. */
  watchIntervalMs: number;
  /** How long a graceful stop waits for the partitions it leads to move away. */
  handoffTimeoutMs: number;
}

export const defaultClusterTiming: ClusterTiming = {
  tickMs: 20,
  electionTicks: 10,
  heartbeatTicks: 2,
  forwardTimeoutMs: 10_000,
  retryDelayMs: 50,
  watchIntervalMs: 1000,
  handoffTimeoutMs: 2000,
};

export interface ClusterNodeOptions {
  config: NodeConfig;
  logger: Logger;
  timing?: Partial<ClusterTiming>;
  /** The node's metrics registry (cluster gauges, leader changes, sync latency); none in some tests. */
  registry?: Registry;
}

export interface ClientEndpoint {
  host: string;
  port: number;
}

/** Bound on attempts to reach the controller leader for one request (the deadline usually ends it first). */
const FORWARD_ATTEMPTS_MAX = 1000;

/** Producer epochs are 15-bit (batch header); past this a producer gets a new id. */
const PRODUCER_EPOCH_MAX = 32767;

export class ClusterNode implements ClusterCatalogue {
  readonly nodeId: number;
  readonly topology: ClusterTopology;
  readonly transport: TcpTransport;
  readonly host: MultiRaftHost;
  readonly controller: Controller;
  readonly timing: ClusterTiming;
  private readonly config: NodeConfig;
  private readonly logger: Logger;
  private readonly peers: PeerClient;
  private partitions: PartitionSync | null = null;
  private endpoint: ClientEndpoint | null = null;
  private incarnation = 0;
  private registered = false;
  private stopping = false;
  private registrationRun: Promise<void> | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly metrics: ClusterMetrics | null;
  private readonly registry: Registry | null;
  /** Gossip membership (when --gossip-port is set) and the controller's reconciler fed by it. */
  membership: Membership | null = null;
  private reconciler: ControllerReconciler | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly lastLeaders = new Map<number, number>();
  /** Transfers this node started, by group, so one slow transfer is not asked for again every pass. */
  private readonly transfers = new Set<number>();
  /** Groups with a configuration change (or the hand-off before leaving) in flight. */
  private readonly confChanges = new Set<number>();

  private constructor(o: ClusterNodeOptions, topology: ClusterTopology, controllerStorage: FileLogStorage) {
    this.config = o.config;
    this.logger = o.logger;
    this.nodeId = o.config.nodeId;
    this.topology = topology;
    this.timing = { ...defaultClusterTiming, ...o.timing };
    this.transport = new TcpTransport({
      localId: this.nodeId,
      listenHost: o.config.host,
      listenPort: o.config.raftPort ?? 0,
      peers: topology.raftAddresses,
      clusterTag: o.config.clusterId,
      onError: (err, peer) => this.logger.debug('raft transport error', { peer, err: err.message }),
    });
    const tuning = { electionTicks: this.timing.electionTicks, heartbeatTicks: this.timing.heartbeatTicks };
    this.host = new MultiRaftHost({
      nodeId: this.nodeId,
      transport: this.transport,
      ticker: new IntervalTicker(this.timing.tickMs),
      peers: topology.nodeIds,
      tuning,
    });
    this.controller = new Controller({ host: this.host, storage: controllerStorage, tuning });
    this.peers = new PeerClient({ nodeId: this.nodeId });
    this.registry = o.registry ?? null;
    this.metrics = o.registry
      ? new ClusterMetrics(o.registry, {
          groups: () => this.groups(),
          controllerLeaderId: () => this.controller.leaderId,
        })
      : null;
    this.metrics?.timeSyncs(controllerStorage, 'controller');
  }

  /** Opens the controller's log and binds the Raft port (Raft itself starts in start()). */
  static async open(o: ClusterNodeOptions): Promise<ClusterNode> {
    if (o.config.raftPort === null) throw new Error('ClusterNode needs --raft-port (cluster mode)');
    const topology = topologyOf(o.config);
    const storage = FileLogStorage.open({
      dir: join(o.config.dataDir, 'raft', 'controller'),
      bootstrapConf: { voters: topology.controllerVoters, learners: topology.controllerLearners },
    });
    const node = new ClusterNode(o, topology, storage);
    node.incarnation = await bumpIncarnation(join(o.config.dataDir, 'cluster'));
    return node;
  }

  /** The bound Raft port (after start()). */
  get raftPort(): number {
    return this.transport.port;
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  async start(broker: Broker, endpoint: ClientEndpoint): Promise<void> {
    this.endpoint = endpoint;
    this.partitions = new PartitionSync({
      config: this.config,
      logger: this.logger,
      host: this.host,
      broker,
      metadata: () => this.controller.metadata,
      peers: this.peers,
      timing: this.timing,
      onStorage: (storage) => this.metrics?.timeSyncs(storage, 'partition'),
      caughtUp: () => this.registered,
    });
    await this.host.start();
    this.unsubscribe.push(
      this.controller.onChange(() => {
        this.partitions?.request();
        this.watch();
      }),
      this.controller.onLeaderChange((isLeader, leaderId) =>
        this.logger.info('controller leader', { leaderId, here: isLeader }),
      ),
    );
    this.controller.start();
    this.partitions.request();
    await this.startMembership(endpoint);
    this.registrationRun = this.registerLoop();
    this.watchTimer = setInterval(() => this.watch(), this.timing.watchIntervalMs);
    this.logger.info('cluster node started', {
      raftPort: this.raftPort,
      voters: this.topology.controllerVoters,
      learners: this.topology.controllerLearners,
      incarnation: this.incarnation,
    });
  }

  /**
   * Gossip: heartbeats with this node's client and Raft addresses; the reconciler (acting on the
   * controller leader only) moves the replicas of brokers dead longer than deadBrokerReassignAfterMs.
   */
  private async startMembership(endpoint: ClientEndpoint): Promise<void> {
    const c = this.config;
    if (c.gossipPort === null) return;
    const m = new Membership({
      nodeId: this.nodeId,
      clusterId: c.clusterId,
      dataDir: c.dataDir,
      addresses: { client: `${endpoint.host}:${endpoint.port}`, raft: `${endpoint.host}:${this.raftPort}` },
      host: c.host,
      port: c.gossipPort,
      seeds: c.seeds,
      rack: c.rack,
      suspectAfterMs: c.suspectAfterMs,
      deadAfterMs: c.deadAfterMs,
      load: () => ({ partitionsLed: this.partitionsLed(), cpu: 0 }),
    });
    await m.start();
    this.membership = m;
    if (this.registry) registerMembershipMetrics(this.registry, m);
    this.reconciler = new ControllerReconciler({
      controller: this.controller,
      membership: membershipSourceFrom(m),
      deadBrokerReassignAfterMs: c.deadBrokerReassignAfterMs,
      // The membership view's clock (stateSinceMs is on it).
      nowMs: () => performance.timeOrigin + performance.now(),
    });
    this.reconciler.start();
    this.logger.info('gossip membership started', { gossipPort: c.gossipPort, seeds: c.seeds });
  }

  private partitionsLed(): number {
    return (this.partitions?.replicas() ?? []).filter((p) => p.isLeader).length;
  }

  /** Stops background work; call before the broker closes its partitions. */
  async quiesce(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    this.stopping = true;
    await this.reconciler?.stop();
    this.reconciler = null;
    for (const u of this.unsubscribe.splice(0)) u();
    await this.registrationRun;
    await this.partitions?.stop();
  }

  /** Leaves the controller group and closes the Raft transport (after the broker closed). */
  async stop(): Promise<void> {
    await this.quiesce();
    this.controller.stop();
    await this.host.stop();
    this.peers.close();
    await this.membership?.stop();
    this.membership = null;
  }

  /** Every Raft group on this node, for metrics and the watcher. */
  groups(): HostedGroup[] {
    const out: HostedGroup[] = [];
    if (!this.stopping || this.host.hasGroup(this.controller.groupId)) {
      try {
        out.push({ groupId: this.controller.groupId, kind: 'controller', group: this.controller.group });
      } catch {
        // stopped: no controller group
      }
    }
    for (const p of this.partitions?.replicas() ?? []) {
      out.push({ groupId: p.group.groupId, kind: 'partition', group: p.group, replicas: p.replicas, isr: p.isr });
    }
    return out;
  }

  /**
   * Graceful stop, first step: hands leadership of every group led here to a caught-up voter,
   * so clients fail over at once instead of after an election timeout. Bounded by handoffTimeoutMs.
   */
  async handOffLeadership(): Promise<void> {
    const signal = AbortSignal.timeout(this.timing.handoffTimeoutMs);
    const moves: Promise<void>[] = [];
    for (const g of this.groups()) {
      if (g.group.role !== 'leader') continue;
      const target = caughtUpVoter(g.group, this.nodeId, (id) => this.isLive(id));
      if (target > 0) moves.push(g.group.transferLeadership(target, { signal }).catch(() => undefined));
    }
    await Promise.all(moves);
    if (moves.length > 0) this.logger.info('leadership handed off', { groups: moves.length });
  }

  /**
   * Once a second: counts leader changes, and moves leadership of partitions led here to
   * their preferred replica (replicas[0]) when it is connected and caught up, so leaders
   * spread over the nodes again after a node returns.
   */
  private watch(): void {
    if (this.stopping) return;
    try {
      this.watchOnce();
    } catch (err) {
      this.logger.error('cluster watcher pass failed', { err });
    }
  }

  private watchOnce(): void {
    const image = this.controller.metadata;
    const assigned = new Map<number, readonly number[]>();
    for (const t of image.topics.values()) for (const p of t.partitions) assigned.set(p.groupId, p.replicas);
    for (const g of this.groups()) {
      const leader = g.group.leaderId;
      const before = this.lastLeaders.get(g.groupId);
      if (before !== undefined && before !== leader && leader !== 0) this.metrics?.leaderChanges.inc({ kind: g.kind });
      this.lastLeaders.set(g.groupId, leader);
      if (g.kind !== 'partition' || g.group.role !== 'leader' || this.transfers.has(g.groupId)) continue;
      const target = assigned.get(g.groupId);
      if (!target) continue;
      if (this.converge(g.group, target)) continue; // membership in flux: no leadership moves meanwhile
      const want = target[0] ?? 0;
      if (want <= 0 || want === this.nodeId || !this.isLive(want)) continue;
      if (caughtUpVoter(g.group, this.nodeId, (id) => id === want) !== want) continue;
      this.transfers.add(g.groupId);
      g.group
        .transferLeadership(want, { signal: AbortSignal.timeout(this.timing.handoffTimeoutMs) })
        .catch(() => undefined)
        .finally(() => this.transfers.delete(g.groupId));
    }
  }

  /**
   * On a partition leader: one step of moving the group's configuration to the assigned
   * replicas (Raft single-server changes): add a missing replica as a learner; promote a
   * caught-up assigned learner; remove a voter no longer assigned (this node: hand leadership to
   * a caught-up assigned voter first). One change in flight per group. Returns false when the
   * configuration already matches the assignment.
   */
  private converge(group: RaftGroup, target: readonly number[]): boolean {
    const st = group.status();
    const want = new Set(target);
    const conf = st.conf;
    const members = new Set([...conf.voters, ...conf.learners]);
    const stray = [...members].filter((id) => !want.has(id));
    const missing = target.filter((id) => !members.has(id));
    const learners = conf.learners.filter((id) => want.has(id));
    if (stray.length === 0 && missing.length === 0 && learners.length === 0) return false;
    if (this.confChanges.has(group.groupId)) return true;
    const caughtUp = (id: number): boolean => {
      const pr = st.progress?.get(id);
      return pr !== undefined && pr.match === st.lastIndex && pr.state === 'replicate';
    };
    let step: Promise<unknown> | null = null;
    let what = '';
    const add = missing[0];
    const promote = learners.find(caughtUp);
    const remove = stray.find((id) => id !== this.nodeId);
    if (add !== undefined) {
      step = group.addLearner(add);
      what = `add learner ${add}`;
    } else if (promote !== undefined) {
      step = group.addVoter(promote);
      what = `promote ${promote}`;
    } else if (remove !== undefined && learners.length === 0) {
      step = group.removeVoter(remove);
      what = `remove ${remove}`;
    } else if (stray.includes(this.nodeId) && learners.length === 0) {
      const to = caughtUpVoter(group, this.nodeId, (id) => want.has(id) && this.isLive(id));
      if (to > 0) {
        step = group.transferLeadership(to);
        what = `hand leadership to ${to} before leaving`;
      }
    }
    if (step) {
      this.confChanges.add(group.groupId);
      this.logger.info('partition membership step', { group: group.groupId, step: what });
      step
        .catch((err: unknown) =>
          this.logger.warn('partition membership step failed', { group: group.groupId, step: what, err }),
        )
        .finally(() => this.confChanges.delete(group.groupId));
    }
    return true;
  }

  // ---------------------------------------------------------------- registration

  private registrationCommand(): RegisterBrokerRequest {
    const ep = this.endpoint!;
    return {
      nodeId: this.nodeId,
      host: ep.host,
      port: ep.port,
      raftHost: ep.host,
      raftPort: this.raftPort,
      rack: this.config.rack,
      incarnation: this.incarnation,
    };
  }

  /** RegisterBroker through the controller leader until this incarnation is in the image. */
  private async registerLoop(): Promise<void> {
    while (!this.stopping) {
      const mine = this.controller.metadata.brokers.get(this.nodeId);
      if (mine && mine.incarnation >= this.incarnation) {
        this.registered = true;
        this.logger.info('broker registered', { incarnation: this.incarnation });
        this.partitions?.request(); // the sweep of leftover directories waits for this
        return;
      }
      try {
        await this.onLeader(
          () => this.registerBroker(this.registrationCommand()),
          (leader, addr) => this.peers.request(leader, addr, ApiKey.RegisterBroker, this.registrationCommand()),
          { timeoutMs: 2000 },
        );
      } catch (err) {
        this.logger.debug('registration attempt failed', { err: (err as Error).message });
      }
      await sleep(this.timing.retryDelayMs * 4);
    }
  }

  /** The RegisterBroker api (node to node): proposes it when this node leads the controller. */
  async registerBroker(req: RegisterBrokerRequest): Promise<Record<string, never>> {
    await this.controller.propose({ op: ControllerOp.RegisterBroker, ...req });
    return {};
  }

  // ---------------------------------------------------------------- forwarding

  /**
   * Runs `local` when this node leads the controller, else `forward` to the
   * leader's client port; retries while the leader is unknown or moves
   * (NOT_CONTROLLER, connection errors), up to the forward timeout.
   */
  private async onLeader<T>(
    local: () => Promise<T>,
    forward: (leader: number, addr: ClientEndpoint) => Promise<{ body: T }>,
    o: { timeoutMs?: number } = {},
  ): Promise<T> {
    const deadline = Date.now() + (o.timeoutMs ?? this.timing.forwardTimeoutMs);
    let last: unknown = new RaftbusError(ErrorCode.NOT_CONTROLLER, { leader: -1 });
    for (let attempt = 0; attempt < FORWARD_ATTEMPTS_MAX && Date.now() < deadline && !this.stopping; attempt++) {
      try {
        if (this.controller.isLeader) return await local();
        const leader = this.controller.leaderId;
        const rec = leader > 0 ? this.controller.metadata.brokers.get(leader) : undefined;
        if (rec) return (await forward(leader, { host: rec.host, port: rec.port })).body;
      } catch (err) {
        if (!isRetriableForward(err)) throw err;
        last = err;
      }
      await sleep(this.timing.retryDelayMs);
    }
    if (this.stopping) throw new RaftbusError(ErrorCode.SHUTTING_DOWN);
    throw last;
  }

  // ---------------------------------------------------------------- catalogue (client protocol)

  metadata(req: MetadataRequest): MetadataResponse {
    const image = this.controller.metadata;
    const names = req.topics ?? [...image.topics.keys()].sort();
    const topics = names.map((name): TopicMetadata => {
      const t = image.topics.get(name);
      const problem = topicMetadataProblem(name, t !== undefined);
      if (problem !== null || !t) return problem!;
      return {
        name,
        error: null,
        partitions: t.partitions.map((p) => {
          const local = this.partitions?.local(name, t.topicId, p.partition);
          return {
            partition: p.partition,
            leader: local ? local.leaderId : remoteLeader(p.leaderHint, p.replicas),
            replicas: [...p.replicas],
            isr: local ? [...local.isr] : [...p.replicas],
            error: null,
          };
        }),
      };
    });
    const brokers: BrokerInfo[] = [...image.brokers.values()].map((b) => ({
      nodeId: b.nodeId,
      host: b.host,
      port: b.port,
      rack: b.rack === '' ? null : b.rack,
    }));
    const controllerId = this.controller.leaderId > 0 ? this.controller.leaderId : -1;
    return { clusterId: this.config.clusterId, controllerId, brokers, topics };
  }

  listTopics(): ListTopicsResponse {
    const image = this.controller.metadata;
    return {
      topics: [...image.topics.values()]
        .map((t) => ({ name: t.name, partitions: t.partitions.length }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
  }

  createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    return this.onLeader(
      () => this.createTopicsHere(req),
      (leader, addr) => this.peers.request(leader, addr, ApiKey.CreateTopics, req),
    );
  }

  deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
    return this.onLeader(
      () => this.deleteTopicsHere(req),
      (leader, addr) => this.peers.request(leader, addr, ApiKey.DeleteTopics, req),
    );
  }

  async initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResponse> {
    const id = req.producerId ?? -1;
    const epoch = req.producerEpoch ?? -1;
    // A bump keeps the id: partitions fence the lower epoch. Only a new id needs the controller.
    if (id >= 0 && epoch >= 0 && epoch < PRODUCER_EPOCH_MAX) return { producerId: id, producerEpoch: epoch + 1 };
    return this.onLeader(
      async () => {
        const r = await this.controller.propose<ProducerIdBlock>({ op: ControllerOp.AllocateProducerIds, count: 1 });
        return { producerId: r.value.firstId, producerEpoch: 0 };
      },
      (leader, addr) => this.peers.request(leader, addr, ApiKey.InitProducerId, {}),
    );
  }

  private async createTopicsHere(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const results: TopicResult[] = [];
    for (const spec of req.topics) {
      try {
        const name = checkTopicName(spec.name);
        if (spec.partitions < 1 || spec.partitions > this.config.partitionsPerTopicMax) {
          throw new RaftbusError(ErrorCode.INVALID_PARTITIONS, { partitions: spec.partitions });
        }
        const overrides = pickOverrides(spec.config);
        resolveTopicConfig(overrides, this.config); // throws INVALID_CONFIG
        const image: MetadataImage = await this.controller.read();
        const live = [...image.brokers.keys()].filter((id) => this.isLive(id));
        const replicationFactor = spec.replicationFactor ?? Math.min(3, Math.max(1, live.length));
        if (image.topics.has(name)) throw new RaftbusError(ErrorCode.TOPIC_ALREADY_EXISTS, { topic: name });
        if (!req.validateOnly) {
          await this.controller.createTopic(
            { name, partitions: spec.partitions, replicationFactor, config: overrides },
            { eligible: (id) => this.isLive(id) },
          );
        }
        results.push({ name, error: null });
      } catch (err) {
        if (isNotController(err)) throw err; // the whole request moves to the new leader
        results.push({ name: spec.name, error: this.wire(err, spec.name, 'create topic') });
      }
    }
    return { topics: results };
  }

  private async deleteTopicsHere(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
    const results: TopicResult[] = [];
    for (const name of req.topics) {
      try {
        await this.controller.propose({ op: ControllerOp.DeleteTopic, name });
        results.push({ name, error: null });
      } catch (err) {
        if (isNotController(err)) throw err;
        results.push({ name, error: this.wire(err, name, 'delete topic') });
      }
    }
    return { topics: results };
  }

  /**
   * Whether a broker may take new replicas: this node, or one whose Raft link is up (a killed
   * node's connection drops at once). Gossip membership will refine this (suspect/dead states).
   */
  private isLive(nodeId: number): boolean {
    if (nodeId === this.nodeId) return true;
    if (this.membership) return this.membership.member(nodeId)?.state === MemberState.Alive;
    return this.transport.isConnected(nodeId);
  }

  private wire(err: unknown, topic: string, what: string) {
    const { error, unexpected } = mapError(err, { topic, partition: -1 }, this.stopping);
    if (unexpected) this.logger.error(`${what} failed`, { topic, err });
    return error.toWire();
  }
}

/** A voter other than `self` whose log matches the leader's last index and passes `ok`; 0 if none. */
function caughtUpVoter(group: RaftGroup, self: number, ok: (id: number) => boolean): number {
  const st = group.status();
  if (st.role !== 'leader' || !st.progress) return 0;
  for (const id of st.conf.voters) {
    if (id === self || !ok(id)) continue;
    const pr = st.progress.get(id);
    if (pr && pr.match === st.lastIndex && pr.state === 'replicate') return id;
  }
  return 0;
}

/** Where a node without a replica sends clients: the last leader hint, else the preferred replica (which knows). */
function remoteLeader(hint: number, replicas: readonly number[]): number {
  if (hint > 0) return hint;
  return replicas[0] ?? -1;
}

function isNotController(err: unknown): boolean {
  return err instanceof RaftbusError && err.code === ErrorCode.NOT_CONTROLLER.code;
}

/** Worth asking again (maybe elsewhere): the leader moved, or the link to it failed. */
function isRetriableForward(err: unknown): boolean {
  if (isNotController(err)) return true;
  if (err instanceof RaftbusError) return err.code === ErrorCode.SHUTTING_DOWN.code;
  const name = (err as Error | undefined)?.name ?? '';
  return name === 'ConnectionClosedError' || name === 'TimeoutError' || name === 'LeadershipLostError';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
