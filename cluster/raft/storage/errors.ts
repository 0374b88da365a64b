/** Typed errors of the file-backed Raft log. */

export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
  readonly code = 'RAFT_STORAGE_CORRUPT';
}

/** A previous fsync or write failed: the on-disk state is unknown, so the storage refuses further use. */
export class StorageFailedError extends Error {
  override readonly name = 'StorageFailedError';
  readonly code = 'RAFT_STORAGE_FAILED';
}

export class StorageClosedError extends Error {
  override readonly name = 'StorageClosedError';
  readonly code = 'RAFT_STORAGE_CLOSED';
  constructor() {
    super('raft storage: closed');
  }
}

export class CompactBeyondSnapshotError extends Error {
  override readonly name = 'CompactBeyondSnapshotError';
  readonly code = 'RAFT_COMPACT_BEYOND_SNAPSHOT';
  constructor(index: number, snapshotIndex: number) {
    super(`raft storage: compact(${index}) passes the snapshot at ${snapshotIndex}; snapshot first`);
  }
}
