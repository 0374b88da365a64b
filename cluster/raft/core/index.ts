export { applyConfChangeTo, decodeConfChange, encodeConfChange } from './conf-change.ts';
export { defaultRaftConfig, validateRaftConfig } from './config.ts';
export { entryBytes, entryOverheadBytes } from './entry-size.ts';
export {
  ConfChangeDecodeError,
  RaftInvariantError,
  RaftUsageError,
  SnapshotOutOfDateError,
  StorageGapError,
} from './errors.ts';
export { emptyConfState, MemoryStorage } from './memory-storage.ts';
export { SeededPrng } from './prng.ts';
export { RaftNode } from './raft-node.ts';
