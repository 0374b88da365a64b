/**
 * Splits a byte stream into length-prefixed frames: [u32 BE payload length][payload].
 * Enforces the frame size limit before buffering the payload, so a peer cannot
 * make us allocate more than frameBytesMax.
 */
import { FrameTooLargeError } from './errors.ts';

export const frameHeaderBytes = 4;

export function frameBytes(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, frameHeaderBytes);
  return out;
}

export class FrameReader {
  readonly frameBytesMax: number;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax;
  }

  /** Feed bytes; returns the complete payloads now available. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const out: Buffer[] = [];
    while (this.bufferedBytes >= frameHeaderBytes) {
      const head = this.peek(frameHeaderBytes);
      const payloadBytes = head.readUInt32BE(0);
      if (payloadBytes > this.frameBytesMax) throw new FrameTooLargeError(payloadBytes, this.frameBytesMax);
      if (this.bufferedBytes < frameHeaderBytes + payloadBytes) break;
      const whole = this.take(frameHeaderBytes + payloadBytes);
      out.push(whole.subarray(frameHeaderBytes));
    }
    return out;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const joined = this.peek(n);
    const taken = joined.subarray(0, n);
    const rest = joined.subarray(n);
    if (rest.length > 0) this.chunks[0] = rest;
    else this.chunks.shift();
    this.bufferedBytes -= n;
    return taken;
  }
}
