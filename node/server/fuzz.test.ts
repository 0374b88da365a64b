/**
 * A seeded storm of random and mutated frames against a running node over
 * several connections: bit flips, truncations, length lies, random api keys,
 * random msgpack bodies, mutated batches. Afterwards the node must still
 * answer, every record acknowledged before the storm must read back intact,
 * and nothing may have hit an unexpected server error.
 *
 * Replay a failure with FUZZ_SEED=<seed> (the seed is in the test name).
 */
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, type FetchResponse, type ProduceResponse } from '../protocol/api.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { encodeFrame, FrameType } from '../protocol/frame.ts';
import { decodeBatch, HEADER_BYTES, splitBatches } from '../storage/batch.ts';
import { mulberry32 } from '../util/prng.ts';
import { createLogger } from './logger.ts';
import { batchOf, RawClient, startTestNode, type TestNode, wireErrorOf } from './test-support.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const FRAMES_TOTAL = 12_000;
const CONNECTIONS = 6;
/** Frames a connection sends before it checks the node answers (and paces itself). */
const BURST_FRAMES = 40;
const STORM_DEADLINE_MS = 45_000;

const prng = mulberry32;

const packr = new Packr({ useRecords: false, variableMapSize: true });

function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0:
      return null;
    case 1:
      return Math.floor(r() * 2 ** 32) - 2 ** 31;
    case 2:
      return r() < 0.5 ? -1 : Math.floor(r() * 100);
    case 3:
      return ['storm', 'ok', '', '..', 'x'.repeat(300), 'topics', 'partitions'][Math.floor(r() * 7)];
    case 4:
      return r() < 0.5;
    case 5:
      return r() * 1e6;
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      const keys = [
        'topics',
        'partitions',
        'topic',
        'partition',
        'acks',
        'timeoutMs',
        'offset',
        'maxBytes',
        'batchBytes',
        'minBytes',
        'maxWaitMs',
        'name',
        'clientId',
        'clientVersion',
        'timestamp',
        'config',
      ];
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) o[keys[Math.floor(r() * keys.length)]!] = randomValue(r, depth + 1);
      return o;
    }
    default:
      return Buffer.from([Math.floor(r() * 256), Math.floor(r() * 256)]);
  }
}

/**
 * Valid frames the storm starts from. Writes (produce, create, delete) only name storm topics; 'keep'
 * appears only under reads, where no single mutation turns it into a delete.
 */
function templates(r: () => number): Buffer[] {
  const frame = (apiKey: number, body: unknown, raw: Uint8Array[] = []): Buffer =>
    Buffer.concat(
      encodeFrame(
        { frameType: FrameType.Request, apiKey, apiVersion: 0, correlationId: Math.floor(r() * 1e9) },
        body,
        raw,
      ),
    );
  const b = batchOf(['storm-value', 'another']);
  return [
    frame(ApiKey.Handshake, { clientId: 'storm', clientVersion: '0' }),
    frame(ApiKey.Metadata, { topics: ['storm'] }),
    frame(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 1000, partitions: [{ topic: 'storm', partition: 0, batchBytes: b.byteLength }] },
      [b],
    ),
    frame(
      ApiKey.Produce,
      { acks: 0, timeoutMs: 1000, partitions: [{ topic: 'storm', partition: 1, batchBytes: b.byteLength }] },
      [b],
    ),
    frame(ApiKey.Fetch, {
      maxWaitMs: 5,
      minBytes: 1,
      maxBytes: 4096,
      partitions: [{ topic: 'keep', partition: 0, offset: 0, maxBytes: 4096 }],
    }),
    frame(ApiKey.ListOffsets, { partitions: [{ topic: 'keep', partition: 1, timestamp: -1 }] }),
    frame(ApiKey.CreateTopics, { topics: [{ name: 'storm2', partitions: 2, config: { retentionMs: 60_000 } }] }),
    frame(ApiKey.DeleteTopics, { topics: ['storm2'] }),
    frame(ApiKey.DescribeTopics, { topics: ['storm', 'storm2'] }),
  ];
}

