/**
 * One node per data directory. Two processes appending to the same segment
 * files would corrupt them silently, so a node takes `<data>/LOCK` (created
 * exclusively, holding its pid) before touching anything, and a lock left by a
 * process that no longer exists is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = 'DATA_DIR_LOCKED';
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`data directory ${dir} is in use by process ${pid}`);
    this.pid = pid;
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, 'LOCK');
  // Two attempts: the second follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number((await readFile(path, 'utf8')).trim());
    } catch {
      // Vanished or unreadable between our open and read: treat as stale.
    }
    if (Number.isSafeInteger(holder) && holder > 0 && pidAlive(holder)) throw new DataDirLockedError(dir, holder);
    await rm(path, { force: true });
  }
  throw new DataDirLockedError(dir, -1);
}
