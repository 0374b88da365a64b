/**
 * The broker's handlers, called directly over memory logs: catalogue rules,
 * produce and fetch semantics (long-poll, byte limits, ranges), list offsets,
 * delete, and the durable catalogue.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultNodeConfig, type NodeConfig } from '../config.ts';
import { OffsetSpec } from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import { silentLogger } from '../server/logger.ts';
import { decodeBatch, encodeBatch, splitBatches } from '../storage/batch.ts';
import { MemoryLog } from '../storage/memory-log.ts';
import { Broker, type LogOpener } from './broker.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { LocalPartition, type Partition, requireLeader } from './partition.ts';
import { CatalogueError } from './topic-store.ts';

let dir: string;
let broker: Broker | null = null;
/** Memory logs by directory, so a reopened broker sees the same data (a stand-in for the disk). */
let logs: Map<string, MemoryLog>;

const openLog: LogOpener = async (d, config) => {
  let log = logs.get(d);
  if (!log) {
    log = new MemoryLog(config);
    logs.set(d, log);
  }
  return log;
};

function config(overrides: Partial<NodeConfig> = {}): NodeConfig {
  return { ...defaultNodeConfig(), port: 0, dataDir: dir, logLevel: 'silent', ...overrides };
}

async function open(overrides: Partial<NodeConfig> = {}): Promise<Broker> {
  broker = await Broker.open({
    config: config(overrides),
    openLog,
    logger: silentLogger,
    self: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }),
  });
  return broker;
}

function batch(values: string[], timestampMs = Date.now()): Uint8Array {
  return encodeBatch(
    values.map((v) => ({ value: v })),
    undefined,
    timestampMs,
  );
}

async function produce(b: Broker, topic: string, partition: number, data: Uint8Array) {
  const r = await b.produce(
    { acks: 1, timeoutMs: 5000, partitions: [{ topic, partition, batchBytes: data.byteLength }] },
    data,
  );
  return r.partitions[0]!;
}

function fetchReq(
  topic: string,
  partition: number,
  offset: number,
  extra: Partial<{ maxWaitMs: number; minBytes: number; maxBytes: number; partMaxBytes: number }> = {},
) {
  return {
    maxWaitMs: extra.maxWaitMs ?? 0,
    minBytes: extra.minBytes ?? 0,
    maxBytes: extra.maxBytes ?? 1 << 20,
    partitions: [{ topic, partition, offset, maxBytes: extra.partMaxBytes ?? 1 << 20 }],
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftbus-broker-'));
  logs = new Map();
});

afterEach(async () => {
  await broker?.close();
  broker = null;
  await rm(dir, { recursive: true, force: true });
});

