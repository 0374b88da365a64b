/**
 * Producer: batches records per partition (linger + size, like Kafka's
 * RecordAccumulator), encodes each batch once with BatchBuilder, and sends the
 * sealed batches of all partitions led by one node together in one Produce
 * request, with a bounded number of requests in flight per node and batches in
 * flight per partition. Retriable errors are retried with backoff, bounded in
 * attempts and in time (deliveryTimeoutMs); NOT_LEADER and unknown-topic
 * answers refresh the metadata first.
 *
 * Memory is bounded by bufferBytesMax (open + sealed + in-flight batch bytes):
 * when it is full, `send` waits (FIFO) up to maxBlockMs for room.
 *
 * Idempotence (the default where the node speaks InitProducerId), as in Kafka: the producer gets
 * {producerId, epoch} from InitProducerId once, and stamps every batch with
 * them and a per-partition baseSequence (records sent before to that
 * partition). The partition leader appends the next expected sequence only:
 * a batch it already holds gets DUPLICATE_SEQUENCE with the original offsets
 * (the producer resolves with those), a batch after a gap gets
 * OUT_OF_ORDER_SEQUENCE (retried while an earlier batch of the partition is
 * still unresolved: the gap is that batch's failed attempt). A retried batch
 * keeps its bytes and sequence, goes back into the queue in sequence order,
 * and is sent only when nothing of its partition is in flight, so with
 * partitionInFlightMax > 1 a retry never lands after a later batch.
 *
 * Without idempotence a retry can land after a later batch of the same
 * partition when partitionInFlightMax > 1, and a retried batch whose first
 * attempt was in fact written is written twice (at-least-once).
 *
 * Routing: NOT_LEADER with a leader hint (`details.leader`) moves the
 * partition to that node at once and retries there without backoff while the
 * metadata refreshes; a broken connection marks its node suspect, so the
 * refresh asks another broker.
 */
