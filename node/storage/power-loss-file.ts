/**
 * TEST-ONLY: a LogFile that keeps appended bytes in process memory until
 * datasync() writes and fdatasyncs them. A `kill -9` of the process (or
 * abandon()) then loses every unsynced byte, as a power cut would lose the page
 * cache. A plain kill -9 of a real file loses nothing, which would make crash
 * tests pass for the wrong reason. Enabled by FileLogOptions.simulatePowerLoss;
 * never use it in production: it holds unsynced data in memory unbounded by
 * anything but the flush policy.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { chunksBytes, type IoStats, type LogFile, readFully, writeFully } from './log-file.ts';

interface Pending {
  position: number;
  bytes: Uint8Array;
}

export class PowerLossLogFile implements LogFile {
  readonly path: string;
  #fh: FileHandle;
  /** Bytes [0, durableSize) are on disk and fdatasynced. */
  #durableSize: number;
  /** Bytes [durableSize, size), in order and contiguous. */
  #pending: Pending[] = [];
  #pendingBytes = 0;
  #stats: IoStats;
  #syncing = false;
  /** The O_DSYNC equivalent: every append is written and fdatasynced before it resolves. */
  readonly durableWrites: boolean;

  private constructor(path: string, fh: FileHandle, size: number, stats: IoStats, durableWrites: boolean) {
    this.path = path;
    this.#fh = fh;
    this.#durableSize = size;
    this.#stats = stats;
    this.durableWrites = durableWrites;
  }

  static async open(path: string, create: boolean, stats: IoStats, durableWrites = false): Promise<PowerLossLogFile> {
    const fh = await open(path, create ? 'wx+' : 'r+');
    try {
      const { size } = await fh.stat();
      return new PowerLossLogFile(path, fh, size, stats, durableWrites);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get size(): number {
    return this.#durableSize + this.#pendingBytes;
  }

  /** Bytes that a crash right now would lose. */
  get unsyncedBytes(): number {
    return this.#pendingBytes;
  }

  async append(chunks: readonly Uint8Array[]): Promise<void> {
    // Copy: the caller may reuse its buffers, and the page cache would not care.
    const bytes = new Uint8Array(chunksBytes(chunks));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    this.#pending.push({ position: this.size, bytes });
    this.#pendingBytes += bytes.byteLength;
    this.#stats.writes++;
    this.#stats.bytesWritten += bytes.byteLength;
    if (this.durableWrites) await this.datasync();
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    const end = Math.min(position + into.byteLength, this.size);
    if (end <= position) return 0;
    const want = end - position;
    // Take the durable size and the pending chunks BEFORE awaiting the disk: a datasync finishing during
    // the read moves chunks from the list to the disk, past the part this read takes from the disk.
    const durableSize = this.#durableSize;
    const pending = this.#pending.slice();
    if (position < durableSize) {
      await readFully(this.#fh, into.subarray(0, Math.min(want, durableSize - position)), position);
    }
    // Overlay the pending bytes (also those a running datasync is still writing).
    for (const p of pending) {
      const from = Math.max(p.position, position);
      const to = Math.min(p.position + p.bytes.byteLength, end);
      if (from < to) into.set(p.bytes.subarray(from - p.position, to - p.position), from - position);
    }
    return want;
  }

  async datasync(): Promise<void> {
    if (this.#syncing) throw new Error(`overlapping datasync of ${this.path}`);
    this.#syncing = true;
    try {
      const batch = this.#pending.slice();
      if (batch.length > 0)
        await writeFully(
          this.#fh,
          batch.map((p) => p.bytes),
          batch[0]!.position,
        );
      this.#stats.datasyncs++;
      await this.#fh.datasync();
      const n = chunksBytes(batch.map((p) => p.bytes));
      this.#pending.splice(0, batch.length);
      this.#pendingBytes -= n;
      this.#durableSize += n;
    } finally {
      this.#syncing = false;
    }
  }

  async truncate(length: number): Promise<void> {
    if (this.#syncing) throw new Error(`truncate of ${this.path} during datasync`);
    if (length >= this.#durableSize) {
      const keep: Pending[] = [];
      let kept = 0;
      for (const p of this.#pending) {
        if (p.position >= length) break;
        const bytes = p.position + p.bytes.byteLength > length ? p.bytes.subarray(0, length - p.position) : p.bytes;
        keep.push({ position: p.position, bytes });
        kept += bytes.byteLength;
      }
      this.#pending = keep;
      this.#pendingBytes = kept;
      return;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#fh.truncate(length);
    this.#durableSize = length;
  }

  /** A clean close keeps the pending bytes, as a clean process exit keeps the page cache. */
  async close(): Promise<void> {
    const batch = this.#pending;
    if (batch.length > 0)
      await writeFully(
        this.#fh,
        batch.map((p) => p.bytes),
        batch[0]!.position,
      );
    this.#pending = [];
    this.#durableSize += this.#pendingBytes;
    this.#pendingBytes = 0;
    await this.#fh.close();
  }

  /** A crash: the pending bytes are gone. */
  async abandon(): Promise<void> {
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#fh.close();
  }
}