describe('topic catalogue', () => {
  it('answers each create with its own typed error', async () => {
    const b = await open({ partitionsPerTopicMax: 8 });
    const r = await b.createTopics({
      topics: [
        { name: 'good', partitions: 2 },
        { name: 'good', partitions: 1 },
        { name: 'bad/name', partitions: 1 },
        { name: 'zero', partitions: 0 },
        { name: 'many', partitions: 9 },
        { name: 'rf', partitions: 1, replicationFactor: 3 },
        { name: 'cfg', partitions: 1, config: { segmentBytes: 10 } },
        { name: 'cfg2', partitions: 1, config: { maxBatchBytes: 1 << 30 } },
      ],
    });
    expect(r.topics.map((x) => x.error?.code ?? 0)).toEqual([
      0,
      ErrorCode.TOPIC_ALREADY_EXISTS.code,
      ErrorCode.INVALID_TOPIC.code,
      ErrorCode.INVALID_PARTITIONS.code,
      ErrorCode.INVALID_PARTITIONS.code,
      ErrorCode.INVALID_REPLICATION_FACTOR.code,
      ErrorCode.INVALID_CONFIG.code,
      ErrorCode.INVALID_CONFIG.code,
    ]);
    expect(b.topicNames()).toEqual(['good']);
    const again = await b.createTopics({ topics: [{ name: 'good', partitions: 1 }] });
    expect(again.topics[0]!.error?.code).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code);
  });

  it('bounds topics and partitions per node', async () => {
    const b = await open({ topicsMax: 3, partitionsMax: 5 });
    const r = await b.createTopics({
      topics: [
        { name: 'a', partitions: 2 },
        { name: 'b', partitions: 4 },
        { name: 'c', partitions: 3 },
        { name: 'd', partitions: 1 },
      ],
    });
    expect(r.topics.map((x) => x.error?.code ?? 0)).toEqual([
      0,
      ErrorCode.INVALID_REQUEST.code,
      0,
      ErrorCode.INVALID_REQUEST.code,
    ]);
    expect(b.partitionCount()).toBe(5);
  });

  it('validateOnly checks without creating', async () => {
    const b = await open();
    const r = await b.createTopics({ topics: [{ name: 'dry', partitions: 1 }], validateOnly: true });
    expect(r.topics[0]!.error).toBeNull();
    expect(b.topicNames()).toEqual([]);
  });

  it('writes the catalogue durably and removes directories it does not list', async () => {
    let b = await open();
    await b.createTopics({ topics: [{ name: 'kept', partitions: 2, config: { retentionMs: 5000 } }] });
    const stored = JSON.parse(await readFile(join(dir, 'meta', 'topics.json'), 'utf8'));
    expect(stored.topics).toMatchObject([{ name: 'kept', partitions: 2, config: { retentionMs: 5000 } }]);
    await b.close();
    // A directory left by a create that crashed before its catalogue write.
    await mkdir(join(dir, 'topics', 'orphan', '0'), { recursive: true });
    b = await open();
    expect(b.topicNames()).toEqual(['kept']);
    expect((await readdir(join(dir, 'topics'))).sort()).toEqual(['kept']);
    expect(b.describeTopics({ topics: ['kept'] }).topics[0]!.config?.retentionMs).toBe(5000);
  });

  it('deletes a topic: unknown afterwards, directory gone, name reusable', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 'd', partitions: 1 }] });
    await produce(b, 'd', 0, batch(['x']));
    const r = await b.deleteTopics({ topics: ['d', 'never'] });
    expect(r.topics.map((x) => x.error?.code ?? 0)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code]);
    expect((await produce(b, 'd', 0, batch(['y']))).error?.code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code);
    expect(await readdir(join(dir, 'topics'))).toEqual([]);
    logs.clear();
    await b.createTopics({ topics: [{ name: 'd', partitions: 1 }] });
    expect((await produce(b, 'd', 0, batch(['z']))).baseOffset).toBe(0);
  });

  it('metadata lists this node as leader of everything and flags unknown topics', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 'm', partitions: 2 }] });
    const md = b.metadata({ topics: ['m', 'nope', '..'] });
    expect(md.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }]);
    expect(md.topics[0]!.partitions).toEqual([
      { partition: 0, leader: 1, replicas: [1], isr: [1], error: null },
      { partition: 1, leader: 1, replicas: [1], isr: [1], error: null },
    ]);
    expect(md.topics[1]!.error?.code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code);
    expect(md.topics[2]!.error?.code).toBe(ErrorCode.INVALID_TOPIC.code);
    expect(b.listTopics()).toEqual({ topics: [{ name: 'm', partitions: 2 }] });
  });
});

describe('data directory', () => {
  it('refuses a second broker on the same directory until the first closes', async () => {
    const b = await open();
    await expect(
      Broker.open({
        config: config(),
        openLog,
        logger: silentLogger,
        self: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }),
      }),
    ).rejects.toThrow(DataDirLockedError);
    await b.close();
    await open();
  });

  it('takes over a lock left by a process that is gone', async () => {
    await writeFile(join(dir, 'LOCK'), '999999999\n');
    await open();
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
  });
});

