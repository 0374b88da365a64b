/**
 * Routing in a (fake) cluster: partitions led by different nodes, NOT_LEADER
 * answers with leader hints, leaders moving while records flow, a leader that
 * goes away, and control batches in fetch responses.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../node/protocol/api.ts';
import { decodeBatch } from '../node/storage/batch.ts';
import { RaftbusClient } from './client.ts';
import { type ConsumedRecord, Consumer } from './consumer.ts';
import { Producer } from './producer.ts';
import { eventually } from './test-support/eventually.ts';
import { FakeServer } from './test-support/fake-server.ts';

let servers: FakeServer[];
let client: RaftbusClient;
const fastRetry = { delayMsMin: 1, delayMsMax: 10, attemptsMax: 30 };

function node(id: number): FakeServer {
  return servers[id - 1]!;
}

beforeEach(async () => {
  servers = await FakeServer.startCluster(3);
  node(1).cluster.idempotence = true;
  node(1).createTopic('t', 3);
  for (let p = 0; p < 3; p++) node(1).moveLeader('t', p, p + 1); // leadership spread over the nodes
  client = new RaftbusClient({
    brokers: [node(1).address],
    retry: fastRetry,
    reconnect: { delayMsMin: 1, delayMsMax: 5, attemptsMax: 2 },
  });
  await client.connect();
});
afterEach(async () => {
  await client.close();
  for (const s of servers) await s.stop();
});

function storedValues(partition: number): string[] {
  return node(1)
    .topics.get('t')!
    .partitions[partition]!.batches.flatMap((b) => decodeBatch(b))
    .map((r) => Buffer.from(r.value).toString());
}

async function take(consumer: Consumer, n: number, timeoutMs = 10_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  for await (const r of consumer.records({ signal: AbortSignal.timeout(timeoutMs) })) {
    out.push(r);
    if (out.length >= n) break;
  }
  return out;
}

describe('routing', () => {
  it('sends each partition to its leader, learned from a bootstrap node that leads only one', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.sendBatch(
      't',
      [0, 1, 2].map((p) => ({ value: `p${p}`, partition: p })),
    );
    for (const id of [1, 2, 3]) expect(node(id).requestCounts.get(ApiKey.Produce)).toBe(1);
    for (const p of [0, 1, 2]) expect(storedValues(p)).toEqual([`p${p}`]);
    await producer.close();
  });

  it('NOT_LEADER with a hint: the retry goes to the hinted node at once', async () => {
    const producer = new Producer(client, { lingerMs: 0, retry: { delayMsMin: 500, delayMsMax: 500, attemptsMax: 3 } });
    await producer.send('t', { value: 'before', partition: 0 });
    node(1).moveLeader('t', 0, 3);
    const startedMs = Date.now();
    await producer.send('t', { value: 'after', partition: 0 });
    // The backoff is 500 ms: only a hinted retry can have finished well before it.
    expect(Date.now() - startedMs).toBeLessThan(400);
    expect(client.cachedLeader('t', 0)).toBe(3);
    expect(node(3).requestCounts.get(ApiKey.Produce)).toBe(1);
    expect(storedValues(0)).toEqual(['before', 'after']);
    await producer.close();
  });

  it('NOT_LEADER without a hint: refreshes metadata and retries', async () => {
    node(1).cluster.leaderHints = false;
    const producer = new Producer(client, { lingerMs: 0, retry: fastRetry });
    node(1).moveLeader('t', 1, 1);
    const metadataBefore = node(1).requestCounts.get(ApiKey.Metadata) ?? 0;
    await producer.send('t', { value: 'x', partition: 1 });
    expect(node(1).requestCounts.get(ApiKey.Metadata)).toBeGreaterThan(metadataBefore);
    expect(storedValues(1)).toEqual(['x']);
    await producer.close();
  });

  it('leaders move around while an idempotent producer runs: every record once, in order', async () => {
    const producer = new Producer(client, {
      idempotent: true,
      lingerMs: 0,
      batchBytesMax: 256,
      partitionInFlightMax: 5,
      retry: fastRetry,
    });
    const n = 2000;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(producer.send('t', { value: `r${i}`, partition: i % 3 }));
      if (i % 200 === 199) {
        for (let p = 0; p < 3; p++) node(1).moveLeader('t', p, ((Math.floor(i / 200) + p) % 3) + 1);
        await new Promise((r) => setImmediate(r));
      }
    }
    await Promise.all(sends);
    for (let p = 0; p < 3; p++) {
      const expected = Array.from({ length: n }, (_, i) => i)
        .filter((i) => i % 3 === p)
        .map((i) => `r${i}`);
      expect(storedValues(p)).toEqual(expected);
    }
    expect(producer.stats.retries).toBeGreaterThan(0);
    await producer.close();
  });

  it('a leader that goes away: metadata comes from another broker, the partition moves on', async () => {
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, retry: fastRetry });
    await producer.send('t', { value: 'a', partition: 0 });
    // Node 1 (bootstrap and leader of partition 0) dies; node 2 takes partition 0 over.
    node(1).moveLeader('t', 0, 2);
    await node(1).stop();
    const meta = await producer.send('t', { value: 'b', partition: 0 });
    expect(meta.offset).toBe(1);
    expect(storedValues(0)).toEqual(['a', 'b']);
    expect((node(2).requestCounts.get(ApiKey.Metadata) ?? 0) + (node(3).requestCounts.get(ApiKey.Metadata) ?? 0)).toBe(
      1,
    );
    await producer.close();
  });

  it('a consumer follows the leader hint when a partition moves', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.sendBatch('t', [
      { value: 'm0', partition: 2 },
      { value: 'm1', partition: 2 },
    ]);
    const consumer = new Consumer(client, { topic: 't', partitions: [2], from: 'earliest', maxWaitMs: 50 });
    expect((await take(consumer, 2)).map((r) => r.offset)).toEqual([0, 1]);
    node(1).moveLeader('t', 2, 1);
    await producer.sendBatch('t', [
      { value: 'm2', partition: 2 },
      { value: 'm3', partition: 2 },
    ]);
    const rest = await take(consumer, 2);
    expect(rest.map((r) => Buffer.from(r.value).toString())).toEqual(['m2', 'm3']);
    expect(node(1).requestCounts.get(ApiKey.Fetch) ?? 0).toBeGreaterThan(0);
    await producer.close();
  });

  it('consumers skip control batches, also one at the end of the log', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send('t', { value: 'one', partition: 0 });
    node(1).appendControlBatch('t', 0, 1); // offset 1
    await producer.send('t', { value: 'two', partition: 0 }); // offset 2
    node(1).appendControlBatch('t', 0, 2); // offsets 3-4, last in the log
    const consumer = new Consumer(client, { topic: 't', partitions: [0], from: 'earliest', maxWaitMs: 50 });
    const first = await take(consumer, 2);
    expect(first.map((r) => [r.offset, Buffer.from(r.value).toString()])).toEqual([
      [0, 'one'],
      [2, 'two'],
    ]);
    const later = producer.send('t', { value: 'three', partition: 0 });
    const next = await take(consumer, 1);
    expect((await later).offset).toBe(5);
    expect(next.map((r) => [r.offset, Buffer.from(r.value).toString()])).toEqual([[5, 'three']]);
    await producer.close();
  });

  it('while a partition has no leader (an election), the producer asks for metadata at a bounded rate', async () => {
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send('t', { value: 'before', partition: 0 });
    const metadataRequests = (): number => servers.reduce((n, s) => n + (s.requestCounts.get(ApiKey.Metadata) ?? 0), 0);
    node(1).moveLeader('t', 0, -1);
    client.invalidateTopic('t');
    const before = metadataRequests();
    const startedMs = Date.now();
    const during = producer.send('t', { value: 'during', partition: 0 });
    during.catch(() => {}); // awaited below; if an assertion fails first, closing the client rejects it
    await eventually(() => metadataRequests() - before >= 6);
    // The send's own lookup and the first refresh go at once; the next four are 25 ms gaps apart at least
    // (without the gap: one refresh per round trip, six within a few ms).
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(75);
    node(1).moveLeader('t', 0, 2);
    expect((await during).partition).toBe(0);
    expect(storedValues(0)).toEqual(['before', 'during']);
    await producer.close();
  });
});
