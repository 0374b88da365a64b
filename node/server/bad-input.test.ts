/**
 * Bad input against a real node: each case gets its typed error (or a clean
 * close of that one connection when the stream cannot be parsed), and a
 * bystander client connected the whole time keeps working.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, type FetchResponse, type ProduceResponse } from '../protocol/api.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { encodeFrame, FrameType } from '../protocol/frame.ts';
import { BatchField, decodeBatch, splitBatches } from '../storage/batch.ts';
import { batchOf, eventually, RawClient, startTestNode, type TestNode, wireErrorOf } from './test-support.ts';

const KiB = 1024;
let t: TestNode;
let bystander: RawClient;
let bystanderOffset = 0;

async function health(): Promise<{ connections: number; topics: string[] }> {
  const res = await fetch(`http://127.0.0.1:${t.node.httpPort}/health`);
  expect(res.status).toBe(200);
  return (await res.json()) as { connections: number; topics: string[] };
}

async function produce(c: RawClient, topic: string, partition: number, batch: Uint8Array) {
  return c.call<ProduceResponse>(
    ApiKey.Produce,
    { acks: 1, timeoutMs: 5000, partitions: [{ topic, partition, batchBytes: batch.byteLength }] },
    [batch],
  );
}

function fetchBody(topic: string, partition: number, offset: number, maxWaitMs = 0, minBytes = 0) {
  return { maxWaitMs, minBytes, maxBytes: 1 << 20, partitions: [{ topic, partition, offset, maxBytes: 1 << 20 }] };
}

async function connected(): Promise<RawClient> {
  const c = await RawClient.connect(t.node.port);
  await c.handshake();
  return c;
}

beforeAll(async () => {
  t = await startTestNode({ frameBytesMax: 1024 * KiB, batchBytesMax: 256 * KiB, inFlightRequestsMax: 8 });
  bystander = await connected();
  await bystander.call(ApiKey.CreateTopics, {
    topics: [
      { name: 'ok', partitions: 2 },
      { name: 'small', partitions: 1, config: { maxBatchBytes: 1024 } },
    ],
  });
});

afterAll(async () => {
  await bystander.close();
  await t.cleanup();
});

// The bystander produces and reads back after every case: the node is alive and its connection untouched.
afterEach(async () => {
  expect(bystander.isClosed).toBe(false);
  const value = `bystander-${bystanderOffset}`;
  const r = await produce(bystander, 'ok', 0, batchOf([value]));
  expect(r.body.partitions[0]).toMatchObject({ error: null, baseOffset: bystanderOffset });
  const f = await bystander.call<FetchResponse>(ApiKey.Fetch, fetchBody('ok', 0, bystanderOffset));
  const records = splitBatches(f.raw).flatMap((b) => decodeBatch(b));
  expect(Buffer.from(records[0]!.value).toString()).toBe(value);
  bystanderOffset++;
});

describe('unparsable streams close only that connection', () => {
  it('a frame over the limit', async () => {
    const c = await connected();
    const prefix = Buffer.alloc(4 + 100);
    prefix.writeUInt32BE(2 * 1024 * KiB);
    c.writeRaw(prefix);
    await c.closed;
    expect(c.isClosed).toBe(true);
  });

  it('a truncated frame, then the client closes', async () => {
    const c = await connected();
    const whole = Buffer.concat(
      encodeFrame({ frameType: FrameType.Request, apiKey: ApiKey.Metadata, apiVersion: 0, correlationId: 99 }, {}),
    );
    c.writeRaw(whole.subarray(0, whole.byteLength - 3));
    await c.close();
    await eventually(async () => expect((await health()).connections).toBe(1));
  });

  it('garbage bytes', async () => {
    const c = await RawClient.connect(t.node.port);
    c.writeRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await c.closed;
    const d = await RawClient.connect(t.node.port);
    // A plausible length with a header that is not one (frame type 0xee).
    const junk = Buffer.alloc(40, 0xee);
    junk.writeUInt32BE(36, 0);
    d.writeRaw(junk);
    await d.closed;
    expect(c.isClosed && d.isClosed).toBe(true);
  });
});

describe('bad requests get typed errors and keep the connection', () => {
  it('an unknown api key', async () => {
    const c = await connected();
    const f = await c.request(999, {});
    expect(wireErrorOf(f)?.code).toBe(ErrorCode.UNKNOWN_API.code);
    // InitProducerId is reserved but not spoken yet.
    expect(wireErrorOf(await c.request(ApiKey.InitProducerId, {}))?.code).toBe(ErrorCode.UNKNOWN_API.code);
    await c.call(ApiKey.ListTopics, {});
    await c.close();
  });

  it('an unsupported version', async () => {
    const c = await connected();
    const f = await c.request(ApiKey.Metadata, {}, [], 7);
    expect(wireErrorOf(f)?.code).toBe(ErrorCode.UNSUPPORTED_VERSION.code);
    expect(f.apiVersion).toBe(7);
    await c.call(ApiKey.Metadata, {});
    await c.close();
  });

  it('requests before the handshake', async () => {
    const c = await RawClient.connect(t.node.port);
    for (const key of [ApiKey.Metadata, ApiKey.Produce, ApiKey.Fetch, ApiKey.CreateTopics]) {
      expect(wireErrorOf(await c.request(key, {}))?.code).toBe(ErrorCode.HANDSHAKE_REQUIRED.code);
    }
    await c.handshake();
    const m = await c.call<{ topics: { name: string }[] }>(ApiKey.Metadata, {});
    expect(m.body.topics.map((x) => x.name)).toContain('ok');
    await c.close();
  });

  it('a body of the wrong shape', async () => {
    const c = await connected();
    const bodies: [number, unknown][] = [
      [ApiKey.Produce, 'hello'],
      [ApiKey.Produce, { acks: 1, timeoutMs: 10, partitions: 'x' }],
      [ApiKey.Fetch, [1, 2, 3]],
      [ApiKey.Fetch, { maxWaitMs: -5, minBytes: 0, maxBytes: 1, partitions: [] }],
      [ApiKey.CreateTopics, { topics: [{ name: 'n', partitions: 'many' }] }],
      [ApiKey.ListOffsets, { partitions: [{ topic: 'ok', partition: 0 }] }],
      [ApiKey.Handshake, { clientId: 5 }],
      [ApiKey.Metadata, { topics: 7 }],
    ];
    for (const [key, body] of bodies) {
      const err = wireErrorOf(await c.request(key, body));
      expect(err?.code, `api ${key} body ${JSON.stringify(body)}`).toBe(ErrorCode.INVALID_REQUEST.code);
    }
    // A response frame sent as a request.
    const bufs = encodeFrame(
      { frameType: FrameType.Response, apiKey: ApiKey.Metadata, apiVersion: 0, correlationId: 4242 },
      {},
    );
    for (const b of bufs) c.writeRaw(b);
    expect(wireErrorOf(await c.response(4242))?.code).toBe(ErrorCode.INVALID_REQUEST.code);
    await c.close();
  });

  it('a produce to an unknown topic and to an unknown partition', async () => {
    const c = await connected();
    const b1 = batchOf(['a']);
    const b2 = batchOf(['b']);
    const r = await c.call<ProduceResponse>(
      ApiKey.Produce,
      {
        acks: 1,
        timeoutMs: 1000,
        partitions: [
          { topic: 'nope', partition: 0, batchBytes: b1.byteLength },
          { topic: 'ok', partition: 2, batchBytes: b2.byteLength },
        ],
      },
      [b1, b2],
    );
    expect(r.body.partitions.map((p) => p.error?.code)).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code,
    ]);
    expect(r.body.partitions.map((p) => p.baseOffset)).toEqual([-1, -1]);
    await c.close();
  });

  it('a batch whose CRC does not match', async () => {
    const c = await connected();
    const before = (await c.call<FetchResponse>(ApiKey.Fetch, fetchBody('ok', 1, 0))).body.partitions[0]!.highWatermark;
    const b = batchOf(['hello world']);
    b[b.byteLength - 1]! ^= 0x01;
    const r = await produce(c, 'ok', 1, b);
    expect(r.body.partitions[0]!.error?.code).toBe(ErrorCode.CORRUPT_MESSAGE.code);
    // A bad header too: wrong magic.
    const h = batchOf(['x']);
    h[BatchField.magic] = 9;
    expect((await produce(c, 'ok', 1, h)).body.partitions[0]!.error?.code).toBe(ErrorCode.CORRUPT_MESSAGE.code);
    const after = (await c.call<FetchResponse>(ApiKey.Fetch, fetchBody('ok', 1, 0))).body.partitions[0]!.highWatermark;
    expect(after).toBe(before);
    await c.close();
  });

  it('a raw section whose length disagrees with the body', async () => {
    const c = await connected();
    const b = batchOf(['x']);
    const f = await c.request(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 1000, partitions: [{ topic: 'ok', partition: 1, batchBytes: b.byteLength + 5 }] },
      [b],
    );
    expect(wireErrorOf(f)?.code).toBe(ErrorCode.INVALID_REQUEST.code);
    const g = await c.request(ApiKey.Metadata, {}, [Uint8Array.from([1, 2, 3])]);
    expect(wireErrorOf(g)?.code).toBe(ErrorCode.INVALID_REQUEST.code);
    await c.close();
  });

  it('a fetch beyond the log end', async () => {
    const c = await connected();
    await produce(c, 'ok', 1, batchOf(['one', 'two']));
    const end = (await c.call<FetchResponse>(ApiKey.Fetch, fetchBody('ok', 1, 0))).body.partitions[0]!.highWatermark;
    const beyond = await c.call<FetchResponse>(ApiKey.Fetch, fetchBody('ok', 1, end + 1));
    expect(beyond.body.partitions[0]!.error?.code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE.code);
    const atEnd = await c.call<FetchResponse>(ApiKey.Fetch, fetchBody('ok', 1, end));
    expect(atEnd.body.partitions[0]).toMatchObject({ error: null, bytes: 0, highWatermark: end });
    expect(atEnd.raw.byteLength).toBe(0);
    await c.close();
  });

  it('an oversized batch', async () => {
    const c = await connected();
    const big = batchOf(['x'.repeat(2000)]);
    expect((await produce(c, 'small', 0, big)).body.partitions[0]!.error?.code).toBe(ErrorCode.MESSAGE_TOO_LARGE.code);
    // Over the node limit too (256 KiB), within the frame limit.
    const huge = batchOf(['y'.repeat(300 * KiB)]);
    expect((await produce(c, 'ok', 0, huge)).body.partitions[0]!.error?.code).toBe(ErrorCode.MESSAGE_TOO_LARGE.code);
    // The small batch still goes in.
    expect((await produce(c, 'small', 0, batchOf(['fits']))).body.partitions[0]!.error).toBeNull();
    await c.close();
  });

  it('too many requests in flight on one connection', async () => {
    const c = await connected();
    const waiting = [];
    // Eight long-polls fill the connection's in-flight limit.
    for (let i = 0; i < 8; i++) waiting.push(c.send(ApiKey.Fetch, fetchBody('small', 0, 1, 10_000, 1)));
    const extra = await c.request(ApiKey.Metadata, {});
    expect(wireErrorOf(extra)?.code).toBe(ErrorCode.TOO_MANY_REQUESTS.code);
    // An append from another connection wakes every long-poll at once.
    const other = await connected();
    await produce(other, 'small', 0, batchOf(['wake']));
    const answers = await Promise.all(waiting.map((id) => c.response(id)));
    for (const a of answers) expect((a.body as FetchResponse).partitions[0]!.bytes).toBeGreaterThan(0);
    await c.call(ApiKey.Metadata, {});
    await other.close();
    await c.close();
  });
});
