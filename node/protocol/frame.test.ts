import { describe, expect, it } from 'vitest';
import { ErrorCode, RaftbusError } from './errors.ts';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, FrameError, FrameType } from './frame.ts';

function frameBytes(body: unknown, raw: Uint8Array[] = [], correlationId = 7, apiKey = 6): Buffer {
  return Buffer.concat(encodeFrame({ frameType: FrameType.Request, apiKey, apiVersion: 0, correlationId }, body, raw));
}

describe('frame codec', () => {
  it('round-trips header, body and raw section', () => {
    const raw = [Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5])];
    const bytes = frameBytes({ a: 1, s: 'x', list: [1, 2] }, raw, 0xfffffffe, 9);
    expect(bytes.readUInt32BE(0)).toBe(bytes.byteLength - 4);
    const f = decodeFrame(bytes.subarray(4));
    expect(f.frameType).toBe(FrameType.Request);
    expect(f.apiKey).toBe(9);
    expect(f.correlationId).toBe(0xfffffffe);
    expect(f.body).toEqual({ a: 1, s: 'x', list: [1, 2] });
    expect([...f.raw]).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses to encode a frame over the limit with a typed error', () => {
    let caught: unknown;
    try {
      encodeFrame(
        { frameType: FrameType.Response, apiKey: 1, apiVersion: 0, correlationId: 1 },
        {},
        [new Uint8Array(200)],
        100,
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RaftbusError);
    expect((caught as RaftbusError).is(ErrorCode.FRAME_TOO_LARGE)).toBe(true);
  });

  it('decodes frames fed byte by byte', () => {
    const stream = Buffer.concat([
      frameBytes({ n: 1 }, [], 1),
      frameBytes({ n: 2 }, [Uint8Array.from([9])], 2),
      frameBytes(null, [], 3),
    ]);
    const d = new FrameDecoder(1024);
    const got = [];
    for (let i = 0; i < stream.byteLength; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got.map((f) => f.correlationId)).toEqual([1, 2, 3]);
    expect(got.map((f) => f.body)).toEqual([{ n: 1 }, { n: 2 }, null]);
    expect([...got[1]!.raw]).toEqual([9]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('decodes frames under every split point of a two-frame stream', () => {
    const stream = Buffer.concat([
      frameBytes({ k: 'first' }, [Uint8Array.from([1, 2])], 11),
      frameBytes({ k: 'second' }, [], 12),
    ]);
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      const d = new FrameDecoder(1024);
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(got.map((f) => f.correlationId)).toEqual([11, 12]);
    }
  });

  it('holds a truncated frame without emitting it', () => {
    const whole = frameBytes({ n: 1 });
    const d = new FrameDecoder(1024);
    expect(d.push(whole.subarray(0, whole.byteLength - 1))).toEqual([]);
    expect(d.bufferedBytes).toBe(whole.byteLength - 1);
    expect(d.push(whole.subarray(whole.byteLength - 1))).toHaveLength(1);
  });

  it('rejects a length prefix over the limit before buffering the frame', () => {
    const d = new FrameDecoder(1024);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(1025);
    expect(() => d.push(prefix)).toThrow(FrameError);
    try {
      new FrameDecoder(1024).push(prefix);
    } catch (err) {
      expect((err as FrameError).code).toBe('FRAME_TOO_LARGE');
    }
  });

  it('rejects a frame shorter than its header', () => {
    const b = Buffer.alloc(4 + 3);
    b.writeUInt32BE(3);
    expect(() => new FrameDecoder(1024).push(b)).toThrow(/shorter than its header/);
  });

  it('rejects an unknown frame type, a body that overruns the frame, and a body that is not msgpack', () => {
    const good = frameBytes({ n: 1 });
    const badType = Buffer.from(good);
    badType.writeUInt8(7, 4);
    expect(() => new FrameDecoder(1024).push(badType)).toThrow(/unknown frame type/);

    const overrun = Buffer.from(good);
    overrun.writeUInt32BE(1000, 13);
    expect(() => new FrameDecoder(1024).push(overrun)).toThrow(/overruns/);

    // A two-element array holding one element: msgpack that ends early.
    const notMsgpack = Buffer.alloc(FRAME_HEADER_BYTES + 2);
    notMsgpack.writeUInt32BE(FRAME_HEADER_BYTES - 4 + 2, 0);
    notMsgpack.writeUInt32BE(2, 13);
    notMsgpack.writeUInt8(0x92, FRAME_HEADER_BYTES);
    notMsgpack.writeUInt8(0x01, FRAME_HEADER_BYTES + 1);
    expect(() => new FrameDecoder(1024).push(notMsgpack)).toThrow(FrameError);
  });

  it('never throws anything but FrameError on garbage', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    let frameErrors = 0;
    for (let i = 0; i < 500; i++) {
      const len = rand() % 64;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = rand() & 0xff;
      // Keep the length prefix small so garbage is parsed rather than only length-checked.
      if (len >= 4 && i % 2 === 0) buf.writeUInt32BE(Math.max(0, len - 4), 0);
      try {
        new FrameDecoder(1024).push(buf);
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
        frameErrors++;
      }
    }
    expect(frameErrors).toBeGreaterThan(0);
  });
});
