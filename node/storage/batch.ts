/**
 * The record batch: the unit that producers send, the broker appends, Raft
 * replicates and consumers fetch. The broker never decodes the records of a
 * batch on the write path: it checks the header and the CRC, stamps the base
 * offset (and, under Raft, the term) in place, and appends the bytes.
 *
 * Layout (big-endian), HEADER_BYTES = 69 (field offsets in `BatchField`):
 *
 *   off size field
 *    0   8   baseOffset      stamped by the partition leader (not covered by the CRC)
 *    8   4   batchBytes      whole batch length, header included
 *   12   8   term            Raft term, stamped by the leader (not covered by the CRC)
 *   20   8   raftIndex       Raft log index of this batch, stamped by the leader; 0 = not replicated
 *   28   1   magic           BATCH_MAGIC
 *   29   4   crc             CRC-32 (zlib.crc32) of bytes [33, batchBytes)
 *   33   2   attributes      bits 0-2 compression (0 = none), bit 4 control batch
 *   35   4   recordCount
 *   39   8   firstTimestamp  ms since epoch
 *   47   8   maxTimestamp
 *   55   8   producerId      -1 = none (signed)
 *   63   2   producerEpoch   -1 = none (signed)
 *   65   4   baseSequence    -1 = none (signed)
 *   69   ..  records         msgpack: an array of [timestampDelta, key|null, value, headers|null]
 *
 * Every batch is one Raft entry of its partition's group, so a batch
 * describes its own place in the Raft log (term, raftIndex) and the log can be
 * read back as a Raft log without a second index.
 *
 * Like Kafka's, the fields the broker stamps sit before the CRC'd region, so
 * stamping never recomputes the CRC. Records are plain msgpack (no msgpackr
 * record extension) so any language can decode them.
 */
import { crc32 } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';

/** Byte offset of each header field. */
export const BatchField = {
  baseOffset: 0,
  batchBytes: 8,
  term: 12,
  raftIndex: 20,
  magic: 28,
  crc: 29,
  attributes: 33,
  recordCount: 35,
  firstTimestamp: 39,
  maxTimestamp: 47,
  producerId: 55,
  producerEpoch: 63,
  baseSequence: 65,
} as const;

export const HEADER_BYTES = 69;
export const BATCH_MAGIC = 2;
/** Offset of the first byte covered by the CRC. */
export const CRC_START = BatchField.attributes;

export const Attributes = {
  compressionMask: 0x07,
  control: 0x10,
} as const;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

export type Headers = Record<string, string | Uint8Array>;

/** A record as a producer gives it. */
export interface RecordInput {
  key?: Uint8Array | string | null;
  value: Uint8Array | string;
  headers?: Headers | null;
  /** ms since epoch; defaults to the batch's first timestamp. */
  timestamp?: number;
}

/** A record as a consumer sees it. */
export interface StoredRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array;
  headers: Headers | null;
}

export interface BatchHeader {
  baseOffset: number;
  batchBytes: number;
  term: number;
  raftIndex: number;
  magic: number;
  crc: number;
  attributes: number;
  recordCount: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export interface BatchProducer {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export class BatchFormatError extends Error {
  override readonly name = 'BatchFormatError';
  readonly code = 'CORRUPT_BATCH';
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false });
const textEncoder = new TextEncoder();

function toBytes(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? textEncoder.encode(v) : v;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a non-negative safe integer stored as u64. */
function getU64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at);
  const lo = dv.getUint32(at + 4);
  return hi * 0x1_0000_0000 + lo;
}

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, Math.floor(v / 0x1_0000_0000));
  dv.setUint32(at + 4, v >>> 0);
}

function getI64(dv: DataView, at: number): number {
  return Number(dv.getBigInt64(at));
}

function setI64(dv: DataView, at: number, v: number): void {
  dv.setBigInt64(at, BigInt(v));
}

/**
 * Encodes records into one batch with baseOffset 0 and term 0 (the leader
 * stamps both). The records array must be non-empty.
 */
export function encodeBatch(
  records: readonly RecordInput[],
  producer: BatchProducer = {
    producerId: NO_PRODUCER_ID,
    producerEpoch: NO_PRODUCER_EPOCH,
    baseSequence: NO_SEQUENCE,
  },
  nowMs: number = Date.now(),
  attributes = 0,
): Uint8Array {
  if (records.length === 0) throw new BatchFormatError('a batch needs at least one record');
  const first = records[0]!.timestamp ?? nowMs;
  let max = first;
  const rows = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? first;
    if (ts > max) max = ts;
    rows[i] = [ts - first, r.key == null ? null : toBytes(r.key), toBytes(r.value), r.headers ?? null];
  }
  const body: Uint8Array = packr.pack(rows);
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  const dv = view(out);
  // baseOffset, term and raftIndex stay 0 (fresh buffer): the leader stamps them.
  dv.setUint32(BatchField.batchBytes, out.byteLength);
  dv.setUint8(BatchField.magic, BATCH_MAGIC);
  dv.setUint16(BatchField.attributes, attributes);
  dv.setUint32(BatchField.recordCount, records.length);
  setU64(dv, BatchField.firstTimestamp, first);
  setU64(dv, BatchField.maxTimestamp, max);
  setI64(dv, BatchField.producerId, producer.producerId);
  dv.setInt16(BatchField.producerEpoch, producer.producerEpoch);
  dv.setInt32(BatchField.baseSequence, producer.baseSequence);
  out.set(body, HEADER_BYTES);
  dv.setUint32(BatchField.crc, crc32(out.subarray(CRC_START)));
  return out;
}

