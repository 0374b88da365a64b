/**
 * The partition log contract: what the broker (and later Raft) needs from
 * storage. Two implementations: `FileLog` (segments on disk) and `MemoryLog`
 * (tests), as NATS has filestore and memstore behind one StreamStore.
 *
 * Offsets are record offsets; batches are the unit of append and read. A read
 * returns whole batches only.
 */

/** When appended bytes are made durable. */
export type FlushPolicy =
  /** fdatasync before an append resolves; concurrent appends share one fdatasync (group commit). */
  | { kind: 'always' }
  /** fdatasync at most every intervalMs; appends resolve once written (not durable). */
  | { kind: 'interval'; intervalMs: number }
  /** Never fdatasync (the OS decides); appends resolve once written. */
  | { kind: 'never' };

export interface LogConfig {
  /** Roll to a new segment when the active one would exceed this. */
  segmentBytes: number;
  /** Roll when the active segment's first batch is older than this (by append time). */
  segmentMs: number;
  /** Add a sparse index entry every this many bytes of log. */
  indexIntervalBytes: number;
  /** Delete whole closed segments whose newest record is older than this; -1 = keep forever. */
  retentionMs: number;
  /** Delete the oldest closed segments while the log is larger than this; -1 = unlimited. */
  retentionBytes: number;
  /** Largest single batch accepted. */
  maxBatchBytes: number;
  flush: FlushPolicy;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** Broker time of the append, ms. */
  appendTimeMs: number;
}

export interface ReadResult {
  /** Whole batches, back to back, starting with the batch containing `fromOffset`. May be empty. */
  chunks: Uint8Array[];
  bytes: number;
  /** Offset right after the last batch returned (where the next read should start). */
  nextOffset: number;
}

export interface PartitionLog {
  /** First offset still in the log (after retention). */
  readonly startOffset: number;
  /** Next offset to be assigned (log end offset). */
  readonly endOffset: number;
  /** Bytes on disk (or in memory) across all segments. */
  readonly sizeBytes: number;

  /**
   * Validates one batch (header + CRC; never decodes its records), stamps
   * baseOffset = endOffset and `term`, appends it. Resolves per the flush policy.
   * Rejects with StorageError subclasses; a rejected append leaves nothing behind.
   */
  append(batch: Uint8Array, term?: number): Promise<AppendResult>;

  /**
   * Reads whole batches from the batch containing `fromOffset` up to `maxBytes`
   * (at least one batch if one exists, even if larger), never past `maxOffset`
   * (exclusive; defaults to endOffset: the high watermark under Raft).
   * Throws OffsetOutOfRangeError when fromOffset < startOffset or > endOffset.
   */
  read(fromOffset: number, maxBytes: number, maxOffset?: number): Promise<ReadResult>;

  /** First offset whose batch has maxTimestamp >= timestampMs, or null. */
  offsetForTimestamp(timestampMs: number): Promise<number | null>;

  /** Removes every batch at or after `offset` (a batch boundary). For Raft followers and recovery. */
  truncateFrom(offset: number): Promise<void>;

  /** Applies retention now; returns the number of segments deleted. */
  applyRetention(nowMs?: number): Promise<number>;

  /** fdatasync whatever is not yet durable. */
  flush(): Promise<void>;

  /** Flushes and closes; later calls reject with LogClosedError. */
  close(): Promise<void>;
}
