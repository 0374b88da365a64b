/**
 * The idempotent producer against the fake server's Kafka-style sequence
 * checks: ids from InitProducerId, sequences per partition, retries that
 * neither duplicate nor reorder, and the clear error from a node without
 * InitProducerId.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../node/protocol/api.ts';
import { ErrorCode } from '../node/protocol/errors.ts';
import { decodeBatch, readBatchHeader } from '../node/storage/batch.ts';
import { RaftbusClient } from './client.ts';
import { IdempotenceNotSupportedError } from './errors.ts';
import { Producer } from './producer.ts';
import { FakeServer } from './test-support/fake-server.ts';

let server: FakeServer;
let client: RaftbusClient;
const fastRetry = { delayMsMin: 1, delayMsMax: 5, attemptsMax: 20 };

beforeEach(async () => {
  server = await FakeServer.start();
  server.cluster.idempotence = true;
  server.createTopic('t', 3);
  client = new RaftbusClient({ brokers: [server.address], retry: fastRetry });
  await client.connect();
});
afterEach(async () => {
  await client.close();
  await server.stop();
});

function storedValues(partition: number): string[] {
  return server.topics
    .get('t')!
    .partitions[partition]!.batches.flatMap((b) => decodeBatch(b))
    .map((r) => Buffer.from(r.value).toString());
}

describe('idempotent Producer', () => {
  it('stamps producer id, epoch and per-partition sequences (records sent before on that partition)', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, batchBytesMax: 512 });
    const records = Array.from({ length: 300 }, (_, i) => ({ value: `v${i}`, partition: i % 2 }));
    await producer.sendBatch('t', records);
    const { producerId, producerEpoch } = producer.producerIdentity;
    expect(producerId).toBeGreaterThanOrEqual(1000);
    expect(server.requestCounts.get(ApiKey.InitProducerId)).toBe(1);
    for (const partition of [0, 1]) {
      const batches = server.topics.get('t')!.partitions[partition]!.batches;
      expect(batches.length).toBeGreaterThan(1);
      let sequence = 0;
      for (const b of batches) {
        const h = readBatchHeader(b);
        expect(h).toMatchObject({ producerId, producerEpoch, baseSequence: sequence });
        sequence += h.recordCount;
      }
      expect(sequence).toBe(150);
    }
    await producer.close();
  });

  it('a send that waits for metadata is not overtaken by a later send that finds the metadata cached', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0 });
    await producer.send('t', { value: 'first', partition: 0 });
    // A leader change drops the topic from the cache; the next send must look it up (slowly, here) ...
    client.invalidateTopic('t');
    server.fault.delayNext = { apiKey: ApiKey.Metadata, ms: 150 };
    const a = producer.send('t', { value: 'a', partition: 0 });
    // ... while another lookup (the producer's own retry path, a consumer, the app) fills the cache again.
    await client.topic('t', { refresh: true });
    const b = producer.send('t', { value: 'b', partition: 0 });
    const [ma, mb] = await Promise.all([a, b]);
    expect(ma.offset).toBeLessThan(mb.offset);
    expect(storedValues(0)).toEqual(['first', 'a', 'b']);
    await producer.close();
  });

  it('a batch written but answered late stays inside the leader dedup window until resolved: its retry is a duplicate, not a failure', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, requestTimeoutMs: 300, retry: fastRetry });
    await producer.send('t', { value: 'first', partition: 0 });
    // Batch v0 is written at once but its answer comes after the client's request timeout (its request
    // waited for a slow partition, say); later batches of the partition are answered promptly.
    server.fault.holdReplyNext = { apiKey: ApiKey.Produce, ms: 1_500 };
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      sends.push(producer.send('t', { value: `v${i}`, partition: 0 }));
      await new Promise((resolve) => setImmediate(resolve)); // one batch per send
    }
    await Promise.all(sends);
    expect(storedValues(0)).toEqual(['first', ...Array.from({ length: 12 }, (_, i) => `v${i}`)]);
    await producer.close();
  });

  it('a retry of a batch that was written resolves with the original offsets, stored once', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, retry: fastRetry });
    await producer.send('t', { value: 'first', partition: 2 });
    server.fault.dropAfterAppend = true;
    const meta = await producer.sendBatch('t', [
      { value: 'a', partition: 2 },
      { value: 'b', partition: 2 },
    ]);
    expect(meta.map((m) => m.offset)).toEqual([1, 2]);
    expect(server.cluster.duplicatesAnswered).toBe(1);
    expect(storedValues(2)).toEqual(['first', 'a', 'b']);
    await producer.close();
  });

  it('a retry the leader is already past (OUT_OF_ORDER_SEQUENCE, expected beyond it) is retried until answered as a duplicate', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, retry: fastRetry });
    server.fault.dropAfterAppend = true;
    server.fault.duplicateAsOutOfOrder = 2;
    const meta = await producer.send('t', { value: 'once', partition: 1 });
    expect(meta.offset).toBe(0);
    expect(server.cluster.outOfOrderAnswered).toBe(2);
    expect(server.cluster.duplicatesAnswered).toBe(1);
    expect(storedValues(1)).toEqual(['once']);
    await producer.close();
  });

  it('a first attempt answered OUT_OF_ORDER_SEQUENCE with nothing before it fails (no endless retry)', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, retry: fastRetry });
    await producer.send('t', { value: 'a', partition: 1 });
    // The leader forgets this producer's state on partition 1 and expects another sequence.
    server.topics.get('t')!.partitions[1]!.producers.get(producer.producerIdentity.producerId)!.nextSequence = 7;
    await expect(producer.send('t', { value: 'b', partition: 1 })).rejects.toMatchObject({
      errorName: 'OUT_OF_ORDER_SEQUENCE',
    });
    await producer.close();
  });

  it('keeps send order with 5 batches in flight per partition while batches fail and retry', async () => {
    const producer = new Producer(client, {
      idempotent: true,
      lingerMs: 0,
      batchBytesMax: 256,
      partitionInFlightMax: 5,
      inFlightMax: 5,
      retry: fastRetry,
    });
    const n = 3000;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(producer.send('t', { value: `r${i}`, partition: 0 }));
      // Faults land while later batches of the partition are in flight.
      if (i === 500) server.fault.produceError = { spec: ErrorCode.NOT_ENOUGH_REPLICAS, count: 2 };
      if (i === 1500) server.fault.dropAfterAppend = true;
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const metas = (await Promise.all(sends)) as { offset: number }[];
    // Every record exactly once, in send order, at the offset its promise gave.
    expect(storedValues(0)).toEqual(Array.from({ length: n }, (_, i) => `r${i}`));
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(producer.stats.retries).toBeGreaterThan(0);
    // The faults hit while later batches were in flight: the leader saw gaps and a duplicate.
    expect(server.cluster.outOfOrderAnswered).toBeGreaterThan(0);
    expect(server.cluster.duplicatesAnswered).toBeGreaterThan(0);
    await producer.close();
  });

  it('fails with IdempotenceNotSupportedError against a node without InitProducerId', async () => {
    server.cluster.idempotence = false;
    const producer = new Producer(client, { idempotent: true });
    const err = await producer.send('t', { value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotenceNotSupportedError);
    expect((err as IdempotenceNotSupportedError).code).toBe('IDEMPOTENCE_NOT_SUPPORTED');
    expect(storedValues(0).length + storedValues(1).length + storedValues(2).length).toBe(0);
    await producer.close();
  });

  it('refuses more than 5 batches in flight per partition (the leader dedups the last 5)', () => {
    expect(() => new Producer(client, { idempotent: true, partitionInFlightMax: 6 })).toThrow(/<= 5/);
  });

  it('by default: idempotent where the node speaks InitProducerId', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send('t', { value: 'x', partition: 1 });
    expect(producer.idempotent).toBe(true);
    const h = readBatchHeader(server.topics.get('t')!.partitions[1]!.batches[0]!);
    expect(h.producerId).toBe(producer.producerIdentity.producerId);
    expect(h.baseSequence).toBe(0);
    await producer.close();
  });

  it('by default: at-least-once without error where the node answers UNKNOWN_API (a single node)', async () => {
    server.cluster.idempotence = false;
    const producer = new Producer(client, { lingerMs: 0 });
    const metas = await Promise.all([
      producer.send('t', { value: 'x', partition: 1 }),
      producer.send('t', { value: 'y', partition: 1 }),
    ]);
    expect(metas.map((m) => m.offset)).toEqual([0, 1]);
    expect(producer.idempotent).toBe(false);
    expect(server.requestCounts.get(ApiKey.InitProducerId)).toBe(1);
    expect(readBatchHeader(server.topics.get('t')!.partitions[1]!.batches[0]!).producerId).toBe(-1);
    await producer.close();
  });

  it('idempotent: false never asks for a producer id', async () => {
    const producer = new Producer(client, { lingerMs: 0, idempotent: false });
    await producer.send('t', { value: 'x', partition: 1 });
    expect(server.requestCounts.get(ApiKey.InitProducerId)).toBeUndefined();
    expect(readBatchHeader(server.topics.get('t')!.partitions[1]!.batches[0]!).producerId).toBe(-1);
    await producer.close();
  });
});
