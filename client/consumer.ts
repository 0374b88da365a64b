/**
 * Consumer: reads one partition, some, or all partitions of a topic from an
 * offset, as an async iterable of records or of whole decoded batches.
 *
 * Backpressure: a fetch is issued only when the consumer pulls; at most one
 * fetch per leader node is prefetched while the current one's records are
 * being consumed, so the buffer is bounded by fetchBytesMax per node (two
 * responses). Fetches long-poll (maxWaitMs, minBytes), so an idle consumer
 * costs one request per maxWaitMs.
 */
import { ApiKey, type FetchRequest, type FetchResponse } from '../node/protocol/api.ts';
import { ErrorCode, RaftbusError } from '../node/protocol/errors.ts';
import { Attributes, decodeBatch, HEADER_BYTES, readBatchHeader, type StoredRecord } from '../node/storage/batch.ts';
import { Admin } from './admin.ts';
import { Backoff, sleep } from './backoff.ts';
import type { CallOptions, RaftbusClient } from './client.ts';
import { abortReason, ClientConfigError, ConnectionClosedError, isRetriable, ProtocolError } from './errors.ts';

export type StartOffset = 'earliest' | 'latest' | number;

export interface ConsumerOptions {
  topic: string;
  /** Partitions to read; default all partitions of the topic. */
  partitions?: number[];
  /** Where to start: 'earliest', 'latest', an offset for every partition, or per partition. */
  from?: StartOffset | Record<number, StartOffset>;
  /** Long-poll wait when there is less than minBytes to return. */
  maxWaitMs?: number;
  minBytes?: number;
  /** Bytes at most per fetch response. */
  fetchBytesMax?: number;
  /** Bytes at most per partition in one fetch (at least one whole batch is returned). */
  partitionBytesMax?: number;
  /** What to do when the position fell out of the log (retention): jump, or throw. */
  onOutOfRange?: 'earliest' | 'latest' | 'error';
}

export interface ConsumedRecord extends StoredRecord {
  topic: string;
  partition: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** Records at or after the consumer's position, in offset order (may be empty only never: empty batches are skipped). */
  records: ConsumedRecord[];
  /** The partition's committed end at fetch time. */
  highWatermark: number;
}

export const consumerDefaults = {
  from: 'latest' as StartOffset,
  maxWaitMs: 500,
  minBytes: 1,
  fetchBytesMax: 8 * 1024 * 1024,
  partitionBytesMax: 2 * 1024 * 1024,
  onOutOfRange: 'error' as const,
};

interface FetchedPartition {
  partition: number;
  chunks: Uint8Array[];
  highWatermark: number;
  /** Where the consumer stood when the fetch was made. */
  fromOffset: number;
}

export class Consumer {
  readonly topic: string;
  private readonly client: RaftbusClient;
  private readonly options: ConsumerOptions;
  private readonly positions = new Map<number, number>();
  private readonly lag = new Map<number, number>();
  private initialized = false;
  /** Retriable errors waited out by the iteration (elections, restarts): for metrics and tests. */
  retriableErrors = 0;

  constructor(client: RaftbusClient, options: ConsumerOptions) {
    if (!options || typeof options.topic !== 'string' || options.topic.length === 0) {
      throw new ClientConfigError('consumer needs a topic');
    }
    this.client = client;
    this.options = options;
    this.topic = options.topic;
  }

  /** The next offset the consumer will return for a partition. */
  position(partition: number): number | undefined {
    return this.positions.get(partition);
  }

  /** Records left between the position and the high watermark at the last fetch, per partition. */
  lagOf(partition: number): number | undefined {
    return this.lag.get(partition);
  }

  /** Moves a partition's position (takes effect at the next fetch). */
  seek(partition: number, offset: number): void {
    if (!(Number.isInteger(offset) && offset >= 0)) throw new RangeError(`bad offset ${offset}`);
    this.positions.set(partition, offset);
  }