import {
  Acks,
  ApiKey,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../node/protocol/api.ts';
import { ErrorCode, RaftbusError } from '../node/protocol/errors.ts';
import { NO_SEQUENCE, type RecordInput } from '../node/storage/batch.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { BatchBuilder } from './batch-builder.ts';
import { BufferPool } from './buffer-pool.ts';
import type { CallOptions, RaftbusClient } from './client.ts';
import { Delivery, type RecordMetadata } from './delivery.ts';
import {
  abortReason,
  BufferFullError,
  ClientClosedError,
  ClientConfigError,
  ConnectionClosedError,
  IdempotenceNotSupportedError,
  isRetriable,
  ProtocolError,
  RecordTooLargeError,
  raceAbort,
  TimeoutError,
} from './errors.ts';
import { partitionForKey, StickyPartitioner } from './partitioner.ts';

export type AcksMode = 'none' | 'leader' | 'quorum';

export interface ProducerOptions {
  /** How long a non-full batch waits for more records. */
  lingerMs?: number;
  /** Largest batch (header + records); lowered to the node's limit when the node announces a smaller one. */
  batchBytesMax?: number;
  acks?: AcksMode;
  /** Produce requests awaiting an answer, per node. */
  inFlightMax?: number;
  /** Batches awaiting an answer, per partition. */
  partitionInFlightMax?: number;
  /** Largest Produce request (several partitions' batches). */
  requestBytesMax?: number;
  /** Bytes held in open, sealed and in-flight batches together. */
  bufferBytesMax?: number;
  /** How long `send` waits for buffer room before failing with BufferFullError. */
  maxBlockMs?: number;
  /** Give up on a batch this long after it was sealed, retries included. */
  deliveryTimeoutMs?: number;
  /** Timeout of one Produce request (also sent to the node as the request's timeoutMs). */
  requestTimeoutMs?: number;
  retry?: BackoffOptions;
  /** Key -> partition; defaults to Kafka's murmur2 (partitioner.ts). */
  partitioner?: (key: Uint8Array | string, partitionCount: number) => number;
  /**
   * Producer id + epoch + per-partition sequence numbers, so retries never
   * duplicate or reorder. `true`: required (a node that answers InitProducerId
   * with UNKNOWN_API, like a single node, fails every send with
   * IdempotenceNotSupportedError). Default (undefined): idempotent where the
   * node speaks InitProducerId (a cluster), else at-least-once without error;
   * `producer.idempotent` tells which. `false`: off.
   */
  idempotent?: boolean;
}

/** A record plus an optional explicit partition. */
export interface ProducerRecord extends RecordInput {
  partition?: number;
}

export const producerDefaults = {
  lingerMs: 5,
  batchBytesMax: 256 * 1024,
  acks: 'quorum' as AcksMode,
  inFlightMax: 5,
  partitionInFlightMax: 5,
  requestBytesMax: 4 * 1024 * 1024,
  bufferBytesMax: 64 * 1024 * 1024,
  maxBlockMs: 60_000,
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  // Kafka: retry.backoff.ms=100, retries bounded by delivery.timeout.ms. A failover (election plus the
  // client finding the new leader) takes a few hundred ms: retries start at 20 ms and stay at most 100 ms
  // apart so the first send after the election is not held back; the delivery timeout bounds the total.
  retry: { delayMsMin: 20, delayMsMax: 100, attemptsMax: 1_000 } satisfies BackoffOptions,
  /** undefined = idempotent where the node supports it (see ProducerOptions.idempotent). */
  idempotent: undefined as boolean | undefined,
};

/** Batches per partition in flight at most with idempotence: the leader's duplicate window. */
export const idempotentInFlightMax = 5;
/** Sequences are int32 and wrap to 0 after 2^31 - 1, as in Kafka. */
const SEQUENCE_MODULUS = 2 ** 31;
/** How long a node whose connection broke is asked for metadata only as a last resort. */
const suspectNodeMs = 5_000;
/**
 * Least time between two metadata refreshes of one topic. While a partition
 * has no leader (an election) each refresh answers "none" and the pump asks
 * again: without this gap that is a metadata request per round trip.
 */
const metadataRefreshGapMs = 25;

const acksWire = { none: Acks.none, leader: Acks.leader, quorum: Acks.quorum } as const;

/** The open batch of one partition. */
class Accumulator {
  readonly topic: string;
  readonly partition: number;
  /** `topic NUL partition`: the partition's identity in the producer's maps. */
  readonly key: string;
  builder: BatchBuilder;
  deliveries: Delivery[] = [];
  slots: number[] = [];
  createdAtMs = 0;
  /** Open batch bytes already counted in the producer's bufferedBytes. */
  trackedBytes = 0;
  /** Idempotent: the baseSequence of the next batch sealed here. */
  nextSequence = 0;
  /** Batches sealed here so far (the next one's ordinal). */
  sealedCount = 0;

  constructor(topic: string, partition: number, builder: BatchBuilder) {
    this.topic = topic;
    this.partition = partition;
    this.key = `${topic}\u0000${partition}`;
    this.builder = builder;
  }
}

/** A sealed batch on its way to the leader. */
interface ReadyBatch {
  topic: string;
  partition: number;
  key: string;
  bytes: Uint8Array;
  /** The pooled buffer behind `bytes`, returned to the pool once the node has answered. */
  backing: Buffer | null;
  recordCount: number;
  deliveries: Delivery[];
  slots: number[];
  sealedAtMs: number;
  attempts: number;
  backoff: Backoff | null;
  /** Not sent before this time (retry backoff). */
  notBeforeMs: number;
  /** Idempotent: the batch's baseSequence (kept across retries); NO_SEQUENCE otherwise. */
  sequence: number;
  /** Position among the batches sealed for its partition (0, 1, 2, ...). */
  ordinal: number;
}

interface BlockedSend {
  run(): void;
  fail(err: Error): void;
}

export interface ProducerStats {
  recordsSent: number;
  recordsFailed: number;
  batchesSent: number;
  requestsSent: number;
  retries: number;
  bufferedBytes: number;
}

export class Producer {
  private readonly client: RaftbusClient;
  private readonly lingerMs: number;
  private readonly batchBytesMaxOption: number;
  private readonly acks: number;
  private readonly inFlightMax: number;
  private readonly partitionInFlightMax: number;
  private readonly requestBytesMax: number;
  private readonly bufferBytesMax: number;
  private readonly maxBlockMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly retry: BackoffOptions;
  private readonly partitioner: (key: Uint8Array | string, partitionCount: number) => number;
  /** `true` = required, undefined = where supported, `false` = off. */
  private readonly idempotenceOption: boolean | undefined;
  /** Batches get producer id and sequences (until a node without InitProducerId turns `auto` off). */
  private idempotenceActive: boolean;
  private producerId = -1;
  private producerEpoch = -1;
  private producerIdPromise: Promise<void> | null = null;
  /** Idempotent: per partition, sealed batches not yet completed or failed, in sequence order. */
  private readonly unresolved = new Map<string, ReadyBatch[]>();
  private readonly sticky = new StickyPartitioner();
  private readonly pool: BufferPool;

  private readonly accumulators = new Map<string, Accumulator>();
  private readonly byTopic = new Map<string, (Accumulator | undefined)[]>();
  private readonly ready: ReadyBatch[] = [];
  private readonly nodeInFlight = new Map<number, number>();
  private readonly partitionInFlight = new Map<string, number>();
  private readonly blocked: BlockedSend[] = [];
  /** Sends waiting for metadata, the producer id or buffer room (bounded by bufferBytesMax and maxBlockMs). */
  private readonly submitsPending = new Set<Promise<void>>();
  /** The last slow submit: slow submits run one after another, so sends are appended in call order. */
  private submitTail: Promise<void> = Promise.resolve();
  private readonly idleWaiters: (() => void)[] = [];
  private bufferedBytes = 0;
  private inFlightBatches = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** A linger-0 seal is queued as a microtask (see armLinger). */
  private lingerMicrotask = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;
  private metadataPending = new Set<string>();
  /** Topic -> when its last metadata refresh started (ms); one entry per topic this producer sends to. */
  private readonly metadataRefreshedAtMs = new Map<string, number>();
  private closed = false;
  private readonly counters = { recordsSent: 0, recordsFailed: 0, batchesSent: 0, requestsSent: 0, retries: 0 };

  constructor(client: RaftbusClient, options: ProducerOptions = {}) {
    const o = { ...producerDefaults, ...options };
    for (const [k, v] of Object.entries({
      lingerMs: o.lingerMs,
      inFlightMax: o.inFlightMax,
      partitionInFlightMax: o.partitionInFlightMax,
      batchBytesMax: o.batchBytesMax,
      requestBytesMax: o.requestBytesMax,
      bufferBytesMax: o.bufferBytesMax,
    })) {
      if (!(Number.isFinite(v) && v >= (k === 'lingerMs' ? 0 : 1)))
        throw new ClientConfigError(`producer option ${k} is invalid: ${v}`);
    }
    if (!(o.acks in acksWire))
      throw new ClientConfigError(`producer option acks must be none|leader|quorum, got ${o.acks}`);
    if (o.batchBytesMax > o.requestBytesMax)
      throw new ClientConfigError('batchBytesMax must not exceed requestBytesMax');
    if (o.batchBytesMax > o.bufferBytesMax) throw new ClientConfigError('batchBytesMax must not exceed bufferBytesMax');
    // A leader remembers the last 5 batches per producer (as Kafka's): more in flight could not be deduplicated.
    if (o.idempotent === true && o.partitionInFlightMax > idempotentInFlightMax)
      throw new ClientConfigError(`an idempotent producer allows partitionInFlightMax <= ${idempotentInFlightMax}`);
    this.client = client;
    this.lingerMs = o.lingerMs;
    this.batchBytesMaxOption = o.batchBytesMax;
    this.acks = acksWire[o.acks];
    this.inFlightMax = o.inFlightMax;
    this.partitionInFlightMax = o.partitionInFlightMax;
    this.requestBytesMax = o.requestBytesMax;
    this.bufferBytesMax = o.bufferBytesMax;
    this.maxBlockMs = o.maxBlockMs;
    this.deliveryTimeoutMs = o.deliveryTimeoutMs;
    this.requestTimeoutMs = o.requestTimeoutMs;
    this.retry = o.retry;
    this.partitioner = o.partitioner ?? partitionForKey;
    this.idempotenceOption = o.idempotent;
    // Where supported, unless more batches may be in flight than a leader can deduplicate.
    this.idempotenceActive =
      o.idempotent === true || (o.idempotent === undefined && o.partitionInFlightMax <= idempotentInFlightMax);
    this.pool = new BufferPool(Math.min(o.bufferBytesMax, 64 * 1024 * 1024));
  }

  /**
   * Whether batches carry a producer id and sequences. With the default
   * option this turns false once a node answers InitProducerId with
   * UNKNOWN_API (at-least-once from then on).
   */
  get idempotent(): boolean {
    return this.idempotenceActive;
  }

  /** The producer id and epoch from InitProducerId (-1 until obtained, and without idempotence). */
  get producerIdentity(): { producerId: number; producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch };
  }

  get stats(): ProducerStats {
    return { ...this.counters, bufferedBytes: this.bufferedBytes };
  }

  /** Sends one record; resolves with where it was written once the node acknowledged it (per `acks`). */
  send(topic: string, record: ProducerRecord, options: CallOptions = {}): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      const delivery = new Delivery(1, true, resolve as (v: RecordMetadata | RecordMetadata[]) => void, reject);
      this.submit(topic, [record], delivery, options.signal);
    });
  }

  /** Sends many records under one promise; resolves with each record's metadata, in input order. */
  sendBatch(topic: string, records: readonly ProducerRecord[], options: CallOptions = {}): Promise<RecordMetadata[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const delivery = new Delivery(
        records.length,
        false,
        resolve as (v: RecordMetadata | RecordMetadata[]) => void,
        reject,
      );
      this.submit(topic, records, delivery, options.signal);
    });
  }

  /** Seals every open batch and waits until everything sent so far is acknowledged or failed. */
  async flush(options: CallOptions = {}): Promise<void> {
    await this.waitUnblocked(options.signal);
    // Sends still waiting for metadata or the producer id count as sent before the flush.
    while (this.submitsPending.size > 0)
      await raceAbort(Promise.allSettled([...this.submitsPending]), options.signal, 'flush');
    this.sealAll();
    this.schedulePump();
    if (this.isIdle()) return;
    await new Promise<void>((resolve, reject) => {
      const signal = options.signal;
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.idleWaiters.indexOf(done);
        if (i >= 0) this.idleWaiters.splice(i, 1);
        reject(abortReason(signal!, 'flush'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.idleWaiters.push(done);
    });
  }

  /** Flushes, then refuses new records. */
  async close(options: CallOptions = {}): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush(options);
    } finally {
      this.closed = true;
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      if (this.retryTimer) clearTimeout(this.retryTimer);
    }
  }

  // ---- accepting records ----

  private submit(topic: string, records: readonly ProducerRecord[], delivery: Delivery, signal?: AbortSignal): void {
    if (this.closed || this.client.isClosed) {
      delivery.fail(new ClientClosedError('the producer is closed'));
      return;
    }
    if (signal?.aborted) {
      delivery.fail(abortReason(signal, 'send'));
      return;
    }
    const count = this.client.cachedPartitionCount(topic);
    // The fast path only when no earlier send is still on the slow path: it must not overtake one that
    // waits for metadata (after a leader change), a producer id or buffer room (per-partition order).
    if (
      count !== undefined &&
      this.submitsPending.size === 0 &&
      this.blocked.length === 0 &&
      this.bufferedBytes < this.bufferBytesMax &&
      (!this.idempotenceActive || this.producerId >= 0)
    ) {
      this.append(topic, count, records, delivery);
      return;
    }
    const pending = this.submitTail
      .then(() => this.submitSlow(topic, records, delivery, signal))
      .catch((err: unknown) => delivery.fail(err as Error))
      .finally(() => this.submitsPending.delete(pending));
    this.submitTail = pending;
    this.submitsPending.add(pending);
  }

  /** Waits for metadata and for buffer room (in FIFO order with other blocked sends). */
  private async submitSlow(
    topic: string,
    records: readonly ProducerRecord[],
    delivery: Delivery,
    signal?: AbortSignal,
  ): Promise<void> {
    // It may have waited behind earlier slow submits: look again.
    if (this.closed) throw new ClientClosedError('the producer is closed');
    if (signal?.aborted) throw abortReason(signal, 'send');
    if (this.idempotenceActive) await this.ensureProducerId(signal);
    const info = await this.client.topic(topic, { signal });
    if (this.blocked.length > 0 || this.bufferedBytes >= this.bufferBytesMax) {
      await new Promise<void>((resolve, reject) => {
        const startedMs = Date.now();
        const entry: BlockedSend = {
          run: () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          fail: (err) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            reject(err);
          },
        };
        const drop = (err: Error): void => {
          const i = this.blocked.indexOf(entry);
          if (i >= 0) this.blocked.splice(i, 1);
          entry.fail(err);
        };
        const onAbort = (): void => drop(abortReason(signal!, 'send'));
        const timer = setTimeout(
          () => drop(new BufferFullError(this.bufferBytesMax, Date.now() - startedMs)),
          this.maxBlockMs,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        this.blocked.push(entry);
      });
    }
    if (this.closed) throw new ClientClosedError('the producer is closed');
    this.append(topic, info.partitions.length, records, delivery);
    this.unblock();
  }

  /** Obtains {producerId, epoch} once; concurrent callers share the request, a failure lets the next call try again. */
  private ensureProducerId(signal?: AbortSignal): Promise<void> {
    if (this.producerId >= 0 || !this.idempotenceActive) return Promise.resolve();
    if (!this.producerIdPromise) {
      this.producerIdPromise = this.initProducerId().finally(() => {
        this.producerIdPromise = null;
      });
      // Observed here too: a caller whose signal aborted first leaves the request with no other handler.
      this.producerIdPromise.catch(() => {});
    }
    return raceAbort(this.producerIdPromise, signal, 'send');
  }

  private async initProducerId(): Promise<void> {
    const body: InitProducerIdRequest = {};
    let res: InitProducerIdResponse;
    try {
      res = (await this.client.callAny<InitProducerIdResponse>(ApiKey.InitProducerId, body)).body;
    } catch (err) {
      if (err instanceof RaftbusError && err.is(ErrorCode.UNKNOWN_API)) {
        if (this.idempotenceOption === undefined) {
          // Not required: this node (a single node) has no producer ids, so send at-least-once.
          this.idempotenceActive = false;
          return;
        }
        const link = await this.client.anyLink().catch(() => null);
        throw new IdempotenceNotSupportedError(link?.address ?? this.client.options.brokers.join(','));
      }
      throw err;
    }
    const id = res?.producerId;
    const epoch = res?.producerEpoch;
    if (!(Number.isSafeInteger(id) && id >= 0 && Number.isInteger(epoch) && epoch >= 0 && epoch <= 0x7fff)) {
      throw new ProtocolError(`InitProducerId answered producerId ${id}, epoch ${epoch}`);
    }
    this.producerId = id;
    this.producerEpoch = epoch;
  }

  private append(topic: string, partitionCount: number, records: readonly ProducerRecord[], delivery: Delivery): void {
    const now = Date.now();
    const limit = this.batchBytesMax();
    // Looked up once per call, not per record: the per-record path stays free of string building.
    let accs = this.byTopic.get(topic);
    if (!accs) {
      accs = [];
      this.byTopic.set(topic, accs);
    }
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      let partition: number;
      if (r.partition !== undefined) {
        partition = r.partition;
        if (!(Number.isInteger(partition) && partition >= 0 && partition < partitionCount)) {
          delivery.fail(new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic, partition }));
          return;
        }
      } else if (r.key != null) {
        partition = this.partitioner(r.key, partitionCount);
      } else {
        partition = this.sticky.partition(topic, partitionCount);
      }
      let acc = accs[partition];
      if (!acc) {
        acc = new Accumulator(topic, partition, this.newBuilder(limit));
        accs[partition] = acc;
        this.accumulators.set(acc.key, acc);
      }
      const key = acc.key;
      if (acc.builder.recordCount === 0) acc.createdAtMs = now;
      if (!acc.builder.append(r, now, limit)) {
        this.seal(acc, key, now, partitionCount);
        acc.createdAtMs = now;
        acc.builder.append(r, now, limit); // the first record of a batch is always taken
      }
      const size = acc.builder.batchBytes;
      if (size > limit) {
        // Only a record that alone exceeds the limit gets here (the batch holds just it): no node would take it.
        acc.builder = this.newBuilder(limit);
        delivery.fail(new RecordTooLargeError(size, limit));
        return;
      }
      this.bufferedBytes += size - acc.trackedBytes;
      acc.trackedBytes = size;
      acc.deliveries.push(delivery);
      acc.slots.push(i);
      if (size >= limit - 64) this.seal(acc, key, now, partitionCount);
    }
    this.armLinger();
  }

  /** Seals the open batch of `acc` and queues it for sending. */
  private seal(acc: Accumulator, key: string, now: number, partitionCount: number): void {
    const b = acc.builder;
    if (b.recordCount === 0) return;
    const recordCount = b.recordCount;
    let sequence: number = NO_SEQUENCE;
    let bytes: Uint8Array;
    if (this.idempotenceActive) {
      // submit() lets no record in before the producer id is known.
      if (this.producerId < 0) throw new Error('idempotent batch sealed without a producer id');
      sequence = acc.nextSequence;
      acc.nextSequence = (sequence + recordCount) % SEQUENCE_MODULUS;
      bytes = b.seal({ producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: sequence });
    } else {
      bytes = b.seal();
    }
    // bufferedBytes counted the open batch; the sealed size must be exactly that.
    if (bytes.byteLength !== acc.trackedBytes)
      throw new Error(`batch size ${bytes.byteLength} != tracked ${acc.trackedBytes}`);
    acc.trackedBytes = 0;
    const batch: ReadyBatch = {
      topic: acc.topic,
      partition: acc.partition,
      key,
      bytes,
      backing: b.lastSealedBuffer,
      recordCount,
      deliveries: acc.deliveries,
      slots: acc.slots,
      sealedAtMs: now,
      attempts: 0,
      backoff: null,
      notBeforeMs: 0,
      sequence,
      ordinal: acc.sealedCount++,
    };
    this.ready.push(batch);
    if (this.idempotenceActive) {
      let list = this.unresolved.get(key);
      if (!list) {
        list = [];
        this.unresolved.set(key, list);
      }
      list.push(batch);
    }
    acc.deliveries = [];
    acc.slots = [];
    this.sticky.onBatchSealed(acc.topic, acc.partition, partitionCount);
    this.schedulePump();
  }

  private sealAll(): void {
    const now = Date.now();
    for (const [key, acc] of this.accumulators) {
      this.seal(acc, key, now, this.client.cachedPartitionCount(acc.topic) ?? 1);
    }
  }

  private armLinger(): void {
    if (this.lingerTimer !== null || this.lingerMicrotask) return;
    if (this.lingerMs === 0) {
      // No timer for linger 0: setTimeout(0) waits at least 1 ms, the whole budget of a one-in-flight
      // send. One microtask still lets every record of the current synchronous burst share a batch.
      this.lingerMicrotask = true;
      queueMicrotask(() => {
        this.lingerMicrotask = false;
        this.onLinger();
      });
      return;
    }
    this.lingerTimer = setTimeout(() => this.onLinger(), this.lingerMs);
  }

  private onLinger(): void {
    this.lingerTimer = null;
    const now = Date.now();
    let open = false;
    for (const [key, acc] of this.accumulators) {
      if (acc.builder.recordCount === 0) continue;
      if (now - acc.createdAtMs >= this.lingerMs) {
        this.seal(acc, key, now, this.client.cachedPartitionCount(acc.topic) ?? 1);
      } else {
        open = true;
      }
    }
    if (open) this.armLinger();
  }

  private newBuilder(limit: number): BatchBuilder {
    // Room for a full batch plus the header prefix, so a steady stream never regrows a buffer.
    return new BatchBuilder({ initialBytes: Math.min(limit, 16 * 1024), capBytes: limit + 128, pool: this.pool });
  }

  private batchBytesMax(): number {
    const server = this.client.serverBatchBytesMax();
    return server === undefined ? this.batchBytesMaxOption : Math.min(this.batchBytesMaxOption, server);
  }

  // ---- sending ----

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // One microtask later: all records of the current synchronous burst get sealed first.
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Groups ready batches by leader and fires requests while nodes and
   * partitions have capacity: one pass builds at most one request per node
   * (one batch per partition), passes repeat while they send something.
   */
  private pump(): void {
    const now = Date.now();
    let earliestRetryMs = Number.POSITIVE_INFINITY;
    // Partitions with a batch that must not be overtaken (waiting to retry, or for metadata).
    const held = new Set<string>();
    for (let pass = 0; this.ready.length > 0 && pass < 64; pass++) {
      const byNode = new Map<number, ReadyBatch[]>();
      const bytesByNode = new Map<number, number>();
      const inRequest = new Set<string>();
      const keep: ReadyBatch[] = [];
      for (const batch of this.ready) {
        if (now - batch.sealedAtMs > this.deliveryTimeoutMs) {
          this.failBatch(batch, new RaftbusError(ErrorCode.REQUEST_TIMED_OUT, { timeoutMs: this.deliveryTimeoutMs }));
          continue;
        }
        if (held.has(batch.key) || inRequest.has(batch.key)) {
          keep.push(batch);
          continue;
        }
        if (batch.notBeforeMs > now) {
          earliestRetryMs = Math.min(earliestRetryMs, batch.notBeforeMs);
          held.add(batch.key);
          keep.push(batch);
          continue;
        }
        if (batch.attempts > 0 && (this.partitionInFlight.get(batch.key) ?? 0) > 0) {
          // A retry goes out alone: whatever of its partition is in flight resolves first (and, if it
          // fails, comes back into the queue in sequence order), so the retry cannot overtake or be overtaken.
          held.add(batch.key);
          keep.push(batch);
          continue;
        }
        const leader = this.client.cachedLeader(batch.topic, batch.partition);
        if (leader === undefined) {
          this.refreshTopic(batch.topic);
          held.add(batch.key);
          keep.push(batch);
          continue;
        }
        const nodeBytes = bytesByNode.get(leader) ?? 0;
        if (
          (this.partitionInFlight.get(batch.key) ?? 0) >= this.partitionInFlightMax ||
          this.beyondDedupWindow(batch) ||
          (this.nodeInFlight.get(leader) ?? 0) >= this.inFlightMax ||
          nodeBytes + batch.bytes.byteLength > this.requestBytesMax
        ) {
          // Nothing of this partition may overtake the batch held here.
          inRequest.add(batch.key);
          keep.push(batch);
          continue;
        }
        inRequest.add(batch.key);
        let list = byNode.get(leader);
        if (!list) {
          list = [];
          byNode.set(leader, list);
        }
        list.push(batch);
        bytesByNode.set(leader, nodeBytes + batch.bytes.byteLength);
      }
      this.ready.length = 0;
      for (const b of keep) this.ready.push(b);
      if (byNode.size === 0) break;
      for (const [node, batches] of byNode) {
        this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 0) + 1);
        for (const b of batches) this.partitionInFlight.set(b.key, (this.partitionInFlight.get(b.key) ?? 0) + 1);
        this.inFlightBatches += batches.length;
        void this.sendRequest(node, batches);
      }
    }
    if (earliestRetryMs !== Number.POSITIVE_INFINITY && this.retryTimer === null) {
      this.retryTimer = setTimeout(
        () => {
          this.retryTimer = null;
          this.pump();
        },
        Math.max(1, earliestRetryMs - now),
      );
    }
    this.checkIdle();
  }

  private refreshTopic(topic: string): void {
    if (this.metadataPending.has(topic)) return;
    this.metadataPending.add(topic);
    const waitMs = (this.metadataRefreshedAtMs.get(topic) ?? 0) + metadataRefreshGapMs - Date.now();
    if (waitMs > 0) {
      setTimeout(() => this.startRefresh(topic), waitMs);
      return;
    }
    this.startRefresh(topic);
  }

  private startRefresh(topic: string): void {
    this.metadataRefreshedAtMs.set(topic, Date.now());
    this.client
      .topic(topic, { refresh: true })
      .catch((err: unknown) => {
        // The topic is gone or unreachable: batches waiting for it fail (or retry if retriable).
        for (const b of this.ready.filter((x) => x.topic === topic)) this.retryOrFail(b, err as Error, true);
      })
      .finally(() => {
        this.metadataPending.delete(topic);
        this.schedulePump();
      });
  }

  private async sendRequest(node: number, batches: ReadyBatch[]): Promise<void> {
    this.counters.requestsSent++;
    const body: ProduceRequest = {
      acks: this.acks as ProduceRequest['acks'],
      timeoutMs: this.requestTimeoutMs,
      partitions: batches.map((b) => ({ topic: b.topic, partition: b.partition, batchBytes: b.bytes.byteLength })),
    };
    const raw = batches.map((b) => b.bytes);
    try {
      const link = await this.client.linkFor(node);
      if (this.acks === Acks.none) {
        const conn = await link.get();
        await conn.sendOnly(ApiKey.Produce, body, raw, { timeoutMs: this.requestTimeoutMs });
        for (const b of batches) this.completeBatch(b, -1);
      } else {
        const res = await link.request<ProduceResponse>(ApiKey.Produce, body, raw, {
          timeoutMs: this.requestTimeoutMs,
        });
        this.onResponse(batches, res.body);
      }
    } catch (err) {
      if (err instanceof ConnectionClosedError || err instanceof TimeoutError) {
        // The leader may be gone: ask another broker who leads now.
        this.client.suspectNode(node, suspectNodeMs);
        for (const b of batches) this.client.invalidateTopic(b.topic);
      }
      // In sequence order, so requeued batches of one partition keep their order.
      for (const b of [...batches].sort((x, y) => x.sequence - y.sequence)) this.retryOrFail(b, err as Error, false);
    } finally {
      this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 1) - 1);
      for (const b of batches) this.partitionInFlight.set(b.key, (this.partitionInFlight.get(b.key) ?? 1) - 1);
      this.inFlightBatches -= batches.length;
      this.pump();
      this.checkIdle();
    }
  }

  private onResponse(batches: ReadyBatch[], res: ProduceResponse): void {
    const results = res?.partitions;
    if (!Array.isArray(results)) throw new ProtocolError('Produce response has no partitions');
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      let r = results[i];
      if (!r || r.topic !== b.topic || r.partition !== b.partition) {
        r = results.find((x) => x.topic === b.topic && x.partition === b.partition);
      }
      if (!r) {
        this.failBatch(b, new ProtocolError(`Produce response lacks ${b.topic}/${b.partition}`));
        continue;
      }
      if (r.error) {
        const err = RaftbusError.fromWire(r.error);
        if (err.is(ErrorCode.DUPLICATE_SEQUENCE) && b.sequence !== NO_SEQUENCE) {
          // An earlier attempt of this very batch was written: resolve with where it went.
          const original = r.baseOffset >= 0 ? r.baseOffset : Number(err.details.baseOffset ?? -1);
          this.completeBatch(b, Number.isSafeInteger(original) && original >= 0 ? original : -1);
          continue;
        }
        if (err.is(ErrorCode.OUT_OF_ORDER_SEQUENCE) && b.sequence !== NO_SEQUENCE) {
          // Retried: while an earlier batch of the partition is unresolved (the gap is its failed
          // attempt), and when the leader is already past this batch (an earlier attempt of it landed
          // while later batches were still being appended: once they settle the leader answers it as
          // a duplicate with its offsets). Bounded by the retry budget like any retry.
          const expected = Number(err.details.expected);
          const landed = b.attempts > 0 && Number.isSafeInteger(expected) && expected > b.sequence;
          this.retryOrFail(b, err, false, this.unresolved.get(b.key)?.[0] !== b || landed);
          continue;
        }
        this.retryOrFail(b, err, false);
        continue;
      }
      if (!(Number.isInteger(r.baseOffset) && r.baseOffset >= 0)) {
        this.failBatch(b, new ProtocolError(`Produce response gave base offset ${r.baseOffset}`));
        continue;
      }
      this.completeBatch(b, r.baseOffset);
    }
  }

  private completeBatch(b: ReadyBatch, baseOffset: number): void {
    const { deliveries, slots, topic, partition } = b;
    for (let i = 0; i < deliveries.length; i++) {
      deliveries[i]!.complete(slots[i]!, topic, partition, baseOffset < 0 ? -1 : baseOffset + i);
    }
    this.counters.recordsSent += b.recordCount;
    this.counters.batchesSent++;
    // With acks none nobody answered: the socket may still hold the bytes, so the buffer is not reused.
    if (baseOffset >= 0 && b.backing) this.pool.release(b.backing);
    b.backing = null;
    this.release(b);
  }

  private failBatch(b: ReadyBatch, err: Error): void {
    for (const d of b.deliveries) d.fail(err);
    this.counters.recordsFailed += b.recordCount;
    this.release(b);
  }

  private retryOrFail(b: ReadyBatch, err: Error, alreadyQueued: boolean, retriable = isRetriable(err)): void {
    const removeQueued = (): void => {
      if (!alreadyQueued) return;
      const i = this.ready.indexOf(b);
      if (i >= 0) this.ready.splice(i, 1);
    };
    if (this.closed && this.client.isClosed) {
      removeQueued();
      this.failBatch(b, err);
      return;
    }
    if (!retriable) {
      removeQueued();
      this.failBatch(b, err);
      return;
    }
    if (!b.backoff) b.backoff = new Backoff(this.retry);
    const delayMs = b.backoff.next();
    const now = Date.now();
    if (delayMs < 0 || now + delayMs - b.sealedAtMs > this.deliveryTimeoutMs) {
      removeQueued();
      this.failBatch(b, err);
      return;
    }
    let waitMs = delayMs;
    if (err instanceof RaftbusError && err.is(ErrorCode.NOT_LEADER)) {
      if (this.client.applyLeaderHint(b.topic, b.partition, err.details.leader)) {
        // A new leader was named: go there now, and refresh the rest of the topic meanwhile.
        waitMs = 0;
        this.refreshTopic(b.topic);
      } else {
        this.client.invalidateTopic(b.topic);
      }
    } else if (err instanceof RaftbusError && err.is(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) {
      this.client.invalidateTopic(b.topic);
    }
    this.counters.retries++;
    b.attempts++;
    b.notBeforeMs = now + waitMs;
    if (!alreadyQueued) this.requeue(b);
    if (waitMs === 0) {
      this.schedulePump();
    } else if (this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, waitMs);
    }
  }

  /**
   * Puts a retried batch back before every queued batch of its partition with
   * a higher sequence (after those with a lower one), so a partition's batches
   * leave in sequence order; with no other batch of its partition queued it
   * goes to the front.
   */
  private requeue(b: ReadyBatch): void {
    let after = -1;
    for (let i = 0; i < this.ready.length; i++) {
      const q = this.ready[i]!;
      if (q.key !== b.key) continue;
      if (b.sequence !== NO_SEQUENCE && q.sequence !== NO_SEQUENCE && q.sequence < b.sequence) {
        after = i;
        continue;
      }
      this.ready.splice(i, 0, b);
      return;
    }
    if (after >= 0) this.ready.splice(after + 1, 0, b);
    else this.ready.unshift(b);
  }

  /**
   * Idempotent: a batch may go out only while the oldest unresolved batch of its partition is among the
   * last `idempotentInFlightMax` batches the leader will have seen, the window it answers duplicates from.
   * Counting requests in flight is not enough: one request carries many partitions and waits for the
   * slowest, so a partition's batch 0 can be written but unanswered while batches 1..8 go through other
   * requests; its retry then falls out of the window and is refused as OUT_OF_ORDER_SEQUENCE for good.
   */
  private beyondDedupWindow(b: ReadyBatch): boolean {
    if (b.sequence === NO_SEQUENCE) return false;
    const oldest = this.unresolved.get(b.key)?.[0];
    return oldest !== undefined && b.ordinal - oldest.ordinal >= idempotentInFlightMax;
  }

  private release(b: ReadyBatch): void {
    if (b.sequence !== NO_SEQUENCE) {
      const list = this.unresolved.get(b.key);
      const i = list ? list.indexOf(b) : -1;
      if (list && i >= 0) {
        list.splice(i, 1);
        if (list.length === 0) this.unresolved.delete(b.key);
      }
    }
    this.bufferedBytes -= b.bytes.byteLength;
    this.unblock();
  }

  private unblock(): void {
    while (this.blocked.length > 0 && this.bufferedBytes < this.bufferBytesMax) {
      this.blocked.shift()!.run();
    }
  }

  private waitUnblocked(signal?: AbortSignal): Promise<void> {
    if (this.blocked.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (signal?.aborted) reject(abortReason(signal, 'flush'));
        else if (this.blocked.length === 0) resolve();
        else setTimeout(check, 1);
      };
      check();
    });
  }

  private isIdle(): boolean {
    if (this.ready.length > 0 || this.inFlightBatches > 0) return false;
    for (const acc of this.accumulators.values()) if (acc.builder.recordCount > 0) return false;
    return true;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

export type { RecordMetadata };
