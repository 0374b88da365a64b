/**
 * The hard state (term, vote, commit) in a fixed two-slot file, updated in
 * place: each write goes to the slot NOT holding the latest state, with a
 * sequence number and a CRC, followed by one fdatasync. A torn write damages
 * only the slot being written; recovery takes the valid slot with the highest
 * sequence, so every update is atomic.
 *
 * Why not temp file + rename: that costs two fsyncs (file and directory) and
 * eight thread-pool operations per update. With a thousand groups electing at
 * once on one disk, that made each election round outlast the election
 * timeout (a livelock, measured with bench/raft idle-cpu). This costs one
 * fsync and two thread-pool operations. The snapshot file, rarely written,
 * still uses write-temp-and-rename.
 *
 * Creating the file needs no data fsync: a file shorter than its two slots
 * (empty, or zeros) holds no state, which is what a new file means. Only its
 * directory entry must be durable before the first write is relied on:
 * openAsync() fsyncs the directory, or leaves that to a caller that creates
 * several files there and fsyncs the directory once (a new partition group).
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { HardState } from '../types.ts';
import { fsyncDir, fsyncDirAsync } from './atomic-file.ts';

const slotBytes = 64;
const payloadBytes = 32; // seq, term, vote, commit as float64 (exact for safe integers)
const fileBytes = 2 * slotBytes;

const openFd = promisify(fs.open);
const readFd = promisify(fs.read);
const fstatFd = promisify(fs.fstat);
const closeFd = promisify(fs.close);

export interface HardStateOpenOptions {
  /** fsync the directory when the file is new (default true); false: the caller does, before any write. */
  syncDir?: boolean;
}

/** The latest valid slot of the file's first `fileBytes` (missing bytes read as zeros: no state). */
function latestSlot(buf: Buffer): { seq: number; hs: HardState } | undefined {
  let best: { seq: number; hs: HardState } | undefined;
  for (let slot = 0; slot < 2; slot++) {
    const at = slot * slotBytes;
    if (buf.readUInt32LE(at) !== payloadBytes) continue;
    const payload = buf.subarray(at + 8, at + 8 + payloadBytes);
    if (zlib.crc32(payload) !== buf.readUInt32LE(at + 4)) continue;
    const seq = payload.readDoubleLE(0);
    if (!best || seq > best.seq) {
      best = {
        seq,
        hs: { term: payload.readDoubleLE(8), vote: payload.readDoubleLE(16), commit: payload.readDoubleLE(24) },
      };
    }
  }
  return best;
}

export class HardStateFile {
  private readonly fd: number;
  private seq: number;
  private readonly slotBuf = Buffer.alloc(slotBytes);

  private constructor(fd: number, seq: number) {
    this.fd = fd;
    this.seq = seq;
  }

  /** Opens (creating, durably) the file; returns it with the latest valid state, if any. */
  static open(file: string, dir: string): { file: HardStateFile; state: HardState | undefined } {
    const existed = fs.existsSync(file);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    if (!existed) {
      fs.writeSync(fd, Buffer.alloc(2 * slotBytes), 0, 2 * slotBytes, 0);
      fs.fsyncSync(fd);
      fsyncDir(dir);
    }
    const buf = Buffer.alloc(fileBytes);
    fs.readSync(fd, buf, 0, buf.length, 0);
    const best = latestSlot(buf);
    return { file: new HardStateFile(fd, best?.seq ?? 0), state: best?.hs };
  }

  /**
   * open() on the thread pool, without fsyncing a new file's (empty) content. `created` says the file
   * was new or empty: its directory entry is durable only once the directory is fsynced (done here
   * unless `syncDir: false`).
   */
  static async openAsync(
    file: string,
    o: HardStateOpenOptions = {},
  ): Promise<{ file: HardStateFile; state: HardState | undefined; created: boolean }> {
    const fd = await openFd(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    try {
      const created = (await fstatFd(fd)).size === 0;
      if (created && (o.syncDir ?? true)) await fsyncDirAsync(path.dirname(file));
      const buf = Buffer.alloc(fileBytes);
      if (!created) await readFd(fd, buf, 0, buf.length, 0);
      const best = latestSlot(buf);
      return { file: new HardStateFile(fd, best?.seq ?? 0), state: best?.hs, created };
    } catch (err) {
      await closeFd(fd).catch(() => {});
      throw err;
    }
  }

  private encode(hs: HardState): { buf: Buffer; position: number } {
    this.seq++;
    const b = this.slotBuf;
    b.fill(0);
    const payload = b.subarray(8, 8 + payloadBytes);
    payload.writeDoubleLE(this.seq, 0);
    payload.writeDoubleLE(hs.term, 8);
    payload.writeDoubleLE(hs.vote, 16);
    payload.writeDoubleLE(hs.commit, 24);
    b.writeUInt32LE(payloadBytes, 0);
    b.writeUInt32LE(zlib.crc32(payload), 4);
    return { buf: Buffer.from(b), position: (this.seq % 2) * slotBytes };
  }

  writeSync(hs: HardState): void {
    const { buf, position } = this.encode(hs);
    fs.writeSync(this.fd, buf, 0, slotBytes, position);
    fs.fdatasyncSync(this.fd);
  }

  /** Callers serialize writes (FileLogStorage's sync chain does). */
  write(hs: HardState): Promise<void> {
    const { buf, position } = this.encode(hs);
    return new Promise<void>((resolve, reject) => {
      fs.write(this.fd, buf, 0, slotBytes, position, (err) => {
        if (err) return reject(err);
        fs.fdatasync(this.fd, (err2) => (err2 ? reject(err2) : resolve()));
      });
    });
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
