/**
 * The sparse indexes of one segment, held in memory and written to disk when
 * the segment is closed (rolled or the log is closed).
 *
 * `.index`:     entries of (relativeOffset u32, position u32), 8 bytes each: the
 *               batch starting at relativeOffset sits at byte `position`.
 * `.timeindex`: entries of (maxTimestamp u64, relativeOffset u32), 12 bytes each:
 *               every batch up to and including the one at relativeOffset has
 *               maxTimestamp <= this value (a running maximum, so it only grows).
 *
 * Both files end with a 16-byte seal: magic u32, entry count u32, the segment's
 * length in bytes u32, CRC-32 u32 of everything before the CRC. The seal lets
 * open() tell a complete index of exactly this segment from a missing, short,
 * torn or stale one, which it then rebuilds by scanning the segment. Nothing
 * depends on an index being durable, so they are written without fdatasync.
 */
import { crc32 } from 'node:zlib';

const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;
const SEAL_BYTES = 16;
const OFFSET_INDEX_MAGIC = 0x52424958; // 'RBIX'
const TIME_INDEX_MAGIC = 0x52425458; // 'RBTX'
const U32_MAX = 0xffff_ffff;

/** Index of the last element of the sorted `keys` that is <= `target`, or -1. */
function floorIndex(keys: readonly number[], target: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= target) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function seal(out: Uint8Array, at: number, magic: number, count: number, segmentBytes: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(at, magic);
  dv.setUint32(at + 4, count);
  dv.setUint32(at + 8, segmentBytes);
  dv.setUint32(at + 12, crc32(out.subarray(0, at + 12)));
}

/** Returns the entry count when the seal is intact and matches; null otherwise. */
function checkSeal(buf: Uint8Array, entryBytes: number, magic: number, segmentBytes: number): number | null {
  if (buf.byteLength < SEAL_BYTES || (buf.byteLength - SEAL_BYTES) % entryBytes !== 0) return null;
  const at = buf.byteLength - SEAL_BYTES;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(at) !== magic) return null;
  const count = dv.getUint32(at + 4);
  if (count * entryBytes !== at) return null;
  if (dv.getUint32(at + 8) !== segmentBytes) return null;
  if (dv.getUint32(at + 12) !== crc32(buf.subarray(0, at + 12))) return null;
  return count;
}

export class OffsetIndex {
  readonly relOffsets: number[] = [];
  readonly positions: number[] = [];

  get length(): number {
    return this.relOffsets.length;
  }

  add(relOffset: number, position: number): void {
    const n = this.relOffsets.length;
    if (relOffset < 0 || relOffset > U32_MAX || position < 0 || position > U32_MAX) {
      throw new Error(`index entry (${relOffset}, ${position}) does not fit u32`);
    }
    if (n > 0 && (relOffset <= this.relOffsets[n - 1]! || position <= this.positions[n - 1]!)) {
      throw new Error(`index entry (${relOffset}, ${position}) does not follow the last one`);
    }
    this.relOffsets.push(relOffset);
    this.positions.push(position);
  }

  /** Position of the last indexed batch starting at or before relOffset; 0 (the segment start) if none. */
  floorPosition(relOffset: number): number {
    const i = floorIndex(this.relOffsets, relOffset);
    return i < 0 ? 0 : this.positions[i]!;
  }

  lastPosition(): number {
    return this.positions.length === 0 ? 0 : this.positions[this.positions.length - 1]!;
  }

  /** Drops every entry for a batch at or after `position` (the segment is truncated there). */
  truncateToPosition(position: number): void {
    let n = this.positions.length;
    while (n > 0 && this.positions[n - 1]! >= position) n--;
    this.relOffsets.length = n;
    this.positions.length = n;
  }

