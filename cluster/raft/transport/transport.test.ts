import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../types.ts';
import { decodeFrame, encodeBatch, encodeBatchFrame, encodeHello, wireVersion } from './batch-codec.ts';
import { FrameDecodeError } from './errors.ts';
import { FrameReader, frameBytes } from './frame-reader.ts';
import { MemoryHub } from './memory-hub.ts';
import { TcpTransport } from './tcp-transport.ts';
import { appMessage, eventually } from './test-helpers.ts';
import type { PeerBatch } from './transport.ts';

function batchOf(from: number, to: number, text: string): PeerBatch {
  return {
    messages: [{ group: 42, msg: appMessage(from, to, text) }],
    heartbeats: [{ group: 7, term: 3, commit: 9, flags: 1 }],
    heartbeatAcks: [{ group: 8, term: 4 }],
  };
}

describe('batch codec', () => {
  it('round-trips a batch with messages, heartbeats and acks', () => {
    const b = batchOf(1, 2, 'hello');
    b.messages[0]!.msg.snapshot = {
      meta: { index: 5, term: 2, conf: { voters: [1, 2, 3], learners: [4], votersOutgoing: [] } },
      data: new Uint8Array([1, 2, 3]),
    };
    b.messages[0]!.msg.context = new Uint8Array([9]);
    const f = decodeFrame(encodeBatch(b));
    expect(f.kind).toBe('batch');
    if (f.kind !== 'batch') return;
    expect(f.batch.heartbeats).toEqual(b.heartbeats);
    expect(f.batch.heartbeatAcks).toEqual(b.heartbeatAcks);
    const m = f.batch.messages[0]!.msg;
    expect(f.batch.messages[0]!.group).toBe(42);
    expect(m.term).toBe(3);
    expect(new TextDecoder().decode(m.entries[0]!.data)).toBe('hello');
    expect(m.snapshot?.meta.conf.voters).toEqual([1, 2, 3]);
    expect([...(m.context ?? [])]).toEqual([9]);
  });

  it('rejects garbage with a typed error, never another exception', () => {
    const samples: Uint8Array[] = [
      new Uint8Array([0xc1]),
      new Uint8Array([0x93, 2, 0x90, 0x90]),
      encodeHello({ version: 1, from: -1, to: 2, clusterTag: 'x' }),
    ];
    let seed = 12345;
    for (let i = 0; i < 200; i++) {
      const valid = encodeBatch(batchOf(1, 2, `x${i}`));
      const corrupt = Uint8Array.from(valid);
      seed = (seed * 1103515245 + 12345) >>> 0;
      const at = seed % corrupt.length;
      corrupt[at] = (corrupt[at] ?? 0) ^ (1 + (seed % 255));
      samples.push(corrupt);
    }
    for (const s of samples) {
      try {
        decodeFrame(s);
      } catch (err) {
        expect(err).toBeInstanceOf(FrameDecodeError);
      }
    }
  });

  it('carries entry data as raw bytes: exact round trip, views of the frame, lengths checked', () => {
    const b = batchOf(1, 2, 'first');
    const m = b.messages[0]!.msg;
    m.entries.push({ term: 3, index: 9, type: 0, data: new Uint8Array(0) });
    m.entries.push({ term: 3, index: 10, type: 0, data: new Uint8Array(3000).fill(5) });
    b.messages.push({ group: 43, msg: appMessage(1, 2, 'second group') });
    const { parts, payloadBytes } = encodeBatchFrame(b);
    // The data buffers themselves are parts of the frame: nothing was copied on the way out.
    expect(parts).toContain(m.entries[2]!.data);
    const payload = encodeBatch(b);
    expect(payload.length).toBe(payloadBytes);
    const f = decodeFrame(payload);
    if (f.kind !== 'batch') throw new Error('expected a batch');
    const got = f.batch.messages.map((x) => x.msg.entries.map((e) => Buffer.from(e.data).toString('hex')));
    const want = b.messages.map((x) => x.msg.entries.map((e) => Buffer.from(e.data).toString('hex')));
    expect(got).toEqual(want);
    expect(f.batch.messages[0]!.msg.entries[2]!.data.buffer).toBe(payload.buffer);
    // A raw section shorter or longer than the entries say is rejected.
    expect(() => decodeFrame(payload.subarray(0, payload.length - 1))).toThrow(FrameDecodeError);
    expect(() => decodeFrame(Buffer.concat([payload, Buffer.from([0])]))).toThrow(FrameDecodeError);
  });

  it('frame reader splits frames across chunk boundaries and bounds their size', () => {
    const r = new FrameReader(100);
    const a = frameBytes(new Uint8Array([1, 2, 3]));
    const b = frameBytes(new Uint8Array(50).fill(7));
    const joined = Buffer.concat([a, b]);
    const out: Buffer[] = [];
    for (let i = 0; i < joined.length; i += 3) out.push(...r.push(joined.subarray(i, i + 3)));
    expect(out.map((x) => x.length)).toEqual([3, 50]);
    expect(() => r.push(frameBytes(new Uint8Array(101)))).toThrow(/exceeds/);
  });
});

