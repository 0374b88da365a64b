/** Errors owned by the core (the shared ones live in ../types.ts). */

export class SnapshotOutOfDateError extends Error {
  override readonly name = 'SnapshotOutOfDateError';
  readonly code = 'RAFT_SNAPSHOT_OUT_OF_DATE';
  constructor(index: number, current: number) {
    super(`raft storage: snapshot at ${index} is not newer than the current one at ${current}`);
  }
}

export class ConfChangeDecodeError extends Error {
  override readonly name = 'ConfChangeDecodeError';
  readonly code = 'RAFT_CONF_CHANGE_INVALID';
}

export class StorageGapError extends Error {
  override readonly name = 'StorageGapError';
  readonly code = 'RAFT_STORAGE_GAP';
  constructor(expected: number, got: number) {
    super(`raft storage: append would leave a gap (next index ${expected}, got ${got})`);
  }
}

/** The application broke the core's usage contract (e.g. two ready() without advance()). */
export class RaftUsageError extends Error {
  override readonly name = 'RaftUsageError';
  readonly code = 'RAFT_USAGE';
}

/** An internal invariant failed: a bug in the core or corrupted storage. */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
  readonly code = 'RAFT_INVARIANT';
}

export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new RaftInvariantError(`raft invariant violated: ${what}`);
}
