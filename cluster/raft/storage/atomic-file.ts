/**
 * Small files replaced atomically: write a temp file, fsync it, rename over
 * the target, fsync the directory. Content is framed [u32 len][u32 crc][bytes]
 * so a half-written or bit-flipped file is detected, never half-believed.
 *
 * The async variants run on the thread pool, off the event loop. Their
 * `syncDir: false` leaves the directory fsync to the caller, so one fsync can
 * cover several files created in the same directory (a new Raft group's
 * bootstrap files): the caller must fsync the directory before it relies on
 * the file being there after a crash.
 */
import fs from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { StorageCorruptError } from './errors.ts';

export interface AtomicWriteOptions {
  /** fsync the directory after the rename (default true); false: the caller does, before relying on it. */
  syncDir?: boolean;
}

function frame(payload: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(8 + payload.length);
  framed.writeUInt32LE(payload.length, 0);
  framed.writeUInt32LE(zlib.crc32(payload), 4);
  framed.set(payload, 8);
  return framed;
}

function unframe(file: string, buf: Buffer): Buffer {
  if (buf.length < 8) throw new StorageCorruptError(`${file}: truncated`);
  const n = buf.readUInt32LE(0);
  if (buf.length !== 8 + n) throw new StorageCorruptError(`${file}: length mismatch`);
  const payload = buf.subarray(8);
  if (zlib.crc32(payload) !== buf.readUInt32LE(4)) throw new StorageCorruptError(`${file}: crc mismatch`);
  return payload;
}

export function writeFileAtomic(file: string, payload: Uint8Array): void {
  const framed = frame(payload);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, framed);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** writeFileAtomic on the thread pool; with `syncDir: false` the directory fsync is the caller's. */
export async function writeFileAtomicAsync(
  file: string,
  payload: Uint8Array,
  o: AtomicWriteOptions = {},
): Promise<void> {
  const framed = frame(payload);
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(framed, 0, framed.length, 0);
    // The data must be on disk before the rename can publish it: a crash must leave the old file or the new one.
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  if (o.syncDir ?? true) await fsyncDirAsync(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync of a directory on the thread pool: makes the creations, renames and removals in it durable. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Returns the payload, undefined when the file does not exist; throws StorageCorruptError if damaged. */
export function readFileChecked(file: string): Buffer | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return unframe(file, buf);
}

/** readFileChecked on the thread pool. */
export async function readFileCheckedAsync(file: string): Promise<Buffer | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return unframe(file, buf);
}
