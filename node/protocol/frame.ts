/**
 * Framing of the client protocol. Every frame:
 *
 *   off size field
 *    0   4   frameBytes     bytes after this field (<= frameBytesMax)
 *    4   1   frameType      FrameType.Request | FrameType.Response
 *    5   2   apiKey
 *    7   2   apiVersion
 *    9   4   correlationId  chosen by the client, echoed by the server
 *   13   4   bodyBytes      length of the msgpack body that follows
 *   17   ..  body           msgpack (plain: no msgpackr record extension)
 *   ..   ..  raw            frameBytes - FRAME_HEADER_BYTES + 4 - bodyBytes bytes:
 *                           record batches, back to back, in the order the body lists them
 *
 * Record batches travel as raw bytes after the body so the broker never
 * re-encodes them and a fetch response can be written straight from the log.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ErrorCode, RaftbusError } from './errors.ts';

export const FRAME_HEADER_BYTES = 17;
export const DEFAULT_FRAME_BYTES_MAX = 16 * 1024 * 1024;

export const FrameType = {
  Request: 0,
  Response: 1,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface FrameHeader {
  frameType: FrameType;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

export interface Frame extends FrameHeader {
  body: unknown;
  /** Raw bytes after the body (record batches); a view into the received buffer. */
  raw: Uint8Array;
}

/** The stream cannot be parsed any further: the connection must be closed. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly code: 'FRAME_TOO_LARGE' | 'MALFORMED_FRAME';
  constructor(code: 'FRAME_TOO_LARGE' | 'MALFORMED_FRAME', message: string) {
    super(message);
    this.code = code;
  }
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false });

/**
 * Encodes a frame as a list of buffers for one `writev` (header+body, then each
 * raw chunk as given, uncopied). Throws RaftbusError(FRAME_TOO_LARGE) when the
 * frame would exceed `frameBytesMax`.
 */
export function encodeFrame(
  header: FrameHeader,
  body: unknown,
  raw: readonly Uint8Array[] = [],
  frameBytesMax = DEFAULT_FRAME_BYTES_MAX,
): Buffer[] {
  const bodyBytes: Buffer = packr.pack(body);
  let rawBytes = 0;
  for (const r of raw) rawBytes += r.byteLength;
  const frameBytes = FRAME_HEADER_BYTES - 4 + bodyBytes.byteLength + rawBytes;
  if (frameBytes > frameBytesMax) {
    throw new RaftbusError(ErrorCode.FRAME_TOO_LARGE, { bytes: frameBytes, limit: frameBytesMax });
  }
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes.byteLength);
  head.writeUInt32BE(frameBytes, 0);
  head.writeUInt8(header.frameType, 4);
  head.writeUInt16BE(header.apiKey, 5);
  head.writeUInt16BE(header.apiVersion, 7);
  head.writeUInt32BE(header.correlationId >>> 0, 9);
  head.writeUInt32BE(bodyBytes.byteLength, 13);
  bodyBytes.copy(head, FRAME_HEADER_BYTES);
  const out: Buffer[] = [head];
  for (const r of raw) {
    if (r.byteLength > 0) out.push(Buffer.isBuffer(r) ? r : Buffer.from(r.buffer, r.byteOffset, r.byteLength));
  }
  return out;
}

/** Decodes the header, body and raw part of one complete frame (without its 4-byte length prefix). */
export function decodeFrame(payload: Buffer): Frame {
  if (payload.byteLength < FRAME_HEADER_BYTES - 4) {
    throw new FrameError('MALFORMED_FRAME', `frame of ${payload.byteLength} bytes is shorter than its header`);
  }
  const frameType = payload.readUInt8(0);
  if (frameType !== FrameType.Request && frameType !== FrameType.Response) {
    throw new FrameError('MALFORMED_FRAME', `unknown frame type ${frameType}`);
  }
  const apiKey = payload.readUInt16BE(1);
  const apiVersion = payload.readUInt16BE(3);
  const correlationId = payload.readUInt32BE(5);
  const bodyBytes = payload.readUInt32BE(9);
  const bodyStart = FRAME_HEADER_BYTES - 4;
  if (bodyStart + bodyBytes > payload.byteLength) {
    throw new FrameError('MALFORMED_FRAME', `body of ${bodyBytes} bytes overruns a frame of ${payload.byteLength}`);
  }
  let body: unknown = null;
  if (bodyBytes > 0) {
    try {
      body = unpackr.unpack(payload.subarray(bodyStart, bodyStart + bodyBytes));
    } catch (err) {
      throw new FrameError('MALFORMED_FRAME', `frame body is not msgpack: ${(err as Error).message}`);
    }
  }
  return {
    frameType: frameType as FrameType,
    apiKey,
    apiVersion,
    correlationId,
    body,
    raw: payload.subarray(bodyStart + bodyBytes),
  };
}

/**
 * Incremental frame reader for a byte stream. Feed it chunks; it returns the
 * complete frames. It keeps at most one partial frame (bounded by
 * frameBytesMax) and throws FrameError when the stream is unparsable, after
 * which the connection must be closed.
 */
export class FrameDecoder {
  readonly frameBytesMax: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(frameBytesMax = DEFAULT_FRAME_BYTES_MAX) {
    this.frameBytesMax = frameBytesMax;
  }

  /** Bytes held for a partial frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    const frames: Frame[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const frameBytes = this.peekLength();
        if (frameBytes > this.frameBytesMax) {
          throw new FrameError(
            'FRAME_TOO_LARGE',
            `frame of ${frameBytes} bytes exceeds the limit of ${this.frameBytesMax}`,
          );
        }
        if (frameBytes < FRAME_HEADER_BYTES - 4) {
          throw new FrameError('MALFORMED_FRAME', `frame of ${frameBytes} bytes is shorter than its header`);
        }
        this.need = frameBytes;
      }
      if (this.buffered < 4 + this.need) break;
      const whole = this.take(4 + this.need);
      this.need = -1;
      frames.push(decodeFrame(whole.subarray(4)));
    }
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.byteLength >= 4) return first.readUInt32BE(0);
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.byteLength >= n) {
      out = first.subarray(0, n);
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const joined = Buffer.concat(this.chunks, this.buffered);
      out = joined.subarray(0, n);
      this.chunks = joined.byteLength > n ? [joined.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