  serialize(segmentBytes: number): Uint8Array {
    const n = this.relOffsets.length;
    const out = new Uint8Array(n * OFFSET_ENTRY_BYTES + SEAL_BYTES);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      dv.setUint32(i * OFFSET_ENTRY_BYTES, this.relOffsets[i]!);
      dv.setUint32(i * OFFSET_ENTRY_BYTES + 4, this.positions[i]!);
    }
    seal(out, n * OFFSET_ENTRY_BYTES, OFFSET_INDEX_MAGIC, n, segmentBytes);
    return out;
  }

  /** Parses a sealed index of a segment of `segmentBytes`; null if it is not exactly that. */
  static parse(buf: Uint8Array, segmentBytes: number): OffsetIndex | null {
    const n = checkSeal(buf, OFFSET_ENTRY_BYTES, OFFSET_INDEX_MAGIC, segmentBytes);
    if (n === null) return null;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const index = new OffsetIndex();
    for (let i = 0; i < n; i++) {
      const rel = dv.getUint32(i * OFFSET_ENTRY_BYTES);
      const pos = dv.getUint32(i * OFFSET_ENTRY_BYTES + 4);
      if (pos >= segmentBytes && segmentBytes > 0) return null;
      if (i > 0 && (rel <= index.relOffsets[i - 1]! || pos <= index.positions[i - 1]!)) return null;
      index.relOffsets.push(rel);
      index.positions.push(pos);
    }
    return index;
  }
}

export class TimeIndex {
  readonly timestamps: number[] = [];
  readonly relOffsets: number[] = [];

  get length(): number {
    return this.timestamps.length;
  }

  lastTimestamp(): number {
    return this.timestamps.length === 0 ? -1 : this.timestamps[this.timestamps.length - 1]!;
  }

  /** Records the running maximum timestamp as of the batch at relOffset, if it grew. */
  maybeAdd(maxTimestampSoFar: number, relOffset: number): void {
    const n = this.timestamps.length;
    if (n > 0 && maxTimestampSoFar <= this.timestamps[n - 1]!) return;
    if (n > 0 && relOffset <= this.relOffsets[n - 1]!) throw new Error(`time index offset ${relOffset} goes back`);
    this.timestamps.push(maxTimestampSoFar);
    this.relOffsets.push(relOffset);
  }

  /**
   * Relative offset of the last entry whose running maximum is < timestampMs: no
   * batch up to it can match, so a search may start there. -1 when none.
   */
  lastBelow(timestampMs: number): number {
    const i = floorIndex(this.timestamps, timestampMs - 1);
    return i < 0 ? -1 : this.relOffsets[i]!;
  }

  truncateToRelOffset(relOffset: number): void {
    let n = this.relOffsets.length;
    while (n > 0 && this.relOffsets[n - 1]! >= relOffset) n--;
    this.relOffsets.length = n;
    this.timestamps.length = n;
  }

  serialize(segmentBytes: number): Uint8Array {
    const n = this.timestamps.length;
    const out = new Uint8Array(n * TIME_ENTRY_BYTES + SEAL_BYTES);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      const ts = this.timestamps[i]!;
      dv.setUint32(i * TIME_ENTRY_BYTES, Math.floor(ts / 0x1_0000_0000));
      dv.setUint32(i * TIME_ENTRY_BYTES + 4, ts >>> 0);
      dv.setUint32(i * TIME_ENTRY_BYTES + 8, this.relOffsets[i]!);
    }
    seal(out, n * TIME_ENTRY_BYTES, TIME_INDEX_MAGIC, n, segmentBytes);
    return out;
  }

  static parse(buf: Uint8Array, segmentBytes: number): TimeIndex | null {
    const n = checkSeal(buf, TIME_ENTRY_BYTES, TIME_INDEX_MAGIC, segmentBytes);
    if (n === null) return null;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const index = new TimeIndex();
    for (let i = 0; i < n; i++) {
      const ts = dv.getUint32(i * TIME_ENTRY_BYTES) * 0x1_0000_0000 + dv.getUint32(i * TIME_ENTRY_BYTES + 4);
      const rel = dv.getUint32(i * TIME_ENTRY_BYTES + 8);
      if (i > 0 && (ts <= index.timestamps[i - 1]! || rel <= index.relOffsets[i - 1]!)) return null;
      index.timestamps.push(ts);
      index.relOffsets.push(rel);
    }
    return index;
  }
}