/**
 * Reads and sanity-checks the header of the batch starting at `at` in `buf`.
 * Throws BatchFormatError when the header cannot be a batch (bad magic,
 * impossible length, zero records). Does not check the CRC.
 */
export function readBatchHeader(buf: Uint8Array, at = 0): BatchHeader {
  if (buf.byteLength - at < HEADER_BYTES) {
    throw new BatchFormatError(`batch header needs ${HEADER_BYTES} bytes, have ${buf.byteLength - at}`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset + at, buf.byteLength - at);
  const header: BatchHeader = {
    baseOffset: getU64(dv, BatchField.baseOffset),
    batchBytes: dv.getUint32(BatchField.batchBytes),
    term: getU64(dv, BatchField.term),
    raftIndex: getU64(dv, BatchField.raftIndex),
    magic: dv.getUint8(BatchField.magic),
    crc: dv.getUint32(BatchField.crc),
    attributes: dv.getUint16(BatchField.attributes),
    recordCount: dv.getUint32(BatchField.recordCount),
    firstTimestamp: getU64(dv, BatchField.firstTimestamp),
    maxTimestamp: getU64(dv, BatchField.maxTimestamp),
    producerId: getI64(dv, BatchField.producerId),
    producerEpoch: dv.getInt16(BatchField.producerEpoch),
    baseSequence: dv.getInt32(BatchField.baseSequence),
  };
  if (header.magic !== BATCH_MAGIC) throw new BatchFormatError(`unknown batch magic ${header.magic}`);
  if (header.batchBytes < HEADER_BYTES + 1) {
    throw new BatchFormatError(`batch length ${header.batchBytes} is shorter than a header and a body`);
  }
  if (header.recordCount === 0) throw new BatchFormatError('batch has no records');
  if ((header.attributes & Attributes.compressionMask) !== 0) {
    throw new BatchFormatError(`unsupported compression ${header.attributes & Attributes.compressionMask}`);
  }
  return header;
}

/** True when the CRC stored in the batch matches its bytes. `batch` is exactly one batch. */
export function batchCrcOk(batch: Uint8Array): boolean {
  if (batch.byteLength < HEADER_BYTES) return false;
  return view(batch).getUint32(BatchField.crc) === crc32(batch.subarray(CRC_START));
}

/**
 * Validates one whole batch as received from a client or a peer: the header,
 * the exact length, and the CRC. Returns the header. Throws BatchFormatError.
 */
export function validateBatch(batch: Uint8Array): BatchHeader {
  const header = readBatchHeader(batch, 0);
  if (header.batchBytes !== batch.byteLength) {
    throw new BatchFormatError(`batch says ${header.batchBytes} bytes but ${batch.byteLength} arrived`);
  }
  if (!batchCrcOk(batch)) throw new BatchFormatError('batch CRC mismatch');
  return header;
}

/** Stamps the base offset, Raft term and Raft index in place (outside the CRC'd region). */
export function stampBatch(batch: Uint8Array, baseOffset: number, term: number, raftIndex = 0): void {
  const dv = view(batch);
  setU64(dv, BatchField.baseOffset, baseOffset);
  setU64(dv, BatchField.term, term);
  setU64(dv, BatchField.raftIndex, raftIndex);
}

/** Offset of the last record of a batch. */
export function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.recordCount - 1;
}

/**
 * Decodes the records of one batch (the consumer side; never on the broker's
 * append path). Verifies the CRC first.
 */
export function decodeBatch(batch: Uint8Array): StoredRecord[] {
  const header = validateBatch(batch);
  let rows: unknown;
  try {
    rows = unpackr.unpack(batch.subarray(HEADER_BYTES, header.batchBytes));
  } catch (err) {
    throw new BatchFormatError(`batch body is not msgpack: ${(err as Error).message}`);
  }
  if (!Array.isArray(rows) || rows.length !== header.recordCount) {
    throw new BatchFormatError(`batch body does not hold ${header.recordCount} records`);
  }
  const out: StoredRecord[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as unknown[];
    if (!Array.isArray(row) || row.length !== 4) throw new BatchFormatError(`record ${i} is malformed`);
    const [delta, key, value, headers] = row as [number, Uint8Array | null, Uint8Array, Headers | null];
    out[i] = {
      offset: header.baseOffset + i,
      timestamp: header.firstTimestamp + delta,
      key,
      value,
      headers,
    };
  }
  return out;
}

/**
 * Splits a buffer of whole, back-to-back batches (as a fetch returns them)
 * into views of each batch. Throws BatchFormatError on a partial or bad batch.
 */
export function splitBatches(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < buf.byteLength) {
    const header = readBatchHeader(buf, at);
    if (at + header.batchBytes > buf.byteLength) throw new BatchFormatError('truncated batch at end of buffer');
    out.push(buf.subarray(at, at + header.batchBytes));
    at += header.batchBytes;
  }
  return out;
}
