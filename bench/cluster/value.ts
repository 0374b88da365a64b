/**
 * The layout of every benchmark value: the send time (process.hrtime.bigint(),
 * big-endian u64 nanoseconds, as bench/cluster/target.ts describes), then the
 * producer index and its sequence number (u32 each), so the consumer side can
 * tell exactly which send it received; the rest is fixed-seed random bytes.
 */
import { mulberry32 } from '../../node/util/prng.ts';

export const valueHeaderBytes = 16;

/** The payload bytes after the header, the same on every run. */
export function payloadTemplate(sizeBytes: number, seed = 42): Buffer {
  const r = mulberry32(seed);
  const b = Buffer.allocUnsafe(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** A fresh value (targets may keep a reference until the acknowledgement). */
export function makeValue(template: Buffer, stampNs: bigint, producer: number, sequence: number): Buffer {
  const b = Buffer.allocUnsafe(template.byteLength);
  template.copy(b, valueHeaderBytes, valueHeaderBytes);
  b.writeBigUInt64BE(stampNs, 0);
  b.writeUInt32BE(producer, 8);
  b.writeUInt32BE(sequence, 12);
  return b;
}

export interface ValueId {
  stampNs: bigint;
  producer: number;
  sequence: number;
}

/** null when the value is too short to be one of ours. */
export function readValue(v: Uint8Array): ValueId | null {
  if (v.byteLength < valueHeaderBytes) return null;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return { stampNs: dv.getBigUint64(0), producer: dv.getUint32(8), sequence: dv.getUint32(12) };
}

/** A bit per sequence number, grown on demand up to a bound. */
export class BitSet {
  private bits = new Uint8Array(1024);
  private readonly bitsMax: number;

  constructor(bitsMax: number) {
    this.bitsMax = bitsMax;
  }

  /** Sets bit i; returns whether it was clear before. */
  set(i: number): boolean {
    if (!(Number.isInteger(i) && i >= 0 && i < this.bitsMax))
      throw new RangeError(`bit ${i} outside [0, ${this.bitsMax})`);
    const byte = i >>> 3;
    if (byte >= this.bits.byteLength) {
      const grown = new Uint8Array(Math.min(Math.ceil(this.bitsMax / 8), Math.max(byte + 1, this.bits.byteLength * 2)));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (i & 7);
    const was = (this.bits[byte]! & mask) !== 0;
    this.bits[byte]! |= mask;
    return !was;
  }

  has(i: number): boolean {
    const byte = i >>> 3;
    return byte < this.bits.byteLength && (this.bits[byte]! & (1 << (i & 7))) !== 0;
  }
}
