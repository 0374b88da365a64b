/**
 * A Raft snapshot of a partition is metadata only: the data IS the log, so a
 * snapshot says where the log stands at a Raft index (the offset after it,
 * the log's first offset) plus the producer state derived from the log up to
 * it. Installing one means copying the missing committed batches from the
 * leader, not shipping an image.
 */
import path from 'node:path';
import { Packr } from 'msgpackr';
import {
  type AtomicWriteOptions,
  readFileChecked,
  readFileCheckedAsync,
  writeFileAtomic,
  writeFileAtomicAsync,
} from '../raft/storage/atomic-file.ts';
import type { ConfState } from '../raft/types.ts';
import { PartitionStorageCorruptError } from './errors.ts';

export interface PartitionSnapshotData {
  /** Offset right after the batch at the snapshot's Raft index. */
  nextOffset: number;
  /** First offset still held by the log that produced the snapshot. */
  logStart: number;
  /** ProducerStateTable.encode() as of the snapshot's index. */
  producers: Uint8Array;
}

export interface PartitionSnapshotFile {
  index: number;
  term: number;
  conf: ConfState;
  data: PartitionSnapshotData;
}

export const SNAPSHOT_FILE = 'raft-snapshot';
export const HARD_STATE_FILE = 'raft-hardstate';

const packr = new Packr({ useRecords: false, moreTypes: false });

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function encodeSnapshotData(d: PartitionSnapshotData): Uint8Array {
  return packr.pack([d.nextOffset, d.logStart, d.producers]);
}

export function decodeSnapshotData(bytes: Uint8Array): PartitionSnapshotData {
  // The empty image is the snapshot of a brand-new group: nothing before offset 0.
  if (bytes.byteLength === 0) return { nextOffset: 0, logStart: 0, producers: new Uint8Array(0) };
  const a = packr.unpack(bytes) as unknown[];
  if (!Array.isArray(a) || a.length !== 3 || !isCount(a[0]) || !isCount(a[1]) || !(a[2] instanceof Uint8Array)) {
    throw new PartitionStorageCorruptError('partition snapshot: bad layout');
  }
  return { nextOffset: a[0], logStart: a[1], producers: a[2] };
}

function encodeSnapshotFile(s: PartitionSnapshotFile): Uint8Array {
  const c = s.conf;
  return packr.pack([s.index, s.term, c.voters, c.learners, c.votersOutgoing, encodeSnapshotData(s.data)]);
}

function decodeSnapshotFile(payload: Uint8Array): PartitionSnapshotFile {
  const a = packr.unpack(payload) as unknown[];
  if (!Array.isArray(a) || a.length !== 6 || !isCount(a[0]) || !isCount(a[1])) {
    throw new PartitionStorageCorruptError('partition snapshot file: bad layout');
  }
  return {
    index: a[0],
    term: a[1],
    conf: { voters: a[2] as number[], learners: a[3] as number[], votersOutgoing: a[4] as number[] },
    data: decodeSnapshotData(a[5] as Uint8Array),
  };
}

export function writeSnapshotFile(dir: string, s: PartitionSnapshotFile): void {
  writeFileAtomic(path.join(dir, SNAPSHOT_FILE), encodeSnapshotFile(s));
}

/** writeSnapshotFile on the thread pool; with `syncDir: false` the caller fsyncs `dir` before relying on it. */
export function writeSnapshotFileAsync(dir: string, s: PartitionSnapshotFile, o?: AtomicWriteOptions): Promise<void> {
  return writeFileAtomicAsync(path.join(dir, SNAPSHOT_FILE), encodeSnapshotFile(s), o);
}

export function readSnapshotFile(dir: string): PartitionSnapshotFile | undefined {
  const payload = readFileChecked(path.join(dir, SNAPSHOT_FILE));
  return payload ? decodeSnapshotFile(payload) : undefined;
}

/** readSnapshotFile on the thread pool. */
export async function readSnapshotFileAsync(dir: string): Promise<PartitionSnapshotFile | undefined> {
  const payload = await readFileCheckedAsync(path.join(dir, SNAPSHOT_FILE));
  return payload ? decodeSnapshotFile(payload) : undefined;
}
