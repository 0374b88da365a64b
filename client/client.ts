/**
 * RaftbusClient: the shared core of producers, consumers and admin. It keeps
 * one reconnecting link per broker, a metadata cache (topic -> partitions ->
 * leader node), and routes each partition's requests to its leader. On a single
 * node every partition leads on the one node; in a cluster a NOT_LEADER answer
 * moves the partition to the hinted leader at once (`applyLeaderHint`) and the
 * caller retries there while the metadata refreshes; a broken connection marks
 * its node suspect (`suspectNode`) so metadata comes from another broker.
 */
import {
  ApiKey,
  type BrokerInfo,
  type HandshakeRequest,
  type MetadataRequest,
  type MetadataResponse,
} from '../node/protocol/api.ts';
import { ErrorCode, RaftbusError } from '../node/protocol/errors.ts';
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { BrokerConnection, reconnectDefaults } from './broker-connection.ts';
import { connectionDefaults, type RequestOptions, type Response } from './connection.ts';
import { abortReason, ClientClosedError, ClientConfigError, isRetriable, LeaderNotAvailableError } from './errors.ts';

export interface ClientOptions {
  /** Bootstrap addresses, `host:port`. Any one of them is enough to learn the cluster. */
  brokers: string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Pipelining depth per connection. */
  inFlightMax?: number;
  /** Cached metadata older than this is refreshed on next use. */
  metadataMaxAgeMs?: number;
  /** Reconnect backoff per broker link. */
  reconnect?: BackoffOptions;
  /** Backoff between retries of retriable request errors (metadata, admin, fetch). */
  retry?: BackoffOptions;
  auth?: HandshakeRequest['auth'];
}

export interface PartitionInfo {
  partition: number;
  /** Leader node id; -1 when unknown. */
  leader: number;
  replicas: number[];
}

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
}

export interface CallOptions {
  signal?: AbortSignal;
}

interface CachedTopic {
  info: TopicInfo;
  fetchedAtMs: number;
}

export const clientDefaults = {
  clientId: 'raftbus-client',
  metadataMaxAgeMs: 60_000,
  retry: { delayMsMin: 50, delayMsMax: 1_000, attemptsMax: 8 } satisfies BackoffOptions,
} as const;

/** Broker links a client keeps open at most (one per node it talks to). */
const brokerLinksMax = 1_024;