/** One mutated or random frame; `lie` is set when its length prefix no longer matches what follows. */
function mutant(r: () => number, base: Buffer[]): { bytes: Buffer; breaksStream: boolean } {
  const pick = Buffer.from(base[Math.floor(r() * base.length)]!);
  const kind = Math.floor(r() * 8);
  switch (kind) {
    case 0: {
      // Bit flips anywhere past the length prefix.
      const flips = 1 + Math.floor(r() * 4);
      for (let i = 0; i < flips; i++) {
        const at = 4 + Math.floor(r() * (pick.byteLength - 4));
        pick[at]! ^= 1 << Math.floor(r() * 8);
      }
      return { bytes: pick, breaksStream: false };
    }
    case 1: {
      // Truncation: the frame ends early; the stream is out of step afterwards.
      return { bytes: pick.subarray(0, Math.floor(r() * pick.byteLength)), breaksStream: true };
    }
    case 2: {
      // Length lie.
      const lie =
        Math.floor(r() * 3) === 0
          ? Math.floor(r() * 2 ** 32)
          : Math.max(0, pick.readUInt32BE(0) + Math.floor(r() * 41) - 20);
      pick.writeUInt32BE(lie >>> 0, 0);
      return { bytes: pick, breaksStream: true };
    }
    case 3: {
      pick.writeUInt16BE(Math.floor(r() * 65536), 5);
      if (r() < 0.5) pick.writeUInt16BE(Math.floor(r() * 3), 7);
      return { bytes: pick, breaksStream: false };
    }
    case 4: {
      // A random msgpack body under a real api key.
      const body = packr.pack(randomValue(r));
      const raw = r() < 0.3 ? batchOf(['r']) : new Uint8Array(0);
      const head = Buffer.alloc(17);
      head.writeUInt32BE(13 + body.byteLength + raw.byteLength, 0);
      head.writeUInt8(0, 4);
      head.writeUInt16BE(Math.floor(r() * 10), 5);
      head.writeUInt16BE(0, 7);
      head.writeUInt32BE(Math.floor(r() * 2 ** 32), 9);
      head.writeUInt32BE(body.byteLength, 13);
      return { bytes: Buffer.concat([head, body, raw]), breaksStream: false };
    }
    case 5: {
      // Bytes flipped inside the batch of a produce (header or records).
      const tail = Math.min(HEADER_BYTES + 30, pick.byteLength - 17);
      const at = pick.byteLength - 1 - Math.floor(r() * tail);
      pick[at]! ^= 1 << Math.floor(r() * 8);
      return { bytes: pick, breaksStream: false };
    }
    case 6: {
      // Pure noise with a plausible length prefix.
      const n = 13 + Math.floor(r() * 64);
      const buf = Buffer.alloc(4 + n);
      buf.writeUInt32BE(n, 0);
      for (let i = 4; i < buf.byteLength; i++) buf[i] = Math.floor(r() * 256);
      return { bytes: buf, breaksStream: false };
    }
    default:
      return { bytes: pick, breaksStream: false };
  }
}

let t: TestNode;
const unexpectedErrors: string[] = [];
const acknowledged: { partition: number; offset: number; value: string }[] = [];

beforeAll(async () => {
  const logger = createLogger('error', {}, (line) => {
    unexpectedErrors.push(line);
  });
  // Bounded partitions: a flipped bit in a create's partition count must not make the storm about opening logs.
  t = await startTestNode({ inFlightRequestsMax: 64, partitionsMax: 300 }, { logger });
  const c = await RawClient.connect(t.node.port);
  await c.handshake();
  await c.call(ApiKey.CreateTopics, {
    topics: [
      { name: 'keep', partitions: 2 },
      { name: 'storm', partitions: 2 },
    ],
  });
  for (let i = 0; i < 40; i++) {
    const partition = i % 2;
    const values = [`keep-${i}-a`, `keep-${i}-b`];
    const batch = batchOf(values);
    const r = await c.call<ProduceResponse>(
      ApiKey.Produce,
      { acks: 1, timeoutMs: 5000, partitions: [{ topic: 'keep', partition, batchBytes: batch.byteLength }] },
      [batch],
    );
    const p = r.body.partitions[0]!;
    expect(p.error).toBeNull();
    for (const [k, value] of values.entries()) acknowledged.push({ partition, offset: p.baseOffset + k, value });
  }
  await c.close();
});

afterAll(async () => {
  await t?.cleanup();
});

/** Error codes (0 = a response without a whole-request error) seen across the storm, and closes. */
const seen = new Map<number, number>();
let closesByServer = 0;
/** Per-partition error codes inside produce/fetch/list-offsets responses. */
const partitionErrors = new Map<number, number>();