describe('MemoryHub', () => {
  it('delivers copies, and partition/heal cut and restore links', async () => {
    const hub = new MemoryHub();
    const got: Array<[NodeId, PeerBatch]> = [];
    const unreachable: NodeId[] = [];
    const t1 = hub.transport(1);
    const t2 = hub.transport(2);
    t2.onMessage((from, b) => got.push([from, b]));
    t1.onUnreachable((p) => unreachable.push(p));
    await t1.start();
    await t2.start();
    const sent = batchOf(1, 2, 'a');
    expect(t1.send(2, sent)).toBe(true);
    await eventually(() => got.length === 1);
    expect(got[0]![0]).toBe(1);
    expect(got[0]![1]).not.toBe(sent);
    hub.partition([1], [2]);
    expect(t1.send(2, batchOf(1, 2, 'b'))).toBe(false);
    expect(unreachable).toEqual([2]);
    hub.heal();
    expect(t1.send(2, batchOf(1, 2, 'c'))).toBe(true);
    await eventually(() => got.length === 2);
    expect(new TextDecoder().decode(got[1]![1].messages[0]!.msg.entries[0]!.data)).toBe('c');
  });
});

describe('TcpTransport', () => {
  const started: TcpTransport[] = [];
  afterEach(async () => {
    for (const t of started.splice(0)) await t.stop();
  });

  async function pair(): Promise<[TcpTransport, TcpTransport]> {
    const t2 = new TcpTransport({ localId: 2 });
    await t2.start();
    const t1 = new TcpTransport({ localId: 1, peers: new Map([[2, { host: '127.0.0.1', port: t2.port }]]) });
    t2.addPeer(1, undefined);
    await t1.start();
    started.push(t1, t2);
    await eventually(() => t1.isConnected(2) && t2.isConnected(1));
    return [t1, t2];
  }

  it('carries batches both ways over one connection', async () => {
    const [t1, t2] = await pair();
    const at1: PeerBatch[] = [];
    const at2: PeerBatch[] = [];
    t1.onMessage((from, b) => {
      expect(from).toBe(2);
      at1.push(b);
    });
    t2.onMessage((from, b) => {
      expect(from).toBe(1);
      at2.push(b);
    });
    for (let i = 0; i < 100; i++) expect(t1.send(2, batchOf(1, 2, `m${i}`))).toBe(true);
    expect(t2.send(1, batchOf(2, 1, 'back'))).toBe(true);
    await eventually(() => at2.length === 100 && at1.length === 1);
    expect(at2.map((b) => new TextDecoder().decode(b.messages[0]!.msg.entries[0]!.data))).toEqual(
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
  });

  it('closes a connection that sends garbage and keeps serving others', async () => {
    const [t1, t2] = await pair();
    const garbage = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      frameBytes(new Uint8Array([0xc1, 0xc1])),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      frameBytes(encodeHello({ version: wireVersion, from: 1, to: 99, clusterTag: 'raftbus' })),
      frameBytes(encodeBatch(batchOf(1, 2, 'before-hello'))),
    ];
    for (const g of garbage) {
      const s = net.connect({ host: '127.0.0.1', port: t2.port });
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(g);
      await new Promise<void>((r) => s.once('close', () => r()));
    }
    expect(t2.stats.connectionsRejected).toBe(garbage.length);
    const at2: PeerBatch[] = [];
    t2.onMessage((_, b) => at2.push(b));
    t1.send(2, batchOf(1, 2, 'still-works'));
    await eventually(() => at2.length === 1);
  });

  it('reports unreachable while the peer is down and reconnects when it returns', async () => {
    const [t1, t2] = await pair();
    const port2 = t2.port;
    const unreachable: NodeId[] = [];
    t1.onUnreachable((p) => unreachable.push(p));
    await t2.stop();
    await eventually(() => !t1.isConnected(2));
    expect(t1.send(2, batchOf(1, 2, 'lost'))).toBe(false);
    expect(unreachable).toContain(2);
    const t2b = new TcpTransport({ localId: 2, listenPort: port2 });
    t2b.addPeer(1, undefined);
    const at2: PeerBatch[] = [];
    t2b.onMessage((_, b) => at2.push(b));
    await t2b.start();
    started.push(t2b);
    await eventually(() => t1.isConnected(2), { timeoutMs: 10_000 });
    t1.send(2, batchOf(1, 2, 'again'));
    await eventually(() => at2.length === 1);
  });

  it('drops instead of queueing without bound when the send queue is full', async () => {
    const t2 = new TcpTransport({ localId: 2 });
    await t2.start();
    t2.addPeer(1, undefined);
    const t1 = new TcpTransport({
      localId: 1,
      sendQueueBytesMax: 64 * 1024,
      peers: new Map([[2, { host: '127.0.0.1', port: t2.port }]]),
    });
    await t1.start();
    started.push(t1, t2);
    await eventually(() => t1.isConnected(2));
    const big = batchOf(1, 2, 'x'.repeat(64 * 1024));
    let dropped = 0;
    for (let i = 0; i < 1000; i++) if (!t1.send(2, big)) dropped++;
    expect(dropped).toBeGreaterThan(0);
    expect(t1.stats.batchesDropped).toBe(dropped);
  });
});
