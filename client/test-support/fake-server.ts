/**
 * A small in-process raftbus server for client tests, built on the real
 * protocol codec (frame.ts) and batch functions (batch.ts). It keeps topics
 * in memory, validates and stamps batches like a leader, supports long-poll
 * fetch, and can inject faults (error responses, dropped connections,
 * withheld responses) so the client's retry paths can be tested. It is not
 * the broker: node/ holds that.
 *
 * Several FakeServers can share one FakeClusterState (`FakeServer.startCluster`):
 * each partition then has a leader node (`moveLeader`), other nodes answer
 * NOT_LEADER with a leader hint, and with `idempotence` on the leader checks
 * producer ids, epochs and sequences like a partition leader would (Kafka's
 * rules: next expected sequence appends, one of the last five batches is a
 * DUPLICATE_SEQUENCE answered with its original offset, anything else is
 * OUT_OF_ORDER_SEQUENCE).
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  Acks,
  ApiKey,
  type CreateTopicsRequest,
  type DeleteTopicsRequest,
  type DescribeTopicsRequest,
  type FetchRequest,
  type ListOffsetsRequest,
  type MetadataRequest,
  OffsetSpec,
  type ProduceRequest,
  type TopicConfig,
} from '../../node/protocol/api.ts';
import { ErrorCode, type ErrorSpec, RaftbusError } from '../../node/protocol/errors.ts';
import { encodeFrame, type Frame, FrameDecoder, FrameType } from '../../node/protocol/frame.ts';
import {
  Attributes,
  type BatchHeader,
  encodeBatch,
  readBatchHeader,
  stampBatch,
  validateBatch,
} from '../../node/storage/batch.ts';

/** What a partition leader remembers of one producer (Kafka keeps the last five batches). */
interface ProducerSequenceState {
  epoch: number;
  nextSequence: number;
  recent: { baseSequence: number; baseOffset: number }[];
}

const recentBatchesMax = 5;

interface FakePartition {
  /** producerId -> sequence state. */
  producers: Map<number, ProducerSequenceState>;
  batches: Uint8Array[];
  baseOffsets: number[];
  maxTimestamps: number[];
  endOffset: number;
  sizeBytes: number;
}

interface FakeTopic {
  name: string;
  config: TopicConfig;
  partitions: FakePartition[];
}

/** What the servers of one fake cluster share. */
export class FakeClusterState {
  readonly topics = new Map<string, FakeTopic>();
  readonly servers: FakeServer[] = [];
  /** `topic NUL partition` -> leader node id; absent = the first server. */
  readonly leaders = new Map<string, number>();
  /** Answer InitProducerId and check sequences; off = the node answers UNKNOWN_API (like the node today). */
  idempotence = false;
  /** NOT_LEADER answers carry `details.leader`; off = the hint is -1 (unknown). */
  leaderHints = true;
  /** Producer ids handed out; id -> current epoch. */
  readonly producerEpochs = new Map<number, number>();
  nextProducerId = 1000;
  /** Batches answered DUPLICATE_SEQUENCE, for assertions. */
  duplicatesAnswered = 0;
  /** Batches answered OUT_OF_ORDER_SEQUENCE, for assertions. */
  outOfOrderAnswered = 0;

  leaderOf(topic: string, partition: number): number {
    return this.leaders.get(`${topic}\u0000${partition}`) ?? this.servers[0]?.nodeId ?? 1;
  }
}

interface Fault {
  /** Answer the next `count` produce partitions with this error instead of appending. */
  produceError?: { spec: ErrorSpec; count: number; details?: Record<string, unknown> };
  /** Close the connection upon receiving the next request of this api (before handling it). */
  dropOnApi?: number;
  /** Append, then close the connection without answering, on the next produce. */
  dropAfterAppend?: boolean;
  /**
   * Answer the next `count` duplicates with OUT_OF_ORDER_SEQUENCE (expected = the next sequence),
   * as a real leader does while later batches of the producer are still being appended.
   */
  duplicateAsOutOfOrder?: number;
  /** Hold the answer to the next request of this api for `ms` (later requests are answered meanwhile). */
  delayNext?: { apiKey: number; ms: number };
  /** Handle the next request of this api at once but hold its answer for `ms` (written, answer late). */
  holdReplyNext?: { apiKey: number; ms: number };
  /** Answer the next `count` fetch requests with this error on every partition (an election, say). */
  fetchError?: { spec: ErrorSpec; count: number };
}

