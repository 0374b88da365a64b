import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../node/protocol/errors.ts';
import { Admin } from './admin.ts';
import { RaftbusClient } from './client.ts';
import { type ConsumedRecord, Consumer } from './consumer.ts';
import { Producer } from './producer.ts';
import { FakeServer } from './test-support/fake-server.ts';

let server: FakeServer;
let client: RaftbusClient;

beforeEach(async () => {
  server = await FakeServer.start();
  server.createTopic('t', 3);
  client = new RaftbusClient({ brokers: [server.address] });
  await client.connect();
});
afterEach(async () => {
  await client.close();
  await server.stop();
});

async function produce(n: number, batchBytesMax = 2048): Promise<void> {
  const producer = new Producer(client, { lingerMs: 1, batchBytesMax });
  await producer.sendBatch(
    't',
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  );
  await producer.close();
}

/** Takes `n` records from the consumer, then stops it; bounded by a timeout. */
async function take(consumer: Consumer, n: number, timeoutMs = 10_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  if (n === 0) return out;
  for await (const r of consumer.records({ signal: AbortSignal.timeout(timeoutMs) })) {
    out.push(r);
    if (out.length >= n) break;
  }
  return out;
}

describe('Consumer', () => {
  it('reads every record of every partition from earliest, once, in offset order', async () => {
    await produce(3000);
    const consumer = new Consumer(client, { topic: 't', from: 'earliest', maxWaitMs: 50, partitionBytesMax: 4096 });
    const records = await take(consumer, 3000);
    expect(records).toHaveLength(3000);
    const seen = new Set(records.map((r) => Buffer.from(r.value).toString()));
    expect(seen.size).toBe(3000);
    for (let p = 0; p < 3; p++) {
      const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
      expect(consumer.position(p)).toBe(offsets.length);
    }
  });

  it('waits out an election longer than the client retry budget instead of ending the iteration', async () => {
    await produce(300);
    const fast = new RaftbusClient({
      brokers: [server.address],
      retry: { delayMsMin: 1, delayMsMax: 2, attemptsMax: 2 },
    });
    try {
      const consumer = new Consumer(fast, { topic: 't', from: 'earliest', maxWaitMs: 50 });
      // Far more failed fetches than the client's withRetry gives one call (3 attempts).
      server.fault.fetchError = { spec: ErrorCode.NOT_LEADER, count: 12 };
      const records = await take(consumer, 300);
      expect(records).toHaveLength(300);
      expect(server.fault.fetchError.count).toBe(0);
      expect(consumer.retriableErrors).toBeGreaterThan(0);
    } finally {
      await fast.close();
    }
  });

  it('a partition with no leader yet: the retry asks the metadata again instead of trusting the cached answer', async () => {
    server.moveLeader('t', 1, -1);
    await client.topic('t', { refresh: true }); // cached: "partition 1: no leader" (a topic just created)
    setTimeout(() => server.moveLeader('t', 1, server.nodeId), 150);
    const offsets = await new Admin(client).listOffsets('t', 'latest', { partitions: [1] });
    expect(offsets).toEqual([{ topic: 't', partition: 1, offset: 0 }]);
  });

  it('a non-retriable error still ends the iteration', async () => {
    await produce(10);
    const consumer = new Consumer(client, { topic: 't', from: 'earliest', maxWaitMs: 50 });
    server.fault.fetchError = { spec: ErrorCode.INVALID_REQUEST, count: 1 };
    await expect(take(consumer, 10)).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST.code });
  });

  it('starts inside a batch by skipping the records below the offset', async () => {
    const producer = new Producer(client, { lingerMs: 50 });
    await producer.sendBatch(
      't',
      Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 1 })),
    );
    await producer.close();
    expect(server.topics.get('t')!.partitions[1]!.batches).toHaveLength(1);
    const consumer = new Consumer(client, { topic: 't', partitions: [1], from: 7, maxWaitMs: 20 });
    const records = await take(consumer, 3);
    expect(records.map((r) => r.offset)).toEqual([7, 8, 9]);
    expect(records.map((r) => Buffer.from(r.value).toString())).toEqual(['v7', 'v8', 'v9']);
  });

  it('from latest sees only records produced after it started (long poll)', async () => {
    await produce(100);
    const consumer = new Consumer(client, { topic: 't', partitions: [0], from: 'latest', maxWaitMs: 2_000 });
    await consumer.init();
    const start = consumer.position(0)!;
    const got = take(consumer, 1);
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send('t', { value: 'fresh', partition: 0 });
    const [r] = await got;
    expect(Buffer.from(r!.value).toString()).toBe('fresh');
    expect(r!.offset).toBe(start);
    await producer.close();
  });

  it('batches() yields decoded batches and keeps fetching only when pulled', async () => {
    await produce(600, 1024);
    const consumer = new Consumer(client, {
      topic: 't',
      partitions: [0],
      from: 'earliest',
      maxWaitMs: 20,
      partitionBytesMax: 1024,
    });
    const it = consumer.batches();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(first.value!.records.length).toBeGreaterThan(0);
    const fetchesAfterFirst = server.requestCounts.get(7) ?? 0;
    await new Promise((r) => setTimeout(r, 100));
    // Not pulled: at most the one prefetch went out meanwhile.
    expect((server.requestCounts.get(7) ?? 0) - fetchesAfterFirst).toBeLessThanOrEqual(1);
    await it.return(undefined);
  });

  it('ends cleanly when its signal aborts', async () => {
    const consumer = new Consumer(client, { topic: 't', from: 'latest', maxWaitMs: 5_000 });
    const ac = new AbortController();
    const done = (async () => {
      let n = 0;
      for await (const _ of consumer.records({ signal: ac.signal })) n++;
      return n;
    })();
    await consumer.init();
    ac.abort();
    expect(await done).toBe(0);
  });

  it('throws OFFSET_OUT_OF_RANGE, or jumps when asked to', async () => {
    await produce(10);
    const strict = new Consumer(client, { topic: 't', partitions: [0], from: 1_000, maxWaitMs: 10 });
    await expect(take(strict, 1)).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    const lenient = new Consumer(client, {
      topic: 't',
      partitions: [0],
      from: 1_000,
      maxWaitMs: 10,
      onOutOfRange: 'earliest',
    });
    const [r] = await take(lenient, 1);
    expect(r!.offset).toBe(0);
  });
});

