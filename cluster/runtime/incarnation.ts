/**
 * The broker's incarnation: a counter in the data dir, bumped and fsync'd at
 * every start, so a restarted node's RegisterBroker outranks its former self
 * (the controller rejects an older incarnation than the one registered).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir } from '../../node/storage/dir-sync.ts';

export class IncarnationFileError extends Error {
  override readonly name = 'IncarnationFileError';
  readonly code = 'INCARNATION_FILE_INVALID';
}

const INCARNATION_MAX = 0x7fff_ffff;

/** Reads `<dir>/incarnation` (0 when absent), writes it + 1 durably, returns the new value. */
export async function bumpIncarnation(dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'incarnation');
  let previous = 0;
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^\d+$/.test(text)) throw new IncarnationFileError(`${file} holds ${JSON.stringify(text)}, not a counter`);
    previous = Number(text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (previous >= INCARNATION_MAX) throw new IncarnationFileError(`${file} reached ${INCARNATION_MAX}`);
  const next = previous + 1;
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${next}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  await syncDir(dir);
  return next;
}
