/**
 * The bytes of one peer frame. Two kinds: a handshake (`hello`) that names
 * both ends, and a `batch` of Raft traffic. Heartbeats travel as flat number
 * runs (group, term, commit, flags) so 1,000 groups cost a few KiB, not 1,000
 * messages. Decoding is strict: anything unexpected is a FrameDecodeError.
 */
import { Packr } from 'msgpackr';
import type { NodeId } from '../types.ts';
import { FrameDecodeError } from './errors.ts';
import { decodeMessage, encodeMessage, list, uint } from './message-codec.ts';
import type { GroupMessage, HeartbeatAck, HeartbeatBeat, PeerBatch } from './transport.ts';

/** Append-only: frame kinds on the wire. */
export const FrameKind = {
  Hello: 1,
  Batch: 2,
} as const;

/** Protocol version carried in the handshake; bump on incompatible change. */
export const wireVersion = 1;
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
  return packr.pack([FrameKind.Hello, h.version, h.from, h.to, h.clusterTag]);
}

export function encodeBatch(b: PeerBatch): Uint8Array {
  const msgs = new Array<unknown>(b.messages.length * 2);
  for (let i = 0; i < b.messages.length; i++) {
    const gm = b.messages[i]!;
    msgs[2 * i] = gm.group;
    msgs[2 * i + 1] = encodeMessage(gm.msg);
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
  return packr.pack([FrameKind.Batch, msgs, beats, acks]);
}

export type DecodedFrame = { kind: 'hello'; hello: Hello } | { kind: 'batch'; batch: PeerBatch };

export function decodeFrame(payload: Uint8Array): DecodedFrame {
  let v: unknown;
  try {
    v = packr.unpack(payload);
  } catch (err) {
    throw new FrameDecodeError(`frame: not msgpack (${(err as Error).message})`);
  }
  const a = list(v, 'frame', 5);
  const kind = uint(a[0], 'frame.kind');
  if (kind === FrameKind.Hello) {
    if (a.length !== 5 || typeof a[4] !== 'string' || a[4].length > 256) {
      throw new FrameDecodeError('hello: malformed');
    }
    return {
      kind: 'hello',
      hello: {
        version: uint(a[1], 'hello.version'),
        from: uint(a[2], 'hello.from'),
        to: uint(a[3], 'hello.to'),
        clusterTag: a[4],
      },
    };
  }
  if (kind !== FrameKind.Batch || a.length !== 4) throw new FrameDecodeError(`frame.kind: unknown ${kind}`);
  const rawMsgs = list(a[1], 'batch.messages', itemsPerBatchMax);
  const rawBeats = list(a[2], 'batch.heartbeats', itemsPerBatchMax);
  const rawAcks = list(a[3], 'batch.heartbeatAcks', itemsPerBatchMax);
  if (rawMsgs.length % 2 !== 0 || rawBeats.length % 4 !== 0 || rawAcks.length % 2 !== 0) {
    throw new FrameDecodeError('batch: ragged run');
  }
  const messages: GroupMessage[] = [];
  for (let i = 0; i < rawMsgs.length; i += 2) {
    messages.push({ group: uint(rawMsgs[i], 'batch.group'), msg: decodeMessage(rawMsgs[i + 1]) });
  }
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