/** Parses `host:port` (IPv6 in brackets: `[::1]:9092`). */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port > 0 && port < 65536)) throw new ClientConfigError(`broker address "${address}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

export class RaftbusClient {
  readonly options: Readonly<ClientOptions>;
  readonly clientId: string;
  private readonly bootstrap: BrokerConnection[];
  private readonly links = new Map<number, BrokerConnection>();
  private readonly topics = new Map<string, CachedTopic>();
  private brokers = new Map<number, BrokerInfo>();
  private refreshing = new Map<string, Promise<void>>();
  /** Node id -> until when (ms) it is asked for metadata only as a last resort. */
  private readonly suspects = new Map<number, number>();
  private closed = false;
  private readonly closeController = new AbortController();

  constructor(options: ClientOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      throw new ClientConfigError('brokers must list at least one host:port');
    }
    this.options = options;
    this.clientId = options.clientId ?? clientDefaults.clientId;
    this.bootstrap = options.brokers.map((a) => this.newLink(parseAddress(a)));
  }

  /** Fires when the client closes; long waits inside the client listen to it. */
  get closeSignal(): AbortSignal {
    return this.closeController.signal;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Connects to one bootstrap broker (trying each in turn) and loads the metadata. */
  async connect(options: CallOptions = {}): Promise<void> {
    await this.anyLink(options);
    await this.refreshMetadata(null, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort(new ClientClosedError('the client was closed'));
    for (const l of this.bootstrap) l.close();
    for (const l of this.links.values()) l.close();
  }

  /** Topic metadata from the cache, refreshed when missing, stale, or `refresh` is set. */
  async topic(name: string, options: CallOptions & { refresh?: boolean } = {}): Promise<TopicInfo> {
    const cached = this.topics.get(name);
    const maxAgeMs = this.options.metadataMaxAgeMs ?? clientDefaults.metadataMaxAgeMs;
    if (cached && !options.refresh && Date.now() - cached.fetchedAtMs < maxAgeMs) return cached.info;
    await this.refreshMetadata([name], options);
    const fresh = this.topics.get(name);
    if (!fresh) throw new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: name, partition: -1 });
    return fresh.info;
  }

  /** Cached partition count of a topic, without I/O; undefined when unknown. */
  cachedPartitionCount(name: string): number | undefined {
    return this.topics.get(name)?.info.partitions.length;
  }

  /** Cached leader node of a partition, without I/O; undefined when not cached (or stale). */
  cachedLeader(topic: string, partition: number): number | undefined {
    const cached = this.topics.get(topic);
    if (!cached) return undefined;
    const maxAgeMs = this.options.metadataMaxAgeMs ?? clientDefaults.metadataMaxAgeMs;
    if (Date.now() - cached.fetchedAtMs >= maxAgeMs) return undefined;
    const leader = cached.info.partitions[partition]?.leader;
    return leader === undefined || leader < 0 ? undefined : leader;
  }

  /** The smallest batch limit announced by a connected node's handshake, if any. */
  serverBatchBytesMax(): number | undefined {
    let limit: number | undefined;
    for (const l of [...this.bootstrap, ...this.links.values()]) {
      const v = l.live?.server?.batchBytesMax;
      if (typeof v === 'number' && v > 0) limit = limit === undefined ? v : Math.min(limit, v);
    }
    return limit;
  }

  /** Drops a topic from the cache (after NOT_LEADER or UNKNOWN_TOPIC): the next use refreshes it. */
  invalidateTopic(name: string): void {
    this.topics.delete(name);
  }

  /**
   * A NOT_LEADER answer named the leader (`details.leader`): route the
   * partition there at once, before any metadata refresh. Returns true when
   * the cached leader changed. Ignored when the hint is no node we can reach
   * (no known address) or the topic is not cached.
   */
  applyLeaderHint(topic: string, partition: number, hint: unknown): boolean {
    const leader = typeof hint === 'number' ? hint : typeof hint === 'string' ? Number(hint) : Number.NaN;
    if (!(Number.isInteger(leader) && leader >= 0)) return false;
    const cached = this.topics.get(topic);
    const p = cached?.info.partitions[partition];
    if (!cached || !p || p.leader === leader) return false;
    if (!this.brokers.has(leader) && !this.links.has(leader)) return false;
    // Copy on write: TopicInfo objects handed out earlier stay as they were.
    const partitions = cached.info.partitions.map((q) => (q.partition === partition ? { ...q, leader } : q));
    this.topics.set(topic, { info: { name: topic, partitions }, fetchedAtMs: cached.fetchedAtMs });
    return true;
  }

  /**
   * The connection to a node broke: until `suspectMs` has passed, metadata is
   * asked from any other broker first (the broken node is likely the old leader,
   * whose view is the stalest).
   */
  suspectNode(nodeId: number, suspectMs = 5_000): void {
    this.suspects.set(nodeId, Date.now() + suspectMs);
  }

  private isSuspect(link: BrokerConnection): boolean {
    const id = link.live?.server?.nodeId ?? this.nodeIdOf(link);
    if (id === undefined) return false;
    const until = this.suspects.get(id);
    if (until === undefined) return false;
    if (until <= Date.now()) {
      this.suspects.delete(id);
      return false;
    }
    return true;
  }

  private nodeIdOf(link: BrokerConnection): number | undefined {
    for (const [id, l] of this.links) if (l === link) return id;
    return undefined;
  }

  /** Fetches metadata for the given topics (null = all) and updates the cache. Concurrent calls share one request. */
  refreshMetadata(topics: string[] | null, options: CallOptions = {}): Promise<void> {
    const key = topics === null ? '*' : [...topics].sort().join('\u0000');
    let p = this.refreshing.get(key);
    if (!p) {
      // The shared load is bounded by the retry budget and the client's life, not by one caller's
      // signal: a caller that gives up must not fail the others waiting on the same load.
      p = this.loadMetadata(topics, {}).finally(() => this.refreshing.delete(key));
      p.catch(() => {}); // observed by the callers below
      this.refreshing.set(key, p);
    }
    const signal = options.signal;
    if (!signal) return p;
    if (signal.aborted) return Promise.reject(abortReason(signal, 'metadata'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortReason(signal, 'metadata'));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  private async loadMetadata(topics: string[] | null, options: CallOptions): Promise<void> {
    const body: MetadataRequest = { topics };
    const res = await this.callAny<MetadataResponse>(ApiKey.Metadata, body, [], options);
    const now = Date.now();
    for (const b of res.body.brokers ?? []) {
      const link = this.links.get(b.nodeId);
      // The node restarted on another address: the old link would only ever be refused. Dropped, not
      // closed: requests still on it fail (retriable) by themselves and the next one uses the new address.
      // A bootstrap link keeps its own address; it stops standing for the node unless it is live as it.
      const moved = link !== undefined && link.address !== `${b.host}:${b.port}`;
      if (moved && (!this.bootstrap.includes(link) || link.live?.server?.nodeId !== b.nodeId)) {
        this.links.delete(b.nodeId);
      }
      this.brokers.set(b.nodeId, b);
    }
    for (const t of res.body.topics ?? []) {
      if (t.error) {
        if (t.error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code) this.topics.delete(t.name);
        continue;
      }
      const partitions = [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas }));
      this.topics.set(t.name, { info: { name: t.name, partitions }, fetchedAtMs: now });
    }
  }

  /** The link to the leader of a partition (from cached metadata; refreshed if needed). */
  async leaderLink(topic: string, partition: number, options: CallOptions = {}): Promise<BrokerConnection> {
    const info = await this.topic(topic, options);
    const p = info.partitions[partition];
    if (!p) throw new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic, partition });
    if (p.leader < 0) {
      // The cached answer says "no leader" (an election, or a topic just created): the retry must ask again.
      this.invalidateTopic(topic);
      throw new LeaderNotAvailableError(topic, partition);
    }
    return this.linkFor(p.leader, options);
  }

  /** The link to a node id, reusing a bootstrap link that turned out to be that node. */
  async linkFor(nodeId: number, options: CallOptions = {}): Promise<BrokerConnection> {
    if (this.closed) throw new ClientClosedError('the client is closed');
    const known = this.links.get(nodeId);
    if (known) return known;
    for (const l of this.bootstrap) {
      if (l.live?.server?.nodeId === nodeId) {
        this.links.set(nodeId, l);
        return l;
      }
    }
    const broker = this.brokers.get(nodeId);
    if (!broker) {
      // A node we have no address for: maybe the bootstrap link is it (single node).
      const any = await this.anyLink(options);
      if (any.live?.server?.nodeId === nodeId) return any;
      throw new LeaderNotAvailableError('(node)', nodeId);
    }
    const link = this.newLink({ host: broker.host, port: broker.port });
    this.links.set(nodeId, link);
    return link;
  }

  /**
   * A live link to any broker for cluster-wide requests (metadata, admin):
   * a connected bootstrap or known-broker link that is not suspect, else the
   * first that connects, trying suspect nodes last.
   */
  async anyLink(options: CallOptions = {}): Promise<BrokerConnection> {
    if (this.closed) throw new ClientClosedError('the client is closed');
    const candidates = [...this.bootstrap];
    for (const [id, l] of this.links) if (!candidates.includes(l) && this.brokers.has(id)) candidates.push(l);
    for (const [id, b] of this.brokers) {
      if (this.links.has(id) || this.bootstrap.some((l) => l.live?.server?.nodeId === id)) continue;
      if (this.links.size >= brokerLinksMax) break;
      const link = this.newLink({ host: b.host, port: b.port });
      this.links.set(id, link);
      candidates.push(link);
    }
    const healthy = candidates.filter((l) => !this.isSuspect(l));
    const suspect = candidates.filter((l) => this.isSuspect(l));
    for (const l of healthy) if (l.live) return l;
    let last: unknown = null;
    for (const l of [...healthy, ...suspect]) {
      try {
        await l.get(options);
        return l;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        last = err;
      }
    }
    throw last;
  }

  /** A request to any broker, retried with backoff while the error is retriable. */
  callAny<B>(
    apiKey: number,
    body: unknown,
    raw: readonly Uint8Array[] = [],
    options: RequestOptions = {},
  ): Promise<Response<B>> {
    return this.withRetry(async () => (await this.anyLink(options)).request<B>(apiKey, body, raw, options), options);
  }

  /** Runs `attempt` until it succeeds, a non-retriable error, the retry budget, or the signal. */
  async withRetry<T>(attempt: () => Promise<T>, options: CallOptions = {}): Promise<T> {
    const backoff = new Backoff(this.options.retry ?? clientDefaults.retry);
    const signal = options.signal ? AbortSignal.any([options.signal, this.closeSignal]) : this.closeSignal;
    for (;;) {
      if (signal.aborted) throw abortReason(signal, 'request');
      try {
        return await attempt();
      } catch (err) {
        if (!isRetriable(err) || signal.aborted) throw err;
        const delayMs = backoff.next();
        if (delayMs < 0) throw err;
        await sleep(delayMs, signal).catch(() => {
          throw abortReason(signal, 'request');
        });
      }
    }
  }

  private newLink(address: { host: string; port: number }): BrokerConnection {
    const o = this.options;
    return new BrokerConnection(
      {
        host: address.host,
        port: address.port,
        clientId: this.clientId,
        connectTimeoutMs: o.connectTimeoutMs ?? connectionDefaults.connectTimeoutMs,
        requestTimeoutMs: o.requestTimeoutMs ?? connectionDefaults.requestTimeoutMs,
        inFlightMax: o.inFlightMax ?? connectionDefaults.inFlightMax,
        ...(o.auth ? { auth: o.auth } : {}),
      },
      o.reconnect ?? reconnectDefaults,
    );
  }
}
