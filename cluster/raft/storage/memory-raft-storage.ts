import { MemoryStorage } from '../core/memory-storage.ts';
import type { RaftStorage } from './raft-storage.ts';

/** The core's MemoryStorage with the driver's write-side lifecycle: nothing is durable, sync is free. */
export class MemoryRaftStorage extends MemoryStorage implements RaftStorage {
  syncCalls = 0;

  async sync(): Promise<void> {
    this.syncCalls++;
  }

  close(): void {}
}