describe('produce and fetch', () => {
  it('assigns consecutive offsets and reads whole batches back', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    expect((await produce(b, 't', 0, batch(['a', 'b', 'c']))).baseOffset).toBe(0);
    expect((await produce(b, 't', 0, batch(['d']))).baseOffset).toBe(3);
    // Fetching from the middle of a batch returns that whole batch.
    const r = await b.fetch(fetchReq('t', 0, 1));
    const values = r.raw
      .flatMap((c) => splitBatches(c))
      .flatMap((x) => decodeBatch(x))
      .map((x) => Buffer.from(x.value).toString());
    expect(values).toEqual(['a', 'b', 'c', 'd']);
    expect(r.body.partitions[0]).toMatchObject({ highWatermark: 4, logStartOffset: 0, error: null });
  });

  it('appends the batches of one request to one partition in order', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    const parts = [batch(['1']), batch(['2', '3']), batch(['4'])];
    const raw = Buffer.concat(parts);
    const r = await b.produce(
      {
        acks: 1,
        timeoutMs: 1000,
        partitions: parts.map((p) => ({ topic: 't', partition: 0, batchBytes: p.byteLength })),
      },
      raw,
    );
    expect(r.partitions.map((p) => p.baseOffset)).toEqual([0, 1, 3]);
  });

  it('respects per-partition and total maxBytes but always returns one batch to make progress', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 2 }] });
    for (let i = 0; i < 5; i++) await produce(b, 't', 0, batch([`v${i}`.repeat(50)]));
    for (let i = 0; i < 5; i++) await produce(b, 't', 1, batch([`w${i}`.repeat(50)]));
    const one = await b.fetch(fetchReq('t', 0, 0, { partMaxBytes: 1 }));
    expect(splitBatches(Buffer.concat(one.raw))).toHaveLength(1);
    const size = one.body.partitions[0]!.bytes;
    const two = await b.fetch({
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: size * 3,
      partitions: [
        { topic: 't', partition: 0, offset: 0, maxBytes: size * 2 },
        { topic: 't', partition: 1, offset: 0, maxBytes: size * 5 },
      ],
    });
    expect(two.body.partitions.map((p) => p.bytes)).toEqual([size * 2, size]);
  });

  it('long-polls until minBytes arrive, woken by the append', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    const startedMs = Date.now();
    const pending = b.fetch(fetchReq('t', 0, 0, { maxWaitMs: 20_000, minBytes: 1 }));
    await produce(b, 't', 0, batch(['late']));
    const r = await pending;
    expect(r.body.partitions[0]!.bytes).toBeGreaterThan(0);
    expect(Date.now() - startedMs).toBeLessThan(10_000);
  });

  it('keeps waiting while appends stay below minBytes, and answers once they reach it', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    const small = batch(['s']);
    let answered = false;
    const pending = b.fetch(fetchReq('t', 0, 0, { maxWaitMs: 20_000, minBytes: small.byteLength * 3 })).then((r) => {
      answered = true;
      return r;
    });
    await produce(b, 't', 0, batch(['s']));
    await produce(b, 't', 0, batch(['s']));
    await b.listTopics();
    expect(answered).toBe(false);
    await produce(b, 't', 0, batch(['s']));
    const r = await pending;
    expect(r.body.partitions[0]!.bytes).toBe(small.byteLength * 3);
  });

  it('a long-poll with nothing to read returns empty at its deadline', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    const startedMs = Date.now();
    const r = await b.fetch(fetchReq('t', 0, 0, { maxWaitMs: 50, minBytes: 1 }));
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(45);
    expect(r.body.partitions[0]).toMatchObject({ error: null, bytes: 0, highWatermark: 0 });
  });

  it('ends a long-poll when its connection goes away', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    const ac = new AbortController();
    const pending = b.fetch(fetchReq('t', 0, 0, { maxWaitMs: 60_000, minBytes: 1 }), ac.signal);
    ac.abort();
    expect((await pending).body.partitions[0]!.bytes).toBe(0);
    // The long-poll left no listener behind.
    expect(b.partitionOf({ topic: 't', partition: 0 }).partition.appended.listenerCount).toBe(0);
  });

  it('answers OFFSET_OUT_OF_RANGE outside [logStart, end] and empty at the end', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    await produce(b, 't', 0, batch(['a', 'b']));
    expect((await b.fetch(fetchReq('t', 0, 3))).body.partitions[0]!.error?.code).toBe(
      ErrorCode.OFFSET_OUT_OF_RANGE.code,
    );
    expect((await b.fetch(fetchReq('t', 0, 2))).body.partitions[0]).toMatchObject({ error: null, bytes: 0 });
  });

  it('lists earliest, latest and by-timestamp offsets', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    await produce(b, 't', 0, batch(['a', 'b'], 1_000));
    await produce(b, 't', 0, batch(['c'], 2_000));
    const r = await b.listOffsets({
      partitions: [
        { topic: 't', partition: 0, timestamp: OffsetSpec.earliest },
        { topic: 't', partition: 0, timestamp: OffsetSpec.latest },
        { topic: 't', partition: 0, timestamp: 1_500 },
        { topic: 't', partition: 0, timestamp: 9_000 },
        { topic: 'x', partition: 0, timestamp: 0 },
      ],
    });
    expect(r.partitions.map((p) => p.offset)).toEqual([0, 3, 2, -1, -1]);
    expect(r.partitions[4]!.error?.code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code);
  });

  it('refuses produce after shutdown begins', async () => {
    const b = await open();
    await b.createTopics({ topics: [{ name: 't', partitions: 1 }] });
    b.beginShutdown();
    expect((await produce(b, 't', 0, batch(['a']))).error?.code).toBe(ErrorCode.SHUTTING_DOWN.code);
  });
});

