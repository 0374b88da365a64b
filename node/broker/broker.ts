/**
 * The broker: the topic catalogue, the partitions of this node, and the
 * request handlers behind the client protocol. It never decodes records: a
 * produce checks each batch's header and CRC and appends the bytes; a fetch
 * hands back whole stored batches.
 *
 * Catalogue changes (create/delete) run one at a time and reach the durable
 * catalogue before they are visible, so nothing is acknowledged into a topic a
 * crash could forget.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FRAME_BODY_RESERVE_BYTES, type NodeConfig } from '../config.ts';
import type { NodeMetrics } from '../metrics.ts';
import {
  Acks,
  type BrokerInfo,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DescribeTopicsRequest,
  type DescribeTopicsResponse,
  type FetchPartitionResult,
  type FetchRequest,
  type FetchResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type ListOffsetsResult,
  type ListTopicsResponse,
  type MetadataRequest,
  type MetadataResponse,
  OffsetSpec,
  type ProducePartitionData,
  type ProducePartitionResult,
  type ProduceRequest,
  type ProduceResponse,
  type RegisterBrokerRequest,
  type TopicConfig,
  type TopicMetadata,
  type TopicResult,
} from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import { FRAME_HEADER_BYTES } from '../protocol/frame.ts';
import { checkTopicName } from '../protocol/validate.ts';
import type { Logger } from '../server/logger.ts';
import { readBatchHeader } from '../storage/batch.ts';
import type { LogConfig, PartitionLog } from '../storage/log.ts';
import { Wakeup } from './append-signal.ts';
import type { ClusterCatalogue } from './cluster-catalogue.ts';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import { mapError, type PartitionRef, topicMetadataProblem, unknownPartition } from './errors.ts';
import { type Acks as AppendAcks, LocalPartition, type Partition, requireLeader } from './partition.ts';
import { pickOverrides, resolveTopicConfig, toLogConfig } from './topic-config.ts';
import { type StoredTopic, TopicStore } from './topic-store.ts';

export type LogOpener = (dir: string, config: LogConfig) => Promise<PartitionLog>;

export interface BrokerOptions {
  config: NodeConfig;
  openLog: LogOpener;
  logger: Logger;
  /** This node as clients should reach it (known once the listener is bound). */
  self: () => BrokerInfo;
  metrics?: NodeMetrics | null;
  /**
   * Wraps an opened log as a Partition. Default: LocalPartition, led by this node. The cluster
   * plugs in a replicated partition here (append through Raft, NOT_LEADER on followers).
   */
  makePartition?: (topic: string, partition: number, log: PartitionLog) => Partition;
  /**
   * Cluster mode: the catalogue is the controller's. The local topic store is not used; the
   * cluster runtime installs and removes topics (installTopic / removeTopic) as metadata changes.
   */
  cluster?: ClusterCatalogue | null;
}

interface TopicState {
  stored: StoredTopic;
  config: TopicConfig;
  partitions: Partition[];
}

export interface FetchResult {
  body: FetchResponse;
  /** Whole batches per partition, in body order; `body.partitions[i].bytes` says how many bytes each has. */
  raw: Uint8Array[];
}

interface ReadOnceResult {
  results: FetchPartitionResult[];
  raw: Uint8Array[];
  bytes: number;
  anyError: boolean;
}

/** Records in whole batches laid back to back, from their headers (no record is decoded). */
function recordsIn(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; ) {
      const h = readBatchHeader(chunk, at);
      n += h.recordCount;
      at += h.batchBytes;
    }
  }
  return n;
}

/** Bound on long-poll rounds in one fetch; each round needs an append, so this is only a backstop. */
const FETCH_ROUNDS_MAX = 100_000;
/** msgpack bytes a fetch result entry takes besides its topic name, rounded up. */
const FETCH_RESULT_OVERHEAD_BYTES = 96;

