import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, RaftbusError } from '../node/protocol/errors.ts';
import { decodeBatch } from '../node/storage/batch.ts';
import { RaftbusClient } from './client.ts';
import { ClientClosedError, RecordTooLargeError } from './errors.ts';
import { partitionForKey } from './partitioner.ts';
import { Producer } from './producer.ts';
import { FakeServer } from './test-support/fake-server.ts';

let server: FakeServer;
let client: RaftbusClient;

beforeEach(async () => {
  server = await FakeServer.start();
  server.createTopic('t', 4);
  client = new RaftbusClient({ brokers: [server.address], retry: { delayMsMin: 1, delayMsMax: 20, attemptsMax: 5 } });
  await client.connect();
});
afterEach(async () => {
  await client.close();
  await server.stop();
});

/** Every record stored on the fake server for a partition, decoded. */
function stored(topic: string, partition: number) {
  return server.topics.get(topic)!.partitions[partition]!.batches.flatMap((b) => decodeBatch(b));
}

describe('Producer', () => {
  it('sends keyed records to the partition the partitioner names, at consecutive offsets', async () => {
    const producer = new Producer(client, { lingerMs: 2, batchBytesMax: 4096 });
    const sends = Array.from({ length: 5000 }, (_, i) =>
      producer.send('t', { key: `k${i % 97}`, value: `v${i}`, headers: { n: String(i) } }),
    );
    const metas = await Promise.all(sends);
    for (let i = 0; i < metas.length; i++) expect(metas[i]!.partition).toBe(partitionForKey(`k${i % 97}`, 4));
    for (let p = 0; p < 4; p++) {
      const offsets = metas
        .filter((m) => m.partition === p)
        .map((m) => m.offset)
        .sort((a, b) => a - b);
      expect(offsets).toEqual(offsets.map((_, i) => i)); // 0..n-1, no gap, no duplicate
      const records = stored('t', p);
      expect(records).toHaveLength(offsets.length);
      for (const r of records) {
        const i = Number(r.headers!.n);
        expect(Buffer.from(r.value).toString()).toBe(`v${i}`);
        expect(metas[i]).toEqual({ topic: 't', partition: p, offset: r.offset });
      }
    }
    expect(producer.stats.recordsSent).toBe(5000);
    expect(producer.stats.batchesSent).toBeGreaterThan(4); // 4 KiB batches: the size limit sealed many
    await producer.close();
  });

  it('linger 0 seals without a timer: a burst shares one batch, an awaited send goes out alone', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send('t', { value: 'warm', partition: 0 }); // metadata and producer id
    const batchesBefore = producer.stats.batchesSent;
    // setTimeout is not used for linger 0: replace it for the burst and check nothing was armed.
    const realSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      timers++;
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout;
    let burst: Promise<unknown>;
    try {
      burst = Promise.all([1, 2, 3].map((i) => producer.send('t', { value: `b${i}`, partition: 1 })));
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    await burst;
    expect(timers).toBe(0);
    expect(producer.stats.batchesSent - batchesBefore).toBe(1);
    await producer.send('t', { value: 'alone', partition: 1 });
    expect(producer.stats.batchesSent - batchesBefore).toBe(2);
    expect(stored('t', 1).map((r) => Buffer.from(r.value).toString())).toEqual(['b1', 'b2', 'b3', 'alone']);
    await producer.close();
  });

  it('sendBatch resolves with metadata in input order', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    const metas = await producer.sendBatch('t', [
      { value: 'a', partition: 1 },
      { value: 'b', partition: 2 },
      { value: 'c', partition: 1 },
    ]);
    expect(metas).toEqual([
      { topic: 't', partition: 1, offset: 0 },
      { topic: 't', partition: 2, offset: 0 },
      { topic: 't', partition: 1, offset: 1 },
    ]);
    await producer.close();
  });

  it('retries retriable errors (NOT_LEADER) after refreshing metadata', async () => {
    const producer = new Producer(client, { lingerMs: 0, retry: { delayMsMin: 1, delayMsMax: 5, attemptsMax: 5 } });
    server.fault.produceError = { spec: ErrorCode.NOT_LEADER, count: 2 };
    const meta = await producer.send('t', { value: 'x', partition: 0 });
    expect(meta.offset).toBe(0);
    expect(producer.stats.retries).toBe(2);
    expect(stored('t', 0)).toHaveLength(1);
    await producer.close();
  });

  it('retries after the connection drops mid-request (at-least-once)', async () => {
    const producer = new Producer(client, { lingerMs: 0, retry: { delayMsMin: 1, delayMsMax: 5, attemptsMax: 5 } });
    server.fault.dropAfterAppend = true;
    const meta = await producer.send('t', { value: 'x', partition: 3 });
    // The first attempt was appended but unanswered: without idempotence the retry writes it again.
    expect(meta.offset).toBe(1);
    expect(stored('t', 3).map((r) => Buffer.from(r.value).toString())).toEqual(['x', 'x']);
    await producer.close();
  });

  it('gives up on retriable errors after the bounded attempts', async () => {
    const producer = new Producer(client, { lingerMs: 0, retry: { delayMsMin: 1, delayMsMax: 2, attemptsMax: 2 } });
    server.fault.produceError = { spec: ErrorCode.NOT_ENOUGH_REPLICAS, count: 100 };
    await expect(producer.send('t', { value: 'x', partition: 0 })).rejects.toMatchObject({
      errorName: 'NOT_ENOUGH_REPLICAS',
    });
    expect(producer.stats.recordsFailed).toBe(1);
    await producer.close();
  });

  it('fails at once on a non-retriable error', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    server.fault.produceError = { spec: ErrorCode.INVALID_REQUEST, count: 1, details: { detail: 'nope' } };
    const err = await producer.send('t', { value: 'x', partition: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).errorName).toBe('INVALID_REQUEST');
    expect(producer.stats.retries).toBe(0);
    await producer.close();
  });

  it('rejects a record larger than a batch may be', async () => {
    const producer = new Producer(client, { batchBytesMax: 1024 });
    await expect(producer.send('t', { value: 'x'.repeat(2000) })).rejects.toBeInstanceOf(RecordTooLargeError);
    expect(producer.stats.bufferedBytes).toBe(0);
    await producer.close();
  });

  it('acks none: resolves with offset -1, and the records are written', async () => {
    const producer = new Producer(client, { lingerMs: 0, acks: 'none' });
    const metas = await producer.sendBatch(
      't',
      Array.from({ length: 10 }, (_, i) => ({ value: `n${i}`, partition: 2 })),
    );
    expect(metas.every((m) => m.offset === -1)).toBe(true);
    await producer.close();
    const { eventually } = await import('./test-support/eventually.ts');
    await eventually(() => stored('t', 2).length === 10);
  });

  it('waits for buffer room instead of growing without bound', async () => {
    const producer = new Producer(client, { lingerMs: 1, batchBytesMax: 2048, bufferBytesMax: 8192 });
    let maxBuffered = 0;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 2000; i++) {
      sends.push(producer.send('t', { value: 'y'.repeat(100), partition: i % 4 }));
      maxBuffered = Math.max(maxBuffered, producer.stats.bufferedBytes);
    }
    await Promise.all(sends);
    // One record may overshoot the bound before later sends block.
    expect(maxBuffered).toBeLessThanOrEqual(8192 + 2048);
    expect(producer.stats.recordsSent).toBe(2000);
    await producer.close();
  });

  it('unknown topic: fails after bounded retries', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await expect(producer.send('nope', { value: 'x' })).rejects.toMatchObject({
      errorName: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    await producer.close();
  });

  it('flushes on close and refuses records afterwards', async () => {
    const producer = new Producer(client, { lingerMs: 10_000 });
    const p = producer.send('t', { value: 'late', partition: 0 });
    await producer.close();
    expect((await p).offset).toBe(0);
    await expect(producer.send('t', { value: 'x' })).rejects.toBeInstanceOf(ClientClosedError);
  });
});
