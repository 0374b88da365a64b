/**
 * fsync of a directory: makes file creations and deletions in it durable.
 * Without it a new segment (or a deleted one after truncateFrom) may not
 * survive a power cut even though its contents were fdatasynced.
 */
import { open } from 'node:fs/promises';

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