  /** Resolves the start positions (done lazily by the iterators). */
  async init(options: CallOptions = {}): Promise<void> {
    if (this.initialized) return;
    const info = await this.client.topic(this.topic, options);
    const partitions = this.options.partitions ?? info.partitions.map((p) => p.partition);
    for (const p of partitions) {
      if (!info.partitions[p])
        throw new RaftbusError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: this.topic, partition: p });
    }
    const from = this.options.from ?? consumerDefaults.from;
    const startOf = (p: number): StartOffset => (typeof from === 'object' ? (from[p] ?? consumerDefaults.from) : from);
    const admin = new Admin(this.client);
    for (const kind of ['earliest', 'latest'] as const) {
      const want = partitions.filter((p) => startOf(p) === kind && !this.positions.has(p));
      if (want.length === 0) continue;
      const offsets = await admin.listOffsets(this.topic, kind, { ...options, partitions: want });
      for (const o of offsets) this.positions.set(o.partition, o.offset);
    }
    for (const p of partitions) {
      const s = startOf(p);
      if (typeof s === 'number' && !this.positions.has(p)) {
        if (!(Number.isInteger(s) && s >= 0))
          throw new ClientConfigError(`start offset must be a non-negative integer, got ${s}`);
        this.positions.set(p, s);
      }
    }
    this.initialized = true;
  }

  /** Records one by one, in offset order per partition. Ends only when the signal aborts or the client closes. */
  async *records(options: CallOptions = {}): AsyncGenerator<ConsumedRecord> {
    for await (const batch of this.batches(options)) {
      for (const r of batch.records) yield r;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<ConsumedRecord> {
    return this.records();
  }

  /** Decoded batches; the position of a partition advances past a batch when it is yielded. */
  async *batches(options: CallOptions = {}): AsyncGenerator<ConsumedBatch> {
    const controller = new AbortController();
    const signals = [controller.signal, this.client.closeSignal];
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    try {
      let next: Promise<FetchedPartition[]> | null = null;
      // A consumer outlives elections and node restarts: a retriable error that outlasted the client's own
      // retry budget is waited out here (growing pause up to 1 s), never ended on. Others end the iteration.
      const outage = new Backoff({ delayMsMin: 50, delayMsMax: 1_000, attemptsMax: Number.MAX_SAFE_INTEGER });
      for (;;) {
        if (signal.aborted) return;
        const fetchStartedMs = Date.now();
        let fetched: FetchedPartition[];
        try {
          if (!this.initialized) await this.init({ signal });
          fetched = await (next ?? this.fetchOnce(signal));
        } catch (err) {
          next = null;
          if (signal.aborted || !isRetriable(err)) throw err;
          this.retriableErrors++;
          await sleep(outage.next(), signal);
          continue;
        }
        outage.reset();
        next = null;
        if (!fetched.some((f) => f.chunks.length > 0)) {
          // Nothing came back before maxWaitMs: a node that answers an empty fetch early (or
          // maxWaitMs 0) must not turn this loop into a busy poll; at most one fetch per 100 ms.
          const waitMs = Math.max(10, this.options.maxWaitMs ?? consumerDefaults.maxWaitMs);
          const idleMs = Math.min(100, waitMs - (Date.now() - fetchStartedMs));
          if (idleMs > 0) await sleep(idleMs, signal);
          continue;
        }
        // Prefetch: the positions after this response are known from the batch headers alone.
        const after = new Map(this.positions);
        for (const f of fetched) {
          const last = f.chunks.at(-1);
          if (last) {
            const h = readBatchHeader(last);
            after.set(f.partition, Math.max(f.fromOffset, h.baseOffset + h.recordCount));
          }
        }
        if (fetched.some((f) => f.chunks.length > 0)) {
          next = this.fetchOnce(signal, after);
          next.catch(() => {}); // observed when awaited; avoid an unhandled rejection if we stop first
        }
        for (const f of fetched) {
          for (const chunk of f.chunks) {
            const position = this.positions.get(f.partition) ?? 0;
            const header = readBatchHeader(chunk);
            if ((header.attributes & Attributes.control) !== 0) {
              // Control batches (e.g. transaction markers) take offsets but are no records: step over.
              const end = header.baseOffset + header.recordCount;
              if (end > position) this.positions.set(f.partition, end);
              continue;
            }
            const stored = decodeBatch(chunk);
            const records: ConsumedRecord[] = [];
            for (const r of stored) {
              if (r.offset < position) continue; // the first batch may start before the position
              const c = r as ConsumedRecord;
              c.topic = this.topic;
              c.partition = f.partition;
              records.push(c);
            }
            if (records.length === 0) continue;
            this.positions.set(f.partition, records.at(-1)!.offset + 1);
            this.lag.set(f.partition, Math.max(0, f.highWatermark - records.at(-1)!.offset - 1));
            yield { topic: this.topic, partition: f.partition, records, highWatermark: f.highWatermark };
          }
        }
      }
    } catch (err) {
      if (signal.aborted && !controller.signal.aborted) {
        // The caller stopped us, or the client closed: a clean end of the iteration.
        if (options.signal?.aborted || this.client.closeSignal.aborted) return;
        throw abortReason(signal, 'consume');
      }
      throw err;
    } finally {
      controller.abort();
    }
  }

  /** One fetch per leader node, in parallel, for the given positions. */
  private async fetchOnce(
    signal: AbortSignal,
    positions: Map<number, number> = this.positions,
  ): Promise<FetchedPartition[]> {
    return this.client.withRetry(
      async () => {
        const byNode = new Map<number, number[]>();
        await this.client.topic(this.topic, { signal });
        for (const p of positions.keys()) {
          const leader = this.client.cachedLeader(this.topic, p);
          if (leader === undefined) {
            await this.client.refreshMetadata([this.topic], { signal });
          }
          const l = this.client.cachedLeader(this.topic, p) ?? -1;
          let list = byNode.get(l);
          if (!list) {
            list = [];
            byNode.set(l, list);
          }
          list.push(p);
        }
        const perNode = await Promise.all(
          [...byNode].map(([node, parts]) => this.fetchFromNode(node, parts, positions, signal)),
        );
        return perNode.flat();
      },
      { signal },
    );
  }

  private async fetchFromNode(
    node: number,
    partitions: number[],
    positions: Map<number, number>,
    signal: AbortSignal,
  ): Promise<FetchedPartition[]> {
    const o = this.options;
    const maxWaitMs = o.maxWaitMs ?? consumerDefaults.maxWaitMs;
    const link =
      node < 0
        ? await this.client.leaderLink(this.topic, partitions[0]!, { signal })
        : await this.client.linkFor(node, { signal });
    const body: FetchRequest = {
      maxWaitMs,
      minBytes: o.minBytes ?? consumerDefaults.minBytes,
      maxBytes: o.fetchBytesMax ?? consumerDefaults.fetchBytesMax,
      partitions: partitions.map((p) => ({
        topic: this.topic,
        partition: p,
        offset: positions.get(p)!,
        maxBytes: o.partitionBytesMax ?? consumerDefaults.partitionBytesMax,
      })),
    };
    const res = await link
      .request<FetchResponse>(ApiKey.Fetch, body, [], {
        signal,
        timeoutMs: maxWaitMs + (this.client.options.requestTimeoutMs ?? 30_000),
      })
      .catch((err: unknown) => {
        if (err instanceof ConnectionClosedError && node >= 0) {
          // The leader may be gone: the retry's metadata comes from another broker.
          this.client.suspectNode(node);
          this.client.invalidateTopic(this.topic);
        }
        throw err;
      });
    const results = res.body.partitions;
    if (!Array.isArray(results)) throw new ProtocolError('Fetch response has no partitions');
    const out: FetchedPartition[] = [];
    let at = 0;
    for (const r of results) {
      const bytes = r.bytes ?? 0;
      if (at + bytes > res.raw.byteLength)
        throw new ProtocolError('Fetch response raw section is shorter than announced');
      const data = res.raw.subarray(at, at + bytes);
      at += bytes;
      const fromOffset = positions.get(r.partition) ?? 0;
      if (r.error) {
        const err = RaftbusError.fromWire(r.error);
        if (err.is(ErrorCode.OFFSET_OUT_OF_RANGE)) {
          await this.onOutOfRange(r.partition, err, signal);
          out.push({ partition: r.partition, chunks: [], highWatermark: r.highWatermark, fromOffset });
          continue;
        }
        const hinted =
          err.is(ErrorCode.NOT_LEADER) && this.client.applyLeaderHint(this.topic, r.partition, err.details.leader);
        if (!hinted && (err.is(ErrorCode.NOT_LEADER) || err.is(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)))
          this.client.invalidateTopic(this.topic);
        if (isRetriable(err) && !hinted) await sleep(50, signal);
        throw err;
      }
      out.push({ partition: r.partition, chunks: splitWhole(data), highWatermark: r.highWatermark, fromOffset });
    }
    return out;
  }

  private async onOutOfRange(partition: number, err: RaftbusError, signal: AbortSignal): Promise<void> {
    const policy = this.options.onOutOfRange ?? consumerDefaults.onOutOfRange;
    if (policy === 'error') throw err;
    const [o] = await new Admin(this.client).listOffsets(this.topic, policy, { signal, partitions: [partition] });
    if (o) this.positions.set(partition, o.offset);
  }
}

/** Splits back-to-back batches; a trailing partial batch (a server cut at maxBytes) is dropped, not an error. */
function splitWhole(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (buf.byteLength - at >= HEADER_BYTES) {
    const h = readBatchHeader(buf, at);
    if (at + h.batchBytes > buf.byteLength) break;
    out.push(buf.subarray(at, at + h.batchBytes));
    at += h.batchBytes;
  }
  return out;
}
