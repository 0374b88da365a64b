/**
 * One framed record of a segment file:
 *   [u32 LE payload bytes][u32 LE crc32(payload)][payload]
 * payload of an entry record (binary, no decoder needed for the header):
 *   [u8 kind=1][u48 LE term][u48 LE index][u8 entry type][data...]
 * The CRC is checked when writing (computed over the exact bytes) and again
 * whenever a record is read back, during recovery or from an old segment.
 */
import zlib from 'node:zlib';
import type { Entry, EntryType } from '../types.ts';
import { StorageCorruptError } from './errors.ts';

export const recordHeaderBytes = 8;
const entryHeaderBytes = 14;
export const RecordKind = { Entry: 1 } as const;
/** Bound on one record, well above any sane entry, so a corrupt length is recognised as such. */
export const recordBytesMax = 256 * 1024 * 1024;
const entryTypeMax = 1;

export function entryRecordBytes(e: Entry): number {
  return recordHeaderBytes + entryHeaderBytes + e.data.length;
}

/** Writes the record of `e` into `out` at `at`; returns the bytes written. */
export function writeEntryRecord(out: Buffer, at: number, e: Entry): number {
  const payloadBytes = entryHeaderBytes + e.data.length;
  const p = at + recordHeaderBytes;
  out.writeUInt8(RecordKind.Entry, p);
  out.writeUIntLE(e.term, p + 1, 6);
  out.writeUIntLE(e.index, p + 7, 6);
  out.writeUInt8(e.type, p + 13);
  out.set(e.data, p + entryHeaderBytes);
  out.writeUInt32LE(payloadBytes, at);
  out.writeUInt32LE(zlib.crc32(out.subarray(p, p + payloadBytes)), at + 4);
  return recordHeaderBytes + payloadBytes;
}

export type RecordScan =
  | { ok: true; entry: Entry; recordBytes: number }
  | { ok: false; reason: 'short' | 'length' | 'crc' | 'kind' };

/** Parses the record at `at`; never throws on bad bytes, says why instead. */
export function scanRecord(buf: Buffer, at: number): RecordScan {
  if (buf.length - at < recordHeaderBytes) return { ok: false, reason: 'short' };
  const payloadBytes = buf.readUInt32LE(at);
  if (payloadBytes < entryHeaderBytes || payloadBytes > recordBytesMax) return { ok: false, reason: 'length' };
  if (buf.length - at - recordHeaderBytes < payloadBytes) return { ok: false, reason: 'short' };
  const p = at + recordHeaderBytes;
  const payload = buf.subarray(p, p + payloadBytes);
  if (zlib.crc32(payload) !== buf.readUInt32LE(at + 4)) return { ok: false, reason: 'crc' };
  const type = payload.readUInt8(13);
  if (payload.readUInt8(0) !== RecordKind.Entry || type > entryTypeMax) return { ok: false, reason: 'kind' };
  const entry: Entry = {
    term: payload.readUIntLE(1, 6),
    index: payload.readUIntLE(7, 6),
    type: type as EntryType,
    // Copy: the scan buffer is large and must not be retained by one entry.
    data: Uint8Array.prototype.slice.call(payload, entryHeaderBytes),
  };
  return { ok: true, entry, recordBytes: recordHeaderBytes + payloadBytes };
}

/** Reads back one record that recovery already validated once; a failure now is corruption. */
export function decodeKnownRecord(buf: Buffer, where: string): Entry {
  const r = scanRecord(buf, 0);
  if (!r.ok) throw new StorageCorruptError(`raft storage: record at ${where} is unreadable (${r.reason})`);
  return r.entry;
}