const defaultTopicConfig: TopicConfig = {
  retentionMs: -1,
  retentionBytes: -1,
  segmentBytes: 64 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  maxBatchBytes: 1024 * 1024,
};

export class FakeServer {
  readonly nodeId: number;
  readonly cluster: FakeClusterState;
  readonly topics: Map<string, FakeTopic>;
  readonly fault: Fault = {};
  /** Requests received, by api key. */
  readonly requestCounts = new Map<number, number>();
  /** Requests whose answer is held back (fault.holdReplyNext), and for how long. */
  private readonly heldReplies = new Map<Frame, number>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly fetchWaiters = new Set<() => void>();
  port = 0;

  private constructor(nodeId: number, cluster: FakeClusterState) {
    this.nodeId = nodeId;
    this.cluster = cluster;
    this.topics = cluster.topics;
    this.server = createServer((s) => this.onConnection(s));
  }

  /** One server; `cluster` joins it to others sharing the same state. */
  static async start(options: { nodeId?: number; cluster?: FakeClusterState } = {}): Promise<FakeServer> {
    const cluster = options.cluster ?? new FakeClusterState();
    const f = new FakeServer(options.nodeId ?? cluster.servers.length + 1, cluster);
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    const addr = f.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    f.port = addr.port;
    cluster.servers.push(f);
    return f;
  }

  /** `count` servers (node ids 1..count) sharing topics, leaders and producer state. */
  static async startCluster(count: number): Promise<FakeServer[]> {
    if (!(count >= 1 && count <= 16)) throw new RangeError('a fake cluster has 1..16 servers');
    const cluster = new FakeClusterState();
    const out: FakeServer[] = [];
    for (let i = 1; i <= count; i++) out.push(await FakeServer.start({ nodeId: i, cluster }));
    return out;
  }

  /** Makes `nodeId` the leader of a partition (a leader change as Raft would make it). */
  moveLeader(topic: string, partition: number, nodeId: number): void {
    this.cluster.leaders.set(`${topic}\u0000${partition}`, nodeId);
  }

