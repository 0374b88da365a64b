/**
 * The bytes of one peer frame. Two kinds: a handshake (`hello`) that names
 * both ends, and a `batch` of Raft traffic. Heartbeats travel as flat number
 * runs (group, term, commit, flags) so 1,000 groups cost a few KiB, not 1,000
 * messages. Decoding is strict: anything unexpected is a FrameDecodeError.
 *
 * Payload layout (inside the transport's u32 length prefix):
 *   hello: [u8 kind=1][msgpack [version, from, to, clusterTag]]
 *   batch: [u8 kind=2][u32 BE headerBytes][msgpack [messages, beats, acks]][raw section]
 * The raw section is every entry's data, back to back in message order; an
 * entry in the header names only its length. Batches are sent from the
 * entries' own buffers (no msgpack copy, no frame copy: the sender writes the
 * parts with one corked writev) and decoded as views of the received frame.
 */
import { Packr } from 'msgpackr';
import type { NodeId } from '../types.ts';
import { FrameDecodeError } from './errors.ts';
import { frameHeaderBytes } from './frame-reader.ts';
import { decodeMessage, encodeMessage, list, uint } from './message-codec.ts';
import type { GroupMessage, HeartbeatAck, HeartbeatBeat, PeerBatch } from './transport.ts';

/** Append-only: frame kinds on the wire. */
export const FrameKind = {
  Hello: 1,
  Batch: 2,
} as const;

/** Protocol version carried in the handshake; bump on incompatible change. */
export const wireVersion = 2;
/** Kind byte + u32 header length in front of a batch's msgpack header. */
const batchPrefixBytes = 5;
const itemsPerBatchMax = 1_000_000;

// Plain msgpack (no record extension): the peer must not be able to make us
// define structures, and the format stays readable by any msgpack decoder.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export interface Hello {
  version: number;
  from: NodeId;
  to: NodeId;
  /** Guards against dialing a node of another cluster on a reused port. */
  clusterTag: string;
}

export function encodeHello(h: Hello): Uint8Array {
  const body = packr.pack([h.version, h.from, h.to, h.clusterTag]);
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = FrameKind.Hello;
  out.set(body, 1);
  return out;
}

/**
 * One batch frame as parts to write in order: the first holds the transport's
 * u32 length prefix, the kind, the header length and the msgpack header (a
 * copy: msgpackr reuses its buffer); the rest are the entries' data buffers
 * themselves. `payloadBytes` excludes the length prefix.
 */
export interface FrameParts {
  parts: Uint8Array[];
  payloadBytes: number;
}

export function encodeBatchFrame(b: PeerBatch): FrameParts {
  const raw: Uint8Array[] = [];
  let rawBytes = 0;
  const sink = (bytes: Uint8Array): void => {
    if (bytes.byteLength === 0) return;
    raw.push(bytes);
    rawBytes += bytes.byteLength;
  };
  const header = packr.pack(batchHeader(b, sink));
  const payloadBytes = batchPrefixBytes + header.length + rawBytes;
  const head = Buffer.allocUnsafe(frameHeaderBytes + batchPrefixBytes + header.length);
  head.writeUInt32BE(payloadBytes, 0);
  head[frameHeaderBytes] = FrameKind.Batch;
  head.writeUInt32BE(header.length, frameHeaderBytes + 1);
  head.set(header, frameHeaderBytes + batchPrefixBytes);
  return { parts: [head, ...raw], payloadBytes };
}

/** The payload of a batch frame as one buffer (without the length prefix): tests and the in-process hub. */
export function encodeBatch(b: PeerBatch): Uint8Array {
  const { parts, payloadBytes } = encodeBatchFrame(b);
  const out = Buffer.allocUnsafe(payloadBytes);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = i === 0 ? parts[0]!.subarray(frameHeaderBytes) : parts[i]!;
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function batchHeader(b: PeerBatch, raw: (bytes: Uint8Array) => void): unknown[] {
  const msgs = new Array<unknown>(b.messages.length * 2);
  for (let i = 0; i < b.messages.length; i++) {
    const gm = b.messages[i]!;
    msgs[2 * i] = gm.group;
    msgs[2 * i + 1] = encodeMessage(gm.msg, raw);
  }
  const beats = new Array<number>(b.heartbeats.length * 4);
  for (let i = 0; i < b.heartbeats.length; i++) {
    const h = b.heartbeats[i]!;
    beats[4 * i] = h.group;
    beats[4 * i + 1] = h.term;
    beats[4 * i + 2] = h.commit;
    beats[4 * i + 3] = h.flags;
  }
  const acks = new Array<number>(b.heartbeatAcks.length * 2);
  for (let i = 0; i < b.heartbeatAcks.length; i++) {
    const h = b.heartbeatAcks[i]!;
    acks[2 * i] = h.group;
    acks[2 * i + 1] = h.term;
  }
  return [msgs, beats, acks];
}

export type DecodedFrame = { kind: 'hello'; hello: Hello } | { kind: 'batch'; batch: PeerBatch };

function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new FrameDecodeError(`${what}: not msgpack (${(err as Error).message})`);
  }
}

