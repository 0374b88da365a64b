/**
 * The read side the core uses (RaftLogStorage) plus the write side the driver
 * uses while handling a Ready. Implemented by FileLogStorage (durable) and
 * MemoryRaftStorage (tests, benchmarks without disks).
 */
import type { ConfState, Entry, HardState, RaftLogStorage, Snapshot } from '../types.ts';

export interface RaftStorage extends RaftLogStorage {
  /** Appends entries; an entry at an existing index replaces it and everything after it. */
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void;
  /** Records the application's state as of applied index `index` (does not compact). */
  createSnapshot(index: number, conf: ConfState | undefined, data: Uint8Array): Snapshot;
  /** Discards entries up to and including `index`. */
  compact(index: number): void;
  /** Resolves once everything written so far is durable. One fsync covers all writes since the last. */
  sync(): Promise<void>;
  close(): void;
}
