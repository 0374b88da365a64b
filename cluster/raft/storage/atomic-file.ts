/**
 * Small files replaced atomically: write a temp file, fsync it, rename over
 * the target, fsync the directory. Content is framed [u32 len][u32 crc][bytes]
 * so a half-written or bit-flipped file is detected, never half-believed.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { StorageCorruptError } from './errors.ts';

export function writeFileAtomic(file: string, payload: Uint8Array): void {
  const framed = Buffer.allocUnsafe(8 + payload.length);
  framed.writeUInt32LE(payload.length, 0);
  framed.writeUInt32LE(zlib.crc32(payload), 4);
  framed.set(payload, 8);
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

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
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
  if (buf.length < 8) throw new StorageCorruptError(`${file}: truncated`);
  const n = buf.readUInt32LE(0);
  if (buf.length !== 8 + n) throw new StorageCorruptError(`${file}: length mismatch`);
  const payload = buf.subarray(8);
  if (zlib.crc32(payload) !== buf.readUInt32LE(4)) throw new StorageCorruptError(`${file}: crc mismatch`);
  return payload;
}