function tally(c: RawClient): void {
  for (const f of c.unmatched.splice(0)) {
    const code = wireErrorOf(f)?.code ?? 0;
    seen.set(code, (seen.get(code) ?? 0) + 1);
    const parts = (f.body as { partitions?: { error?: { code?: number } | null }[] } | null)?.partitions;
    if (Array.isArray(parts)) {
      for (const p of parts) {
        const c = p?.error?.code;
        if (typeof c === 'number') partitionErrors.set(c, (partitionErrors.get(c) ?? 0) + 1);
      }
    }
  }
}

/** A valid request must be answered unless the node closed the connection (it may, after junk). */
async function probe(c: RawClient): Promise<void> {
  const id = c.send(ApiKey.Metadata, { topics: ['keep'] });
  try {
    await Promise.race([c.response(id, 10_000), c.closed]);
  } catch (err) {
    if (!c.isClosed) throw err;
  }
}

async function stormConnection(r: () => number, base: Buffer[], frames: number, deadline: number): Promise<number> {
  let sent = 0;
  let c: RawClient | null = null;
  while (sent < frames && Date.now() < deadline) {
    if (!c) {
      c = await RawClient.connect(t.node.port);
      // Most connections handshake first so the storm reaches the handlers, not only the gate.
      if (r() < 0.85) await c.handshake();
    }
    let outOfStep = false;
    for (let i = 0; i < BURST_FRAMES && sent < frames && !c.isClosed; i++) {
      const m = mutant(r, base);
      if (m.breaksStream) {
        // Collect the answers so far, then send the frame that puts the stream out of step. The node
        // may now wait for bytes that never come, so this connection ends here.
        await probe(c);
        c.writeRaw(m.bytes);
        sent++;
        outOfStep = true;
        break;
      }
      c.writeRaw(m.bytes);
      sent++;
    }
    if (!outOfStep) await probe(c);
    if (c.isClosed) {
      closesByServer++;
      tally(c);
      c = null;
    } else if (outOfStep) {
      c.destroy();
      await c.closed;
      tally(c);
      c = null;
    } else tally(c);
  }
  if (c && !c.isClosed) await c.close();
  if (c) tally(c);
  return sent;
}

describe('frame storm', () => {
  it(`survives ${FRAMES_TOTAL} random and mutated frames (seed ${SEED})`, async () => {
    const r = prng(SEED);
    const base = templates(r);
    const deadline = Date.now() + STORM_DEADLINE_MS;
    const per = Math.ceil(FRAMES_TOTAL / CONNECTIONS);
    const sent = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) => stormConnection(prng(SEED + i + 1), base, per, deadline)),
    );
    const total = sent.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(10_000);
    // The storm reached the handlers, not only the frame decoder: typed errors and successes both came back.
    for (const code of [
      0,
      ErrorCode.INVALID_REQUEST.code,
      ErrorCode.UNKNOWN_API.code,
      ErrorCode.HANDSHAKE_REQUIRED.code,
    ]) {
      expect(seen.get(code) ?? 0, `responses with code ${code}`).toBeGreaterThan(0);
    }
    expect(closesByServer).toBeGreaterThan(0);
    // Mutated batches reached the CRC/header check.
    expect(partitionErrors.get(ErrorCode.CORRUPT_MESSAGE.code) ?? 0).toBeGreaterThan(0);

    const c = await RawClient.connect(t.node.port);
    await c.handshake();
    const meta = await c.call<{ topics: { name: string; partitions: unknown[] }[] }>(ApiKey.Metadata, {
      topics: ['keep'],
    });
    expect(meta.body.topics[0]!.partitions).toHaveLength(2);
    for (const partition of [0, 1]) {
      const f = await c.call<FetchResponse>(ApiKey.Fetch, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        partitions: [{ topic: 'keep', partition, offset: 0, maxBytes: 1 << 20 }],
      });
      const records = splitBatches(f.raw).flatMap((b) => decodeBatch(b));
      const expected = acknowledged.filter((a) => a.partition === partition);
      for (const a of expected) {
        const rec = records.find((x) => x.offset === a.offset);
        expect(rec && Buffer.from(rec.value).toString(), `keep/${partition}@${a.offset}`).toBe(a.value);
      }
    }
    await c.close();
    expect(unexpectedErrors).toEqual([]);
    console.log(
      `storm: ${total} frames, ${closesByServer} server closes, responses by code ${JSON.stringify([...seen].sort((a, b) => a[0] - b[0]))}, partition errors by code ${JSON.stringify([...partitionErrors].sort((a, b) => a[0] - b[0]))}`,
    );
  });
});
