/**
 * Raft messages as compact positional arrays (no field names on the wire),
 * and the strict inverse: every field of untrusted input is checked before
 * it reaches a Raft core. A bad field throws FrameDecodeError.
 *
 * Entry data (the partition batches: nearly every byte of replication
 * traffic) does not go through msgpack: an entry carries only its data's
 * length, and the bytes travel in the frame's raw section (batch-codec.ts),
 * written from the entry's own buffer and read back as views of the frame.
 */
import type { ConfState, Entry, EntryType, Message, MessageType, Snapshot } from '../types.ts';
import { FrameDecodeError } from './errors.ts';

const messageTypeMax = 14;
const entryTypeMax = 1;
/** Bound on list lengths inside one message, independent of the frame byte limit. */
export const entriesPerMessageMax = 100_000;
const confMembersMax = 10_000;

/** An entry on the wire: its data's bytes follow in the frame's raw section. */
export type WireEntry = [term: number, index: number, type: number, dataBytes: number];

/** Collects the raw bytes of a frame in order (entry data, no copies). */
export type RawSink = (bytes: Uint8Array) => void;

/** The next `n` bytes of the frame's raw section; throws FrameDecodeError past its end. */
export type RawSource = (n: number) => Uint8Array;

export function encodeEntry(e: Entry, raw: RawSink): WireEntry {
  raw(e.data);
  return [e.term, e.index, e.type, e.data.byteLength];
}

export function encodeMessage(m: Message, raw: RawSink): unknown[] {
  const entries = new Array<WireEntry>(m.entries.length);
  for (let i = 0; i < m.entries.length; i++) entries[i] = encodeEntry(m.entries[i]!, raw);
  const snap = m.snapshot
    ? [
        m.snapshot.meta.index,
        m.snapshot.meta.term,
        m.snapshot.meta.conf.voters,
        m.snapshot.meta.conf.learners,
        m.snapshot.meta.conf.votersOutgoing,
        m.snapshot.data,
      ]
    : null;
  return [
    m.type,
    m.from,
    m.to,
    m.term,
    m.logTerm,
    m.index,
    entries,
    m.commit,
    m.reject ? 1 : 0,
    m.rejectHint,
    m.rejectHintTerm,
    snap,
    m.context ?? null,
  ];
}

export function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new FrameDecodeError(`${what}: expected a non-negative integer`);
  }
  return v;
}

export function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new FrameDecodeError(`${what}: expected bytes`);
  return v;
}

export function list(v: unknown, what: string, lengthMax: number): unknown[] {
  if (!Array.isArray(v)) throw new FrameDecodeError(`${what}: expected an array`);
  if (v.length > lengthMax) throw new FrameDecodeError(`${what}: ${v.length} items exceed ${lengthMax}`);
  return v;
}

function idList(v: unknown, what: string): number[] {
  return list(v, what, confMembersMax).map((x) => uint(x, what));
}

export function decodeEntry(v: unknown, raw: RawSource): Entry {
  const a = list(v, 'entry', 4);
  if (a.length !== 4) throw new FrameDecodeError('entry: expected 4 fields');
  const type = uint(a[2], 'entry.type');
  if (type > entryTypeMax) throw new FrameDecodeError(`entry.type: unknown ${type}`);
  return {
    term: uint(a[0], 'entry.term'),
    index: uint(a[1], 'entry.index'),
    type: type as EntryType,
    data: raw(uint(a[3], 'entry.dataBytes')),
  };
}

function decodeSnapshot(v: unknown): Snapshot | undefined {
  if (v === null || v === undefined) return undefined;
  const a = list(v, 'snapshot', 6);
  if (a.length !== 6) throw new FrameDecodeError('snapshot: expected 6 fields');
  const conf: ConfState = {
    voters: idList(a[2], 'snapshot.voters'),
    learners: idList(a[3], 'snapshot.learners'),
    votersOutgoing: idList(a[4], 'snapshot.votersOutgoing'),
  };
  return {
    meta: { index: uint(a[0], 'snapshot.index'), term: uint(a[1], 'snapshot.term'), conf },
    data: bytes(a[5], 'snapshot.data'),
  };
}

export function decodeMessage(v: unknown, raw: RawSource): Message {
  const a = list(v, 'message', 13);
  if (a.length !== 13) throw new FrameDecodeError('message: expected 13 fields');
  const type = uint(a[0], 'message.type');
  if (type < 1 || type > messageTypeMax) throw new FrameDecodeError(`message.type: unknown ${type}`);
  const rawEntries = list(a[6], 'message.entries', entriesPerMessageMax);
  const entries = new Array<Entry>(rawEntries.length);
  for (let i = 0; i < rawEntries.length; i++) entries[i] = decodeEntry(rawEntries[i], raw);
  const reject = uint(a[8], 'message.reject');
  if (reject > 1) throw new FrameDecodeError('message.reject: expected 0 or 1');
  const m: Message = {
    type: type as MessageType,
    from: uint(a[1], 'message.from'),
    to: uint(a[2], 'message.to'),
    term: uint(a[3], 'message.term'),
    logTerm: uint(a[4], 'message.logTerm'),
    index: uint(a[5], 'message.index'),
    entries,
    commit: uint(a[7], 'message.commit'),
    reject: reject === 1,
    rejectHint: uint(a[9], 'message.rejectHint'),
    rejectHintTerm: uint(a[10], 'message.rejectHintTerm'),
  };
  const snapshot = decodeSnapshot(a[11]);
  if (snapshot) m.snapshot = snapshot;
  if (a[12] !== null && a[12] !== undefined) m.context = bytes(a[12], 'message.context');
  return m;
}