export class Broker {
  readonly config: NodeConfig;
  readonly dataDir: string;
  private readonly openLog: LogOpener;
  private readonly logger: Logger;
  private readonly self: () => BrokerInfo;
  private readonly store: TopicStore;
  private readonly topics = new Map<string, TopicState>();
  /** Serializes catalogue changes. */
  private catalogueLock: Promise<void> = Promise.resolve();
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionRun: Promise<void> | null = null;
  private shuttingDown = false;
  private closed: Promise<void> | null = null;
  private lock: DataDirLock | null = null;
  private readonly metrics: NodeMetrics | null;
  private readonly makePartition: (topic: string, partition: number, log: PartitionLog) => Partition;
  private readonly cluster: ClusterCatalogue | null;

  private constructor(opts: BrokerOptions) {
    this.config = opts.config;
    this.dataDir = opts.config.dataDir;
    this.openLog = opts.openLog;
    this.logger = opts.logger;
    this.self = opts.self;
    this.metrics = opts.metrics ?? null;
    this.makePartition =
      opts.makePartition ?? ((topic, partition, log) => new LocalPartition(topic, partition, this.config.nodeId, log));
    this.store = new TopicStore(this.dataDir);
    this.cluster = opts.cluster ?? null;
  }

  /** True when the catalogue is the cluster's (cluster mode). */
  get isClusterMember(): boolean {
    return this.cluster !== null;
  }

  /** Loads the catalogue and opens every partition log under `<data>/topics`. */
  static async open(opts: BrokerOptions): Promise<Broker> {
    const b = new Broker(opts);
    await mkdir(b.dataDir, { recursive: true });
    b.lock = await lockDataDir(b.dataDir);
    try {
      await b.load();
    } catch (err) {
      await b.lock.release();
      throw err;
    }
    return b;
  }

  private topicDir(name: string): string {
    return join(this.dataDir, 'topics', name);
  }

  private get trashDir(): string {
    return join(this.dataDir, 'trash');
  }

  private async load(): Promise<void> {
    if (this.cluster) {
      // The cluster runtime owns partition directories (one per Raft group) and installs topics.
      this.logger.info('broker in cluster mode', { dataDir: this.dataDir });
      return;
    }
    await mkdir(join(this.dataDir, 'topics'), { recursive: true });
    await mkdir(this.trashDir, { recursive: true });
    await rm(this.trashDir, { recursive: true, force: true });
    await mkdir(this.trashDir, { recursive: true });
    const stored = await this.store.load();
    const listed = new Set(stored.map((t) => t.name));
    // Directories the catalogue does not list come from a create or delete a crash interrupted.
    for (const entry of await readdir(join(this.dataDir, 'topics'))) {
      if (!listed.has(entry)) {
        this.logger.warn('removing topic directory not in the catalogue', { dir: entry });
        await this.discard(join(this.dataDir, 'topics', entry));
      }
    }
    try {
      for (const t of stored) {
        let config: TopicConfig;
        try {
          config = resolveTopicConfig(t.config, this.config);
        } catch (err) {
          // A node config changed under stored topics (say, a lower batchBytesMax): refuse to start
          // rather than silently serve a topic with settings it was not created with.
          throw new Error(
            `topic ${t.name}: its stored settings do not fit this node's config: ${(err as Error).message}`,
          );
        }
        const partitions = await this.openPartitions(t.name, t.partitions, toLogConfig(config, this.config));
        this.topics.set(t.name, { stored: t, config, partitions });
      }
    } catch (err) {
      await this.closePartitions();
      throw err;
    }
    this.logger.info('broker loaded', { topics: this.topics.size, dataDir: this.dataDir });
  }