describe('Admin', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const admin = new Admin(client);
    await admin.createTopics([{ name: 'a', partitions: 2 }]);
    await expect(admin.createTopics([{ name: 'a', partitions: 2 }])).rejects.toMatchObject({
      errorName: 'TOPIC_ALREADY_EXISTS',
    });
    await admin.createTopics([{ name: 'a', partitions: 2 }], { ignoreExisting: true });
    expect(await admin.listTopics()).toEqual([
      { name: 'a', partitions: 2 },
      { name: 't', partitions: 3 },
    ]);
    const [d] = await admin.describeTopics(['a']);
    expect(d!.partitions.map((p) => p.partition)).toEqual([0, 1]);
    await admin.deleteTopics(['a']);
    await expect(admin.describeTopics(['a'])).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });

  it('lists earliest and latest offsets per partition', async () => {
    await produce(30);
    const admin = new Admin(client);
    const latest = await admin.listOffsets('t', 'latest');
    expect(latest.reduce((s, o) => s + o.offset, 0)).toBe(30);
    expect((await admin.listOffsets('t', 'earliest')).map((o) => o.offset)).toEqual([0, 0, 0]);
  });
});

describe('Consumer polling', () => {
  it('does not busy-poll a node that answers empty fetches at once', async () => {
    const consumer = new Consumer(client, { topic: 't', partitions: [0], from: 'latest', maxWaitMs: 0 });
    await consumer.init();
    const before = server.requestCounts.get(7) ?? 0;
    const ac = new AbortController();
    const run = (async () => {
      for await (const _ of consumer.records({ signal: ac.signal })) {
        // no records are produced
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await run;
    const fetches = (server.requestCounts.get(7) ?? 0) - before;
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThanOrEqual(40); // at most one per 10 ms, not thousands
  });
});
