/**
 * Connection behaviour over TCP: pipelined requests answered out of order,
 * acks=none, produce timeouts, the connection limit, and /health.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey, type FetchResponse, type ProduceResponse } from '../protocol/api.ts';
import { ErrorCode } from '../protocol/errors.ts';
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

describe('connection', () => {
  it('answers pipelined requests as they finish, matched by correlation id', async () => {
    t = await startTestNode();
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'q', partitions: 1 }] });
    const slow = c.send(ApiKey.Fetch, {
      maxWaitMs: 10_000,
      minBytes: 1,
      maxBytes: 1024,
      partitions: [{ topic: 'q', partition: 0, offset: 0, maxBytes: 1024 }],
    });
    const fast = c.send(ApiKey.ListTopics, {});
    const order: number[] = [];
    const pFast = c.response(fast).then(() => order.push(fast));
    await pFast;
    const b = batchOf(['wake']);
    const produced = c.send(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 1000, partitions: [{ topic: 'q', partition: 0, batchBytes: b.byteLength }] },
      [b],
    );
    const f = await c.response(slow);
    order.push(slow);
    await c.response(produced);
    expect(order).toEqual([fast, slow]);
    expect((f.body as FetchResponse).partitions[0]!.bytes).toBe(b.byteLength);
    await c.close();
  });

  it('sends no response for acks=none but appends the batch', async () => {
    t = await startTestNode();
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'n', partitions: 1 }] });
    const b = batchOf(['fire', 'forget']);
    const silent = c.send(
      ApiKey.Produce,
      { acks: 0, timeoutMs: 1000, partitions: [{ topic: 'n', partition: 0, batchBytes: b.byteLength }] },
      [b],
    );
    await eventually(async () => {
      const f = await c.call<FetchResponse>(ApiKey.Fetch, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 4096,
        partitions: [{ topic: 'n', partition: 0, offset: 0, maxBytes: 4096 }],
      });
      expect(f.body.partitions[0]!.highWatermark).toBe(2);
    });
    await c.call(ApiKey.Metadata, {});
    expect(c.unmatched.filter((f) => f.correlationId === silent)).toEqual([]);
    await c.close();
  });

  it('answers REQUEST_TIMED_OUT when an append outlives the produce timeout', async () => {
    const gate = gatedLogOpener();
    t = await startTestNode({}, { openLog: gate.open });
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'slow', partitions: 1 }] });
    const b = batchOf(['late']);
    const r = await c.call<ProduceResponse>(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 50, partitions: [{ topic: 'slow', partition: 0, batchBytes: b.byteLength }] },
      [b],
    );
    expect(r.body.partitions[0]!.error?.code).toBe(ErrorCode.REQUEST_TIMED_OUT.code);
    gate.release();
    await c.close();
  });

  it('refuses connections over connectionsMax and serves the rest', async () => {
    t = await startTestNode({ connectionsMax: 2 });
    const a = await connected(t.node.port);
    const b = await connected(t.node.port);
    const extra = await RawClient.connect(t.node.port);
    await extra.closed;
    await a.call(ApiKey.ListTopics, {});
    await b.close();
    const again = await eventually(async () => {
      const x = await RawClient.connect(t!.node.port);
      try {
        await x.handshake();
        return x;
      } catch (err) {
        x.destroy();
        throw err;
      }
    });
    await again.call(ApiKey.ListTopics, {});
    await again.close();
    await a.close();
  });

  it('stops reading a client that does not read its responses, and carries on when it does', async () => {
    // The write bound is small so a few fetch responses pass it.
    t = await startTestNode({ socketWriteBufferBytesMax: 64 * 1024, inFlightRequestsMax: 4096 });
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'big', partitions: 1 }] });
    const b = batchOf(['x'.repeat(200_000)]);
    await c.call(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 1000, partitions: [{ topic: 'big', partition: 0, batchBytes: b.byteLength }] },
      [b],
    );
    c.pauseReading();
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) {
      ids.push(
        c.send(ApiKey.Fetch, {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          partitions: [{ topic: 'big', partition: 0, offset: 0, maxBytes: 1 << 20 }],
        }),
      );
    }
    // The node stops reading, so produces sent now back up in our own socket buffer.
    const produces: number[] = [];
    for (let i = 0; i < 60; i++) {
      produces.push(
        c.send(
          ApiKey.Produce,
          { acks: 1, timeoutMs: 10_000, partitions: [{ topic: 'big', partition: 0, batchBytes: b.byteLength }] },
          [Buffer.from(b)],
        ),
      );
    }
    await eventually(async () => {
      const health = (await (await fetch(`http://127.0.0.1:${t!.node.httpPort}/health`)).json()) as {
        pausedConnections: number;
      };
      expect(health.pausedConnections).toBe(1);
    });
    expect(c.unsentBytes).toBeGreaterThan(1024 * 1024);
    c.resumeReading();
    const answers = await Promise.all(ids.map((id) => c.response(id)));
    expect(answers.every((f) => (f.body as FetchResponse).partitions[0]!.bytes === b.byteLength)).toBe(true);
    const acked = await Promise.all(produces.map((id) => c.response(id)));
    expect(acked.map((f) => (f.body as ProduceResponse).partitions[0]!.baseOffset)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    await c.close();
  });
});

describe('node-wide request budget', () => {
  it('stops reading every connection while requests in flight exceed it, and resumes them after', async () => {
    const gate = gatedLogOpener();
    t = await startTestNode({ requestBytesInFlightMax: 64 * 1024 }, { openLog: gate.open });
    const a = await connected(t.node.port);
    const b = await connected(t.node.port);
    await a.call(ApiKey.CreateTopics, { topics: [{ name: 'g', partitions: 1 }] });
    const big = batchOf(['z'.repeat(100_000)]);
    const stuck = a.send(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 30_000, partitions: [{ topic: 'g', partition: 0, batchBytes: big.byteLength }] },
      [big],
    );
    await eventually(() => expect(gate.waiting()).toBe(1));
    // b's next read is its last until the budget frees up.
    await b.call(ApiKey.ListTopics, {});
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${t!.node.httpPort}/health`)).json()) as {
        pausedConnections: number;
        inFlightRequestBytes: number;
      };
    await eventually(async () => expect((await health()).pausedConnections).toBe(2));
    expect((await health()).inFlightRequestBytes).toBeGreaterThan(64 * 1024);
    const waiting = b.send(ApiKey.ListTopics, {});
    gate.release();
    await a.response(stuck);
    await b.response(waiting);
    await eventually(async () => expect((await health()).pausedConnections).toBe(0));
    await a.close();
    await b.close();
  });
});

describe('node-wide request budget, partial frames', () => {
  it('charges partial frames to the budget, pauses connections between frames, and lets partial ones finish', async () => {
    t = await startTestNode({ requestBytesInFlightMax: 64 * 1024 });
    const a = await connected(t.node.port);
    const b = await connected(t.node.port);
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${t!.node.httpPort}/health`)).json()) as {
        pausedConnections: number;
        inFlightRequestBytes: number;
      };
    // a is mid-way through a frame large enough to exhaust the budget.
    const frame = Buffer.alloc(200_004);
    frame.writeUInt32BE(200_000, 0);
    frame.writeUInt8(0xee, 4);
    a.writeRaw(frame.subarray(0, 100_000));
    await eventually(async () => expect((await health()).inFlightRequestBytes).toBeGreaterThan(64 * 1024));
    // b is between frames: its next read is its last while the budget is exhausted.
    await b.call(ApiKey.ListTopics, {});
    await eventually(async () => expect((await health()).pausedConnections).toBe(1));
    // a is not paused: it may finish its frame (which is garbage, so the node closes it, freeing the budget).
    a.writeRaw(frame.subarray(100_000));
    await a.closed;
    await eventually(async () =>
      expect(await health()).toMatchObject({ inFlightRequestBytes: 0, pausedConnections: 0 }),
    );
    await b.call(ApiKey.ListTopics, {});
    await b.close();
  });
});

describe('stalled connections', () => {
  it('closes a connection that never handshakes or stops mid-frame, and keeps an idle one', async () => {
    t = await startTestNode({ stalledConnectionTimeoutMs: 200 });
    const idle = await connected(t.node.port);
    const silent = await RawClient.connect(t.node.port);
    const partial = await connected(t.node.port);
    partial.writeRaw(Uint8Array.from([0, 0, 0, 50, 0, 0]));
    await silent.closed;
    await partial.closed;
    // The idle, handshaken connection outlived both and still works.
    expect(idle.isClosed).toBe(false);
    await idle.call(ApiKey.ListTopics, {});
    await idle.close();
  });
});

describe('http', () => {
  it('serves /health as JSON', async () => {
    t = await startTestNode({ nodeId: 4 });
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'h', partitions: 1 }] });
    const res = await fetch(`http://127.0.0.1:${t.node.httpPort}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', nodeId: 4, topics: ['h'], connections: 1 });
    expect(typeof body.uptimeMs).toBe('number');
    expect((await fetch(`http://127.0.0.1:${t.node.httpPort}/nope`)).status).toBe(404);
    await c.close();
  });

  it('serves /metrics counting requests by api and outcome, appended bytes and fetched records', async () => {
    t = await startTestNode();
    const c = await connected(t.node.port);
    await c.call(ApiKey.CreateTopics, { topics: [{ name: 'm', partitions: 1 }] });
    const b = batchOf(['one', 'two', 'three']);
    await c.call(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 1000, partitions: [{ topic: 'm', partition: 0, batchBytes: b.byteLength }] },
      [b],
    );
    await c.call(ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      partitions: [{ topic: 'm', partition: 0, offset: 0, maxBytes: 1 << 20 }],
    });
    await c.request(4242, {});
    const res = await fetch(`http://127.0.0.1:${t.node.httpPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/raftbus_requests_total\{api="Produce",outcome="ok",node="1"\} 1/);
    expect(text).toMatch(/raftbus_requests_total\{api="unknown",outcome="UNKNOWN_API",node="1"\} 1/);
    expect(text).toMatch(new RegExp(`raftbus_produced_bytes_total\\{node="1"\\} ${b.byteLength}`));
    expect(text).toMatch(/raftbus_produced_records_total\{node="1"\} 3/);
    expect(text).toMatch(/raftbus_fetched_records_total\{node="1"\} 3/);
    expect(text).toMatch(/raftbus_connections\{node="1"\} 1/);
    expect(text).toMatch(/raftbus_topics\{node="1"\} 1/);
    await c.close();
  });
});