  private async openPartitions(topic: string, count: number, logConfig: LogConfig): Promise<Partition[]> {
    const out: Partition[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const dir = join(this.topicDir(topic), String(i));
        await mkdir(dir, { recursive: true });
        const log = await this.openLog(dir, logConfig);
        out.push(this.makePartition(topic, i, log));
      }
    } catch (err) {
      await Promise.allSettled(out.map((p) => p.close()));
      throw err;
    }
    return out;
  }

  /** Moves a directory out of the way atomically, then deletes it. */
  private async discard(dir: string): Promise<void> {
    const dest = join(this.trashDir, `${Date.now()}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(dir, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await rm(dest, { recursive: true, force: true });
  }

  private withCatalogueLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.catalogueLock.then(fn);
    this.catalogueLock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private saveCatalogue(extra: StoredTopic[] = [], without: ReadonlySet<string> = new Set()): Promise<void> {
    const all = [...this.topics.values()].map((t) => t.stored).filter((t) => !without.has(t.name));
    return this.store.save([...all, ...extra]);
  }

  // ---------------------------------------------------------------- lookups

  topicNames(): string[] {
    return [...this.topics.keys()].sort();
  }

  partitionCount(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.partitions.length;
    return n;
  }

  /** [topic, partitions, bytes on disk] per topic, for metrics. */
  topicSizes(): [string, number, number][] {
    return [...this.topics.values()].map((t) => [
      t.stored.name,
      t.partitions.length,
      t.partitions.reduce((sum, p) => sum + p.sizeBytes, 0),
    ]);
  }

  /** The partition named by `ref`, or UNKNOWN_TOPIC_OR_PARTITION. */
  partitionOf(ref: PartitionRef): { partition: Partition; topic: TopicState } {
    const t = this.topics.get(ref.topic);
    const p = t?.partitions[ref.partition];
    if (!t || !p) throw unknownPartition(ref);
    return { partition: p, topic: t };
  }

  private fail(err: unknown, ref: PartitionRef, what: string): RaftbusError {
    const { error, unexpected } = mapError(err, ref, this.shuttingDown);
    if (unexpected) this.logger.error(`${what} failed`, { ...ref, err });
    return error;
  }

  // ---------------------------------------------------------------- metadata

  /**
   * Cluster mode: makes `name` servable here with one Partition per partition number (replicated
   * ones where this node holds a replica, RemotePartition elsewhere). Replaces an earlier install.
   */
  installTopic(name: string, config: TopicConfig, partitions: Partition[], createdAtMs: number): void {
    if (!this.cluster) throw new Error('installTopic is for cluster mode');
    partitions.forEach((p, i) => {
      if (p.partition !== i || p.topic !== name)
        throw new Error(`installTopic ${name}: partition ${i} is ${p.topic}/${p.partition}`);
    });
    this.topics.set(name, {
      stored: { name, partitions: partitions.length, config: {}, createdAtMs },
      config,
      partitions,
    });
  }

  /** Cluster mode: forgets a topic and returns its partitions (the caller closes them). */
  removeTopic(name: string): Partition[] {
    const t = this.topics.get(name);
    if (!t) return [];
    this.topics.delete(name);
    for (const p of t.partitions) p.appended.notify();
    return t.partitions;
  }

  /** The topic as installed here, for the cluster runtime. */
  installedTopic(name: string): { config: TopicConfig; partitions: readonly Partition[] } | undefined {
    return this.topics.get(name);
  }

  initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResponse> {
    if (!this.cluster) return Promise.reject(new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: 9 }));
    return this.cluster.initProducerId(req);
  }

  registerBroker(req: RegisterBrokerRequest): Promise<Record<string, never>> {
    if (!this.cluster) return Promise.reject(new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: 10 }));
    return this.cluster.registerBroker(req);
  }

  metadata(req: MetadataRequest): MetadataResponse {
    if (this.cluster) return this.cluster.metadata(req);
    const names = req.topics ?? this.topicNames();
    const topics = names.map((name): TopicMetadata => {
      const t = this.topics.get(name);
      const problem = topicMetadataProblem(name, t !== undefined);
      if (problem !== null || !t) return problem!;
      return {
        name,
        error: null,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leaderId,
          replicas: [...p.replicas],
          isr: [...p.isr],
          error: null,
        })),
      };
    });
    return { clusterId: this.config.clusterId, controllerId: this.config.nodeId, brokers: [this.self()], topics };
  }

  listTopics(): ListTopicsResponse {
    if (this.cluster) return this.cluster.listTopics();
    return {
      topics: this.topicNames().map((name) => ({ name, partitions: this.topics.get(name)!.partitions.length })),
    };
  }

  describeTopics(req: DescribeTopicsRequest): DescribeTopicsResponse {
    return {
      topics: req.topics.map((name) => {
        const t = this.topics.get(name);
        if (!t) {
          return {
            name,
            error: unknownPartition({ topic: name, partition: -1 }).toWire(),
            config: null,
            partitions: [],
          };
        }
        return {
          name,
          error: null,
          config: { ...t.config },
          partitions: t.partitions.map((p) => ({
            partition: p.partition,
            leader: p.leaderId,
            replicas: [...p.replicas],
            logStartOffset: p.startOffset,
            highWatermark: p.highWatermark,
            sizeBytes: p.sizeBytes,
          })),
        };
      }),
    };
  }

  createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    if (this.cluster) return this.cluster.createTopics(req);
    return this.withCatalogueLock(async () => {
      const results: TopicResult[] = [];
      const opened: { stored: StoredTopic; config: TopicConfig; partitions: Partition[] }[] = [];
      const seen = new Set<string>();
      for (const spec of req.topics) {
        try {
          if (this.shuttingDown) throw new RaftbusError(ErrorCode.SHUTTING_DOWN);
          const name = checkTopicName(spec.name);
          if (this.topics.has(name) || seen.has(name)) {
            throw new RaftbusError(ErrorCode.TOPIC_ALREADY_EXISTS, { topic: name });
          }
          if (spec.partitions < 1 || spec.partitions > this.config.partitionsPerTopicMax) {
            throw new RaftbusError(ErrorCode.INVALID_PARTITIONS, { partitions: spec.partitions });
          }
          if (spec.replicationFactor !== undefined && spec.replicationFactor !== 1) {
            throw new RaftbusError(ErrorCode.INVALID_REPLICATION_FACTOR, {
              replicationFactor: spec.replicationFactor,
              detail: 'a single node holds exactly one replica',
            });
          }
          if (this.topics.size + opened.length + 1 > this.config.topicsMax) {
            throw new RaftbusError(ErrorCode.INVALID_REQUEST, {
              detail: `this node holds at most ${this.config.topicsMax} topics`,
            });
          }
          const partitionsNow = this.partitionCount() + opened.reduce((n, o) => n + o.partitions.length, 0);
          if (partitionsNow + spec.partitions > this.config.partitionsMax) {
            throw new RaftbusError(ErrorCode.INVALID_REQUEST, {
              detail: `this node holds at most ${this.config.partitionsMax} partitions, ${partitionsNow} exist`,
            });
          }
          const overrides = pickOverrides(spec.config);
          const config = resolveTopicConfig(overrides, this.config);
          seen.add(name);
          if (req.validateOnly) {
            results.push({ name, error: null });
            continue;
          }
          const stored: StoredTopic = { name, partitions: spec.partitions, config: overrides, createdAtMs: Date.now() };
          const partitions = await this.openPartitions(name, spec.partitions, toLogConfig(config, this.config));
          opened.push({ stored, config, partitions });
          results.push({ name, error: null });
        } catch (err) {
          results.push({
            name: spec.name,
            error: this.fail(err, { topic: spec.name, partition: -1 }, 'create topic').toWire(),
          });
        }
      }
      if (opened.length === 0) return { topics: results };
      try {
        await this.saveCatalogue(opened.map((o) => o.stored));
      } catch (err) {
        // Not durable, so not created: undo the directories and report each as failed.
        const error = this.fail(err, { topic: '*', partition: -1 }, 'save topic catalogue').toWire();
        for (const o of opened) {
          await Promise.allSettled(o.partitions.map((p) => p.close()));
          await this.discard(this.topicDir(o.stored.name)).catch(() => undefined);
          const r = results.find((x) => x.name === o.stored.name && !x.error);
          if (r) r.error = error;
        }
        return { topics: results };
      }
      for (const o of opened) this.topics.set(o.stored.name, o);
      this.logger.info('topics created', { topics: opened.map((o) => o.stored.name) });
      return { topics: results };
    });
  }

  deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
    if (this.cluster) return this.cluster.deleteTopics(req);
    return this.withCatalogueLock(async () => {
      const results: TopicResult[] = [];
      const doomed = new Map<string, TopicState>();
      for (const name of req.topics) {
        const t = this.topics.get(name);
        if (this.shuttingDown) results.push({ name, error: new RaftbusError(ErrorCode.SHUTTING_DOWN).toWire() });
        else if (!t || doomed.has(name)) {
          results.push({ name, error: unknownPartition({ topic: name, partition: -1 }).toWire() });
        } else {
          doomed.set(name, t);
          results.push({ name, error: null });
        }
      }
      if (doomed.size === 0) return { topics: results };
      try {
        await this.saveCatalogue([], new Set(doomed.keys()));
      } catch (err) {
        const error = this.fail(err, { topic: '*', partition: -1 }, 'save topic catalogue').toWire();
        for (const r of results) if (doomed.has(r.name) && !r.error) r.error = error;
        return { topics: results };
      }
      for (const name of doomed.keys()) this.topics.delete(name);
      for (const [name, t] of doomed) {
        await Promise.allSettled(t.partitions.map((p) => p.close()));
        try {
          await this.discard(this.topicDir(name));
        } catch (err) {
          // The catalogue no longer lists it; the next start removes the leftover.
          this.logger.warn('could not remove a deleted topic directory', { topic: name, err });
        }
      }
      this.logger.info('topics deleted', { topics: [...doomed.keys()] });
      return { topics: results };
    });
  }

  // ---------------------------------------------------------------- produce

  /**
   * Appends each batch of the request to its partition. `raw` holds the
   * batches back to back in body order (the validator checked the lengths add
   * up). The appends start synchronously, in order, so batches of one
   * connection reach a partition in the order they were sent.
   */
  async produce(req: ProduceRequest, raw: Uint8Array): Promise<ProduceResponse> {
    const timeoutMs =
      req.timeoutMs === 0 ? this.config.produceTimeoutMsMax : Math.min(req.timeoutMs, this.config.produceTimeoutMsMax);
    const settled: (ProducePartitionResult | undefined)[] = new Array(req.partitions.length);
    let at = 0;
    const all = req.partitions.map((p, i) => {
      const batch = raw.subarray(at, at + p.batchBytes);
      at += p.batchBytes;
      return this.produceOne(p, batch, appendAcks(req.acks)).then((r) => {
        settled[i] = r;
      });
    });
    if (at !== raw.byteLength) throw new Error(`produce raw section of ${raw.byteLength} bytes, ${at} used`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(all), timedOut]);
    } finally {
      clearTimeout(timer);
    }
    return {
      partitions: req.partitions.map(
        (p, i) =>
          settled[i] ?? {
            topic: p.topic,
            partition: p.partition,
            error: new RaftbusError(ErrorCode.REQUEST_TIMED_OUT, { timeoutMs }).toWire(),
            baseOffset: -1,
            logAppendTimeMs: -1,
          },
      ),
    };
  }

  /** Never rejects: every failure becomes that partition's error. */
  private async produceOne(
    p: ProducePartitionData,
    batch: Uint8Array,
    acks: AppendAcks,
  ): Promise<ProducePartitionResult> {
    const ref = { topic: p.topic, partition: p.partition };
    try {
      if (this.shuttingDown) throw new RaftbusError(ErrorCode.SHUTTING_DOWN);
      const { partition, topic } = this.partitionOf(ref);
      requireLeader(partition);
      if (batch.byteLength > topic.config.maxBatchBytes) {
        throw new RaftbusError(ErrorCode.MESSAGE_TOO_LARGE, {
          bytes: batch.byteLength,
          limit: topic.config.maxBatchBytes,
        });
      }
      // The header and CRC are checked once, by the append (Partition contract): a second CRC pass here
      // cost the node ~4% of its CPU per produced byte.
      // Request frames are fresh memory per request, never reused by the connection: hand the batch over.
      const r = await partition.append(batch, { acks, handOver: true });
      this.metrics?.producedBatches.inc();
      this.metrics?.producedBytes.inc(batch.byteLength);
      // The append validated the header; offsets give the record count without decoding records.
      if (r.lastOffset >= r.baseOffset && r.baseOffset >= 0)
        this.metrics?.producedRecords.inc(r.lastOffset - r.baseOffset + 1);
      return { ...ref, error: null, baseOffset: r.baseOffset, logAppendTimeMs: r.appendTimeMs };
    } catch (err) {
      return { ...ref, error: this.fail(err, ref, 'produce').toWire(), baseOffset: -1, logAppendTimeMs: -1 };
    }
  }

  // ---------------------------------------------------------------- fetch

  /**
   * Reads whole batches for each partition, waiting up to maxWaitMs (bounded by
   * the node) until at least minBytes are there. A wait ends on an append to any
   * requested partition, the deadline, or `signal` (connection gone, node stopping).
   */
  async fetch(req: FetchRequest, signal?: AbortSignal): Promise<FetchResult> {
    const waitMs = Math.min(req.maxWaitMs, this.config.fetchWaitMsMax);
    const deadline = Date.now() + waitMs;
    let bodyReserve = FRAME_BODY_RESERVE_BYTES;
    for (const p of req.partitions) bodyReserve += p.topic.length + FETCH_RESULT_OVERHEAD_BYTES;
    const budget = Math.min(req.maxBytes, this.config.frameBytesMax - FRAME_HEADER_BYTES - bodyReserve);
    let last: ReadOnceResult | null = null;
    let sizesAtRead: number[] = [];
    let watermarksAtRead: number[] = [];
    for (let round = 0; ; round++) {
      const wake = new Wakeup();
      try {
        const parts = req.partitions.map((p) => this.topics.get(p.topic)?.partitions[p.partition]);
        for (const part of parts) if (part) wake.watch(part.appended);
        // Re-read only when what arrived since the last read could reach minBytes: a consumer
        // waiting for a megabyte is not re-served on every small append.
        if (last === null || this.shuttingDown || signal?.aborted || Date.now() >= deadline) {
          sizesAtRead = parts.map((p) => p?.sizeBytes ?? 0);
          watermarksAtRead = parts.map((p) => p?.highWatermark ?? 0);
          last = await this.readOnce(req, budget);
        } else if (last.bytes + this.grownBytes(parts, sizesAtRead, watermarksAtRead) >= req.minBytes) {
          sizesAtRead = parts.map((p) => p?.sizeBytes ?? 0);
          watermarksAtRead = parts.map((p) => p?.highWatermark ?? 0);
          last = await this.readOnce(req, budget);
        }
        const left = deadline - Date.now();
        if (last.bytes >= req.minBytes || last.anyError || left <= 0 || signal?.aborted || this.shuttingDown) {
          if (last.bytes > 0 && this.metrics) {
            this.metrics.fetchedBytes.inc(last.bytes);
            this.metrics.fetchedRecords.inc(recordsIn(last.raw));
          }
          return { body: { partitions: last.results }, raw: last.raw };
        }
        if (round >= FETCH_ROUNDS_MAX) throw new Error(`fetch long-poll passed ${FETCH_ROUNDS_MAX} rounds`);
        await wake.wait(left, signal);
      } finally {
        wake.dispose();
      }
    }
  }

  /**
   * Bytes appended to `parts` since the sizes were taken. A partition that went
   * away, or whose size did not move while its watermark did, counts as
   * unbounded growth, forcing a re-read.
   */
  private grownBytes(parts: (Partition | undefined)[], sizes: number[], watermarks: number[]): number {
    let grown = 0;
    for (const [i, p] of parts.entries()) {
      if (!p) return Number.POSITIVE_INFINITY;
      const bytes = p.sizeBytes - sizes[i]!;
      if (bytes > 0) grown += bytes;
      else if (p.highWatermark !== watermarks[i] || bytes < 0) return Number.POSITIVE_INFINITY;
    }
    return grown;
  }

  private async readOnce(req: FetchRequest, budget: number): Promise<ReadOnceResult> {
    const results: FetchPartitionResult[] = [];
    const raw: Uint8Array[] = [];
    let total = 0;
    let anyError = false;
    for (const p of req.partitions) {
      const ref = { topic: p.topic, partition: p.partition };
      try {
        const { partition } = this.partitionOf(ref);
        requireLeader(partition);
        let bytes = 0;
        const remaining = budget - total;
        if (remaining > 0) {
          const r = await partition.read(p.offset, Math.min(p.maxBytes, remaining));
          // The log returns at least one batch even past maxBytes; past the response budget
          // that is only allowed for the first data, so a consumer can always make progress.
          if (r.bytes > 0 && (r.bytes <= remaining || total === 0)) {
            for (const c of r.chunks) raw.push(c);
            bytes = r.bytes;
            total += r.bytes;
          }
        }
        results.push({
          ...ref,
          error: null,
          highWatermark: partition.highWatermark,
          logStartOffset: partition.startOffset,
          bytes,
        });
      } catch (err) {
        anyError = true;
        results.push({
          ...ref,
          error: this.fail(err, ref, 'fetch').toWire(),
          highWatermark: -1,
          logStartOffset: -1,
          bytes: 0,
        });
      }
    }
    return { results, raw, bytes: total, anyError };
  }

  // ---------------------------------------------------------------- list offsets

  async listOffsets(req: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    const partitions: ListOffsetsResult[] = [];
    for (const p of req.partitions) {
      const ref = { topic: p.topic, partition: p.partition };
      try {
        const { partition } = this.partitionOf(ref);
        requireLeader(partition);
        let offset: number;
        if (p.timestamp === OffsetSpec.earliest) offset = partition.startOffset;
        else if (p.timestamp === OffsetSpec.latest) offset = partition.highWatermark;
        else offset = (await partition.offsetForTimestamp(p.timestamp)) ?? -1;
        partitions.push({ ...ref, error: null, offset, timestamp: -1 });
      } catch (err) {
        partitions.push({ ...ref, error: this.fail(err, ref, 'list offsets').toWire(), offset: -1, timestamp: -1 });
      }
    }
    return { partitions };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts periodic retention. */
  startRetention(): void {
    if (this.retentionTimer) return;
    this.retentionTimer = setInterval(() => {
      void this.runRetention();
    }, this.config.retentionCheckIntervalMs);
    this.retentionTimer.unref();
  }

  /** Applies retention to every partition once; overlapping calls share one run. */
  runRetention(nowMs: number = Date.now()): Promise<void> {
    if (this.retentionRun) return this.retentionRun;
    this.retentionRun = (async () => {
      let deleted = 0;
      for (const t of [...this.topics.values()]) {
        for (const p of t.partitions) {
          if (this.shuttingDown) return;
          try {
            deleted += await p.applyRetention(nowMs);
          } catch (err) {
            const { unexpected } = mapError(err, p, this.shuttingDown);
            if (unexpected) this.logger.error('retention failed', { topic: p.topic, partition: p.partition, err });
          }
        }
      }
      if (deleted > 0) this.logger.info('retention deleted segments', { segments: deleted });
    })().finally(() => {
      this.retentionRun = null;
    });
    return this.retentionRun;
  }

  /** Refuses new produces and catalogue changes, and ends long-polls early. */
  beginShutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const t of this.topics.values()) for (const p of t.partitions) p.appended.notify();
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Waits for appends in flight, flushes and closes every log. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.beginShutdown();
      this.closed = (async () => {
        if (this.retentionTimer) clearInterval(this.retentionTimer);
        this.retentionTimer = null;
        await this.retentionRun;
        await this.catalogueLock;
        await this.closePartitions();
        await this.lock?.release();
        this.logger.info('broker closed');
      })();
    }
    return this.closed;
  }

  private async closePartitions(): Promise<void> {
    const all = [...this.topics.values()].flatMap((t) => t.partitions);
    const results = await Promise.allSettled(all.map((p) => p.close()));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') {
        this.logger.error('closing a partition failed', {
          topic: all[i]!.topic,
          partition: all[i]!.partition,
          err: r.reason,
        });
      }
    }
  }
}

function appendAcks(acks: Acks): AppendAcks {
  if (acks === Acks.none) return 'none';
  if (acks === Acks.leader) return 'leader';
  return 'quorum';
}