export function decodeFrame(payload: Uint8Array): DecodedFrame {
  if (payload.length < 1) throw new FrameDecodeError('frame: empty');
  const kind = payload[0]!;
  if (kind === FrameKind.Hello) {
    const a = list(unpack(payload.subarray(1), 'hello'), 'hello', 4);
    if (a.length !== 4 || typeof a[3] !== 'string' || a[3].length > 256) {
      throw new FrameDecodeError('hello: malformed');
    }
    return {
      kind: 'hello',
      hello: {
        version: uint(a[0], 'hello.version'),
        from: uint(a[1], 'hello.from'),
        to: uint(a[2], 'hello.to'),
        clusterTag: a[3],
      },
    };
  }
  if (kind !== FrameKind.Batch) throw new FrameDecodeError(`frame.kind: unknown ${kind}`);
  if (payload.length < batchPrefixBytes) throw new FrameDecodeError('batch: shorter than its prefix');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const headerBytes = view.getUint32(1);
  const rawStart = batchPrefixBytes + headerBytes;
  if (rawStart > payload.length) throw new FrameDecodeError(`batch: header of ${headerBytes} bytes overruns the frame`);
  const a = list(unpack(payload.subarray(batchPrefixBytes, rawStart), 'batch'), 'batch', 3);
  if (a.length !== 3) throw new FrameDecodeError('batch: expected 3 sections');
  let at = rawStart;
  const raw = (n: number): Uint8Array => {
    if (n > payload.length - at) throw new FrameDecodeError(`batch: entry data of ${n} bytes overruns the frame`);
    const out = payload.subarray(at, at + n);
    at += n;
    return out;
  };
  const rawMsgs = list(a[0], 'batch.messages', itemsPerBatchMax);
  const rawBeats = list(a[1], 'batch.heartbeats', itemsPerBatchMax);
  const rawAcks = list(a[2], 'batch.heartbeatAcks', itemsPerBatchMax);
  if (rawMsgs.length % 2 !== 0 || rawBeats.length % 4 !== 0 || rawAcks.length % 2 !== 0) {
    throw new FrameDecodeError('batch: ragged run');
  }
  const messages: GroupMessage[] = [];
  for (let i = 0; i < rawMsgs.length; i += 2) {
    messages.push({ group: uint(rawMsgs[i], 'batch.group'), msg: decodeMessage(rawMsgs[i + 1], raw) });
  }
  if (at !== payload.length) throw new FrameDecodeError(`batch: ${payload.length - at} raw bytes left over`);
  const heartbeats: HeartbeatBeat[] = [];
  for (let i = 0; i < rawBeats.length; i += 4) {
    heartbeats.push({
      group: uint(rawBeats[i], 'beat.group'),
      term: uint(rawBeats[i + 1], 'beat.term'),
      commit: uint(rawBeats[i + 2], 'beat.commit'),
      flags: uint(rawBeats[i + 3], 'beat.flags'),
    });
  }
  const heartbeatAcks: HeartbeatAck[] = [];
  for (let i = 0; i < rawAcks.length; i += 2) {
    heartbeatAcks.push({ group: uint(rawAcks[i], 'ack.group'), term: uint(rawAcks[i + 1], 'ack.term') });
  }
  return { kind: 'batch', batch: { messages, heartbeats, heartbeatAcks } };
}

/** Deep copy through the wire format: what the in-process hub uses so no object is shared across nodes. */
export function cloneBatch(b: PeerBatch): PeerBatch {
  const f = decodeFrame(encodeBatch(b));
  if (f.kind !== 'batch') throw new FrameDecodeError('clone: not a batch');
  return f.batch;
}
