/**
 * The node's life: topics and data survive a restart, and a graceful stop
 * answers the produces already in flight before it closes the logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiKey,
  type DescribeTopicsResponse,
  type FetchResponse,
  type MetadataResponse,
  type ProduceResponse,
} from '../protocol/api.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { decodeBatch, splitBatches } from '../storage/batch.ts';
import { batchOf, eventually, gatedLogOpener, RawClient, startTestNode, type TestNode } from './test-support.ts';

let t: TestNode | null = null;
afterEach(async () => {
  await t?.cleanup();
  t = null;
});

async function connected(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.handshake();
  return c;
}

function produceBody(topic: string, partition: number, batch: Uint8Array, acks = 1) {
  return { acks, timeoutMs: 10_000, partitions: [{ topic, partition, batchBytes: batch.byteLength }] };
}

async function readAll(c: RawClient, topic: string, partition: number): Promise<string[]> {
  const f = await c.call<FetchResponse>(ApiKey.Fetch, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    partitions: [{ topic, partition, offset: 0, maxBytes: 1 << 20 }],
  });
  expect(f.body.partitions[0]!.error).toBeNull();
  return splitBatches(f.raw)
    .flatMap((b) => decodeBatch(b))
    .map((r) => Buffer.from(r.value).toString());
}

describe('restart', () => {
  it('keeps topics, their settings and their records, and continues the offsets', async () => {
    t = await startTestNode({ flush: { kind: 'always' } });
    let c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, {
      topics: [
        { name: 'orders', partitions: 3, config: { retentionMs: 3_600_000, maxBatchBytes: 4096 } },
        { name: 'logs', partitions: 1 },
        { name: 'gone', partitions: 1 },
      ],
    });
    for (let i = 0; i < 6; i++) {
      const b = batchOf([`o-${i}`]);
      const r = await c.call<ProduceResponse>(ApiKey.Produce, produceBody('orders', i % 3, b), [b]);
      expect(r.body.partitions[0]!.error).toBeNull();
    }
    await c.call(ApiKey.DeleteTopics, { topics: ['gone'] });
    await c.close();

    const node = await t.restart();
    c = await connected(node.port);
    const meta = await c.call<MetadataResponse>(ApiKey.Metadata, {});
    expect(meta.body.topics.map((x) => [x.name, x.partitions.length])).toEqual([
      ['logs', 1],
      ['orders', 3],
    ]);
    expect(meta.body.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: node.port, rack: null }]);
    const d = await c.call<DescribeTopicsResponse>(ApiKey.DescribeTopics, { topics: ['orders'] });
    expect(d.body.topics[0]!.config).toMatchObject({ retentionMs: 3_600_000, maxBatchBytes: 4096 });
    expect(await readAll(c, 'orders', 0)).toEqual(['o-0', 'o-3']);
    expect(await readAll(c, 'orders', 2)).toEqual(['o-2', 'o-5']);
    const b = batchOf(['o-6']);
    const r = await c.call<ProduceResponse>(ApiKey.Produce, produceBody('orders', 0, b), [b]);
    expect(r.body.partitions[0]).toMatchObject({ error: null, baseOffset: 2 });
    await c.close();
  });
});

describe('graceful stop', () => {
  it('answers the produces in flight, refuses new ones, and keeps what it acknowledged', async () => {
    const gate = gatedLogOpener();
    t = await startTestNode({ flush: { kind: 'always' } }, { openLog: gate.open });
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'p', partitions: 1 }] });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const b = batchOf([`v-${i}`]);
      ids.push(c.send(ApiKey.Produce, produceBody('p', 0, b), [b]));
    }
    await eventually(() => expect(gate.waiting()).toBe(20));
    const stopped = t.node.stop();
    // A request arriving while the node drains is refused, not dropped.
    const late = await c.request(ApiKey.Metadata, {});
    expect(late.body).toMatchObject({ error: { code: ErrorCode.SHUTTING_DOWN.code } });
    gate.release();
    const answers = await Promise.all(ids.map((id) => c.response(id)));
    const offsets = answers.map((a) => {
      const p = (a.body as ProduceResponse).partitions[0]!;
      expect(p.error).toBeNull();
      return p.baseOffset;
    });
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await stopped;
    await c.closed;

    // Everything acknowledged is on disk after the restart.
    const node = await t.restart();
    const d = await connected(node.port);
    expect(await readAll(d, 'p', 0)).toEqual(Array.from({ length: 20 }, (_, i) => `v-${i}`));
    await d.close();
  });

  it('ends a long-poll fetch early instead of waiting out its maxWaitMs', async () => {
    t = await startTestNode({ shutdownTimeoutMs: 20_000 });
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'idle', partitions: 1 }] });
    const id = c.send(ApiKey.Fetch, {
      maxWaitMs: 60_000,
      minBytes: 1,
      maxBytes: 1024,
      partitions: [{ topic: 'idle', partition: 0, offset: 0, maxBytes: 1024 }],
    });
    const startedMs = Date.now();
    await eventually(async () => {
      // The fetch is parked once a metadata request on the same connection is answered after it.
      await c.call(ApiKey.Metadata, {});
    });
    await t.node.stop();
    const f = await c.response(id);
    expect((f.body as FetchResponse).partitions[0]).toMatchObject({ error: null, bytes: 0 });
    expect(Date.now() - startedMs).toBeLessThan(20_000);
  });
});
