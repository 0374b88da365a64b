/** Typed errors of replicated partitions. One class per condition, stable `name` and `code`. */

/** The partition storage found its files inconsistent (a Raft index gap, a snapshot past the log). */
export class PartitionStorageCorruptError extends Error {
  override readonly name = 'PartitionStorageCorruptError';
  readonly code = 'PARTITION_STORAGE_CORRUPT';
}

/** A write, truncation, fetch or fdatasync failed: the storage refuses further use until reopened. */
export class PartitionStorageFailedError extends Error {
  override readonly name = 'PartitionStorageFailedError';
  readonly code = 'PARTITION_STORAGE_FAILED';
}

export class PartitionStorageClosedError extends Error {
  override readonly name = 'PartitionStorageClosedError';
  readonly code = 'PARTITION_STORAGE_CLOSED';
  constructor() {
    super('partition storage: closed');
  }
}

/** A Normal Raft entry of a partition group does not hold exactly one valid record batch. */
export class NotABatchEntryError extends Error {
  override readonly name = 'NotABatchEntryError';
  readonly code = 'PARTITION_ENTRY_NOT_A_BATCH';
}

/** A snapshot must be installed but no fetchRange was given to copy the missing batches from the leader. */
export class NoRangeFetcherError extends Error {
  override readonly name = 'NoRangeFetcherError';
  readonly code = 'PARTITION_NO_RANGE_FETCHER';
  constructor() {
    super('partition storage: installing a snapshot needs fetchRange to copy the missing committed batches');
  }
}

/** fetchRange returned batches that do not continue the log exactly up to the snapshot's next offset. */
export class FetchedRangeMismatchError extends Error {
  override readonly name = 'FetchedRangeMismatchError';
  readonly code = 'PARTITION_FETCHED_RANGE_MISMATCH';
}