  /** Appends a control batch (attributes bit 4) of `recordCount` offsets, as a transaction marker would be. */
  appendControlBatch(topic: string, partition: number, recordCount = 1): number {
    const p = this.topics.get(topic)?.partitions[partition];
    if (!p) throw new RangeError(`no partition ${topic}/${partition}`);
    const records = Array.from({ length: recordCount }, () => ({ value: 'marker' }));
    const batch = encodeBatch(records, undefined, Date.now(), Attributes.control);
    return this.store(p, batch, readBatchHeader(batch));
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Closes every client connection (the server keeps listening). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    for (const w of this.fetchWaiters) w();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  createTopic(name: string, partitions: number): void {
    this.topics.set(name, {
      name,
      config: { ...defaultTopicConfig },
      partitions: Array.from({ length: partitions }, () => ({
        producers: new Map<number, ProducerSequenceState>(),
        batches: [],
        baseOffsets: [],
        maxTimestamps: [],
        endOffset: 0,
        sizeBytes: 0,
      })),
    });
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    let handshaken = false;
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        this.requestCounts.set(f.apiKey, (this.requestCounts.get(f.apiKey) ?? 0) + 1);
        if (this.fault.dropOnApi === f.apiKey) {
          delete this.fault.dropOnApi;
          socket.destroy();
          return;
        }
        if (!handshaken && f.apiKey !== ApiKey.Handshake) {
          this.reply(socket, f, { error: new RaftbusError(ErrorCode.HANDSHAKE_REQUIRED).toWire() });
          continue;
        }
        handshaken = true;
        void this.handle(socket, f).catch((err: unknown) => {
          const e =
            err instanceof RaftbusError
              ? err
              : new RaftbusError(ErrorCode.UNKNOWN_SERVER_ERROR, { detail: String(err) });
          this.reply(socket, f, { error: e.toWire() });
        });
      }
    });
  }

  private reply(socket: Socket, req: Frame, body: unknown, raw: Uint8Array[] = []): void {
    if (socket.destroyed) return;
    const held = this.heldReplies.get(req);
    if (held !== undefined) {
      this.heldReplies.delete(req);
      setTimeout(() => this.reply(socket, req, body, raw), held).unref();
      return;
    }
    const bufs = encodeFrame(
      {
        frameType: FrameType.Response,
        apiKey: req.apiKey,
        apiVersion: req.apiVersion,
        correlationId: req.correlationId,
      },
      body,
      raw,
    );
    socket.cork();
    for (const b of bufs) socket.write(b);
    socket.uncork();
  }

  private async handle(socket: Socket, f: Frame): Promise<void> {
    const hold = this.fault.holdReplyNext;
    if (hold && hold.apiKey === f.apiKey) {
      delete this.fault.holdReplyNext;
      this.heldReplies.set(f, hold.ms);
    }
    const delay = this.fault.delayNext;
    if (delay && delay.apiKey === f.apiKey) {
      delete this.fault.delayNext;
      await new Promise((resolve) => setTimeout(resolve, delay.ms));
    }
    switch (f.apiKey) {
      case ApiKey.Handshake:
        this.reply(socket, f, {
          nodeId: this.nodeId,
          clusterId: 'fake',
          serverVersion: 'fake',
          apis: [],
          frameBytesMax: 16 * 1024 * 1024,
          batchBytesMax: 1024 * 1024,
        });
        return;
      case ApiKey.Metadata: {
        const req = f.body as MetadataRequest;
        const names = req.topics ?? [...this.topics.keys()];
        this.reply(socket, f, {
          clusterId: 'fake',
          controllerId: this.nodeId,
          brokers: this.cluster.servers.map((s) => ({ nodeId: s.nodeId, host: '127.0.0.1', port: s.port })),
          topics: names.map((name) => {
            const t = this.topics.get(name);
            if (!t) {
              return {
                name,
                error: new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: name, partition: -1 }).toWire(),
                partitions: [],
              };
            }
            return {
              name,
              partitions: t.partitions.map((_, i) => ({
                partition: i,
                leader: this.cluster.leaderOf(name, i),
                replicas: this.cluster.servers.map((s) => s.nodeId),
                isr: this.cluster.servers.map((s) => s.nodeId),
              })),
            };
          }),
        });
        return;
      }
      case ApiKey.CreateTopics: {
        const req = f.body as CreateTopicsRequest;
        this.reply(socket, f, {
          topics: req.topics.map((spec) => {
            if (this.topics.has(spec.name)) {
              return {
                name: spec.name,
                error: new RaftbusError(ErrorCode.TOPIC_ALREADY_EXISTS, { topic: spec.name }).toWire(),
              };
            }
            if (!(spec.partitions >= 1)) {
              return {
                name: spec.name,
                error: new RaftbusError(ErrorCode.INVALID_PARTITIONS, { partitions: spec.partitions }).toWire(),
              };
            }
            this.createTopic(spec.name, spec.partitions);
            Object.assign(this.topics.get(spec.name)!.config, spec.config ?? {});
            return { name: spec.name, error: null };
          }),
        });
        return;
      }
      case ApiKey.DeleteTopics: {
        const req = f.body as DeleteTopicsRequest;
        this.reply(socket, f, {
          topics: req.topics.map((name) => {
            if (!this.topics.delete(name)) {
              return {
                name,
                error: new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: name, partition: -1 }).toWire(),
              };
            }
            return { name, error: null };
          }),
        });
        return;
      }
      case ApiKey.ListTopics:
        this.reply(socket, f, {
          topics: [...this.topics.values()].map((t) => ({ name: t.name, partitions: t.partitions.length })),
        });
        return;
      case ApiKey.DescribeTopics: {
        const req = f.body as DescribeTopicsRequest;
        this.reply(socket, f, {
          topics: req.topics.map((name) => {
            const t = this.topics.get(name);
            if (!t) {
              return {
                name,
                config: null,
                partitions: [],
                error: new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: name, partition: -1 }).toWire(),
              };
            }
            return {
              name,
              config: t.config,
              partitions: t.partitions.map((p, i) => ({
                partition: i,
                leader: this.nodeId,
                replicas: [this.nodeId],
                logStartOffset: 0,
                highWatermark: p.endOffset,
                sizeBytes: p.sizeBytes,
              })),
            };
          }),
        });
        return;
      }
      case ApiKey.Produce:
        this.produce(socket, f);
        return;
      case ApiKey.InitProducerId: {
        if (!this.cluster.idempotence) break;
        const producerId = this.cluster.nextProducerId++;
        this.cluster.producerEpochs.set(producerId, 0);
        this.reply(socket, f, { producerId, producerEpoch: 0 });
        return;
      }
      case ApiKey.Fetch:
        await this.fetch(socket, f);
        return;
      case ApiKey.ListOffsets: {
        const req = f.body as ListOffsetsRequest;
        this.reply(socket, f, {
          partitions: req.partitions.map((q) => {
            const p = this.topics.get(q.topic)?.partitions[q.partition];
            if (!p) {
              return {
                topic: q.topic,
                partition: q.partition,
                offset: -1,
                timestamp: -1,
                error: new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
                  topic: q.topic,
                  partition: q.partition,
                }).toWire(),
              };
            }
            let offset = -1;
            if (q.timestamp === OffsetSpec.earliest) offset = 0;
            else if (q.timestamp === OffsetSpec.latest) offset = p.endOffset;
            else {
              const i = p.maxTimestamps.findIndex((ts) => ts >= q.timestamp);
              offset = i < 0 ? -1 : p.baseOffsets[i]!;
            }
            return { topic: q.topic, partition: q.partition, offset, timestamp: q.timestamp, error: null };
          }),
        });
        return;
      }
    }
    this.reply(socket, f, { error: new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: f.apiKey }).toWire() });
  }

  private notLeader(topic: string, partition: number): RaftbusError {
    const leader = this.cluster.leaderHints ? this.cluster.leaderOf(topic, partition) : -1;
    return new RaftbusError(ErrorCode.NOT_LEADER, { topic, partition, leader });
  }

  private store(p: FakePartition, batch: Uint8Array, header: BatchHeader): number {
    const copy = new Uint8Array(batch); // the frame buffer is reused by nobody, but keep storage independent
    stampBatch(copy, p.endOffset, 0);
    p.batches.push(copy);
    p.baseOffsets.push(p.endOffset);
    p.maxTimestamps.push(header.maxTimestamp);
    const baseOffset = p.endOffset;
    p.endOffset += header.recordCount;
    p.sizeBytes += copy.byteLength;
    return baseOffset;
  }

  /** Kafka's sequence rules for one batch of an idempotent producer; null = append it. */
  private checkSequence(
    p: FakePartition,
    h: BatchHeader,
  ): { error: RaftbusError; baseOffset: number } | { error: null; state: ProducerSequenceState } {
    const known = this.cluster.producerEpochs.get(h.producerId);
    const details = { producerId: h.producerId, sequence: h.baseSequence, epoch: h.producerEpoch };
    if (known === undefined) return { error: new RaftbusError(ErrorCode.UNKNOWN_PRODUCER_ID, details), baseOffset: -1 };
    if (h.producerEpoch < known)
      return { error: new RaftbusError(ErrorCode.INVALID_PRODUCER_EPOCH, details), baseOffset: -1 };
    let state = p.producers.get(h.producerId);
    if (!state || state.epoch < h.producerEpoch) {
      state = { epoch: h.producerEpoch, nextSequence: 0, recent: [] };
      p.producers.set(h.producerId, state);
    }
    const dup = state.recent.find((r) => r.baseSequence === h.baseSequence);
    if (dup && (this.fault.duplicateAsOutOfOrder ?? 0) > 0) {
      this.fault.duplicateAsOutOfOrder = this.fault.duplicateAsOutOfOrder! - 1;
      this.cluster.outOfOrderAnswered++;
      return {
        error: new RaftbusError(ErrorCode.OUT_OF_ORDER_SEQUENCE, { ...details, expected: state.nextSequence }),
        baseOffset: -1,
      };
    }
    if (dup) {
      this.cluster.duplicatesAnswered++;
      return {
        error: new RaftbusError(ErrorCode.DUPLICATE_SEQUENCE, { ...details, baseOffset: dup.baseOffset }),
        baseOffset: dup.baseOffset,
      };
    }
    if (h.baseSequence !== state.nextSequence) {
      this.cluster.outOfOrderAnswered++;
      return {
        error: new RaftbusError(ErrorCode.OUT_OF_ORDER_SEQUENCE, { ...details, expected: state.nextSequence }),
        baseOffset: -1,
      };
    }
    return { error: null, state };
  }

  private produce(socket: Socket, f: Frame): void {
    const req = f.body as ProduceRequest;
    let at = 0;
    const results = req.partitions.map((pd) => {
      const batch = f.raw.subarray(at, at + pd.batchBytes);
      at += pd.batchBytes;
      const base = { topic: pd.topic, partition: pd.partition, baseOffset: -1, logAppendTimeMs: -1 };
      const injected = this.fault.produceError;
      if (injected && injected.count > 0) {
        injected.count--;
        return {
          ...base,
          error: new RaftbusError(
            injected.spec,
            injected.details ?? { topic: pd.topic, partition: pd.partition, leader: this.nodeId },
          ).toWire(),
        };
      }
      const p = this.topics.get(pd.topic)?.partitions[pd.partition];
      if (!p) {
        return {
          ...base,
          error: new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
            topic: pd.topic,
            partition: pd.partition,
          }).toWire(),
        };
      }
      if (this.cluster.leaderOf(pd.topic, pd.partition) !== this.nodeId) {
        return { ...base, error: this.notLeader(pd.topic, pd.partition).toWire() };
      }
      let header: ReturnType<typeof validateBatch>;
      try {
        header = validateBatch(batch);
      } catch (err) {
        return {
          ...base,
          error: new RaftbusError(ErrorCode.CORRUPT_MESSAGE, { detail: (err as Error).message }).toWire(),
        };
      }
      let sequenceState: ProducerSequenceState | null = null;
      if (header.producerId >= 0 && this.cluster.idempotence) {
        const check = this.checkSequence(p, header);
        if (check.error) return { ...base, baseOffset: check.baseOffset, error: check.error.toWire() };
        sequenceState = check.state;
      }
      const baseOffset = this.store(p, batch, header);
      if (sequenceState) {
        sequenceState.nextSequence = (header.baseSequence + header.recordCount) % 2 ** 31;
        sequenceState.recent.push({ baseSequence: header.baseSequence, baseOffset });
        if (sequenceState.recent.length > recentBatchesMax) sequenceState.recent.shift();
      }
      return { ...base, baseOffset, logAppendTimeMs: Date.now(), error: null };
    });
    for (const w of [...this.fetchWaiters]) w();
    if (this.fault.dropAfterAppend) {
      delete this.fault.dropAfterAppend;
      socket.destroy();
      return;
    }
    if (req.acks === Acks.none) return;
    this.reply(socket, f, { partitions: results });
  }

  private async fetch(socket: Socket, f: Frame): Promise<void> {
    const req = f.body as FetchRequest;
    const injected = this.fault.fetchError;
    if (injected && injected.count > 0) {
      injected.count--;
      const error = (q: { topic: string; partition: number }) =>
        new RaftbusError(injected.spec, { topic: q.topic, partition: q.partition, leader: -1 }).toWire();
      this.reply(socket, f, {
        partitions: req.partitions.map((q) => ({
          topic: q.topic,
          partition: q.partition,
          highWatermark: -1,
          logStartOffset: -1,
          bytes: 0,
          error: error(q),
        })),
      });
      return;
    }
    const deadline = Date.now() + Math.min(req.maxWaitMs, 30_000);
    for (;;) {
      const parts: { result: Record<string, unknown>; chunks: Uint8Array[] }[] = [];
      let total = 0;
      for (const q of req.partitions) {
        const p = this.topics.get(q.topic)?.partitions[q.partition];
        const result: Record<string, unknown> = {
          topic: q.topic,
          partition: q.partition,
          highWatermark: -1,
          logStartOffset: -1,
          bytes: 0,
          error: null,
        };
        const chunks: Uint8Array[] = [];
        if (!p) {
          result.error = new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
            topic: q.topic,
            partition: q.partition,
          }).toWire();
        } else if (this.cluster.leaderOf(q.topic, q.partition) !== this.nodeId) {
          result.error = this.notLeader(q.topic, q.partition).toWire();
        } else if (q.offset < 0 || q.offset > p.endOffset) {
          result.error = new RaftbusError(ErrorCode.OFFSET_OUT_OF_RANGE, {
            offset: q.offset,
            start: 0,
            end: p.endOffset,
          }).toWire();
        } else {
          result.highWatermark = p.endOffset;
          result.logStartOffset = 0;
          let i = upperBound(p.baseOffsets, q.offset) - 1;
          if (i < 0) i = 0;
          let bytes = 0;
          for (; i < p.batches.length; i++) {
            const b = p.batches[i]!;
            if (bytes > 0 && (bytes + b.byteLength > q.maxBytes || total + bytes + b.byteLength > req.maxBytes)) break;
            if (readBatchHeader(b).baseOffset + readBatchHeader(b).recordCount <= q.offset) continue;
            chunks.push(b);
            bytes += b.byteLength;
          }
          result.bytes = bytes;
          total += bytes;
        }
        parts.push({ result, chunks });
      }
      const remainingMs = deadline - Date.now();
      const failed = parts.some((p) => p.result.error !== null);
      if (total >= Math.max(1, req.minBytes) || remainingMs <= 0 || failed || socket.destroyed) {
        this.reply(
          socket,
          f,
          { partitions: parts.map((p) => p.result) },
          parts.flatMap((p) => p.chunks),
        );
        return;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.fetchWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, remainingMs);
        this.fetchWaiters.add(done);
      });
    }
  }
}

function upperBound(sorted: number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