describe('retention', () => {
  it('runs over every partition and drops old segments', async () => {
    const b = await open({ segmentBytes: 4096, batchBytesMax: 1024 });
    await b.createTopics({ topics: [{ name: 't', partitions: 1, config: { retentionMs: 1000 } }] });
    for (let i = 0; i < 40; i++) await produce(b, 't', 0, batch(['x'.repeat(500)], 1_000));
    await b.runRetention(Date.now() + 10_000);
    const p = b.describeTopics({ topics: ['t'] }).topics[0]!.partitions[0]!;
    expect(p.logStartOffset).toBeGreaterThan(0);
    expect(p.highWatermark).toBe(40);
  });
});

describe('periodic retention', () => {
  it('runs on its own timer', async () => {
    const b = await open({ segmentBytes: 4096, batchBytesMax: 1024, retentionCheckIntervalMs: 10 });
    await b.createTopics({ topics: [{ name: 't', partitions: 1, config: { retentionBytes: 4096 } }] });
    for (let i = 0; i < 40; i++) await produce(b, 't', 0, batch(['x'.repeat(500)]));
    b.startRetention();
    const start = (): number => b.describeTopics({ topics: ['t'] }).topics[0]!.partitions[0]!.logStartOffset;
    const deadline = Date.now() + 10_000;
    while (start() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(start()).toBeGreaterThan(0);
  });
});

describe('leadership', () => {
  it('answers NOT_LEADER with the leader hint for a partition led elsewhere', () => {
    const follower = { topic: 't', partition: 3, isLeader: false, leaderId: 2 } as Partition;
    let caught: unknown;
    try {
      requireLeader(follower);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RaftbusError);
    expect((caught as RaftbusError).is(ErrorCode.NOT_LEADER)).toBe(true);
    expect((caught as RaftbusError).details).toMatchObject({ leader: 2, topic: 't', partition: 3 });
  });

  it('routes produce, fetch and list offsets on a follower partition to NOT_LEADER, and metadata names its leader', async () => {
    // Partition 1 of every topic is led by node 2: what a replicated partition on a follower looks like.
    class FollowerPartition extends LocalPartition {
      override readonly isLeader = false;
      override readonly leaderId = 2;
    }
    broker = await Broker.open({
      config: config(),
      openLog,
      logger: silentLogger,
      self: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }),
      makePartition: (topic, partition, log) =>
        partition === 1
          ? new FollowerPartition(topic, partition, 1, log)
          : new LocalPartition(topic, partition, 1, log),
    });
    const b = broker;
    await b.createTopics({ topics: [{ name: 't', partitions: 2 }] });
    const notLeader = ErrorCode.NOT_LEADER.code;
    const p = await produce(b, 't', 1, batch(['x']));
    expect(p.error).toMatchObject({ code: notLeader, details: { leader: 2 } });
    expect((await produce(b, 't', 0, batch(['x']))).error).toBeNull();
    expect((await b.fetch(fetchReq('t', 1, 0))).body.partitions[0]!.error?.code).toBe(notLeader);
    const lo = await b.listOffsets({ partitions: [{ topic: 't', partition: 1, timestamp: OffsetSpec.latest }] });
    expect(lo.partitions[0]!.error?.code).toBe(notLeader);
    expect(b.metadata({ topics: ['t'] }).topics[0]!.partitions.map((x) => x.leader)).toEqual([1, 2]);
  });
});

describe('catalogue corruption', () => {
  it('refuses to start on an unreadable catalogue and releases the data dir', async () => {
    await mkdir(join(dir, 'meta'), { recursive: true });
    await writeFile(join(dir, 'meta', 'topics.json'), '{"version":1,"topics":[{"name":"..","partitions":1}]}');
    await expect(open()).rejects.toThrow(CatalogueError);
    await writeFile(join(dir, 'meta', 'topics.json'), '{"version":1,"topics":[]}');
    await open();
  });
});
