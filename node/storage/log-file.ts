/**
 * One append-only file of the log (a segment's `.log`), behind a small
 * interface so the log can count fdatasyncs and so a test can swap in the
 * power-loss simulation (power-loss-file.ts) without the log knowing.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** Counters shared by every file of one log; tests and benchmarks read them. */
export interface IoStats {
  datasyncs: number;
  writes: number;
  bytesWritten: number;
}

export function newIoStats(): IoStats {
  return { datasyncs: 0, writes: 0, bytesWritten: 0 };
}

export interface LogFile {
  readonly path: string;
  /** Logical size: every byte appended, synced or not. */
  readonly size: number;
  /** Appends the chunks at `size`, all of them or throws. Callers never overlap two appends. */
  append(chunks: readonly Uint8Array[]): Promise<void>;
  /** Reads up to `into.byteLength` bytes at `position`; returns how many were read (short at the end). */
  read(into: Uint8Array, position: number): Promise<number>;
  /** Makes every byte appended before the call durable. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /** Closes without making anything durable: a simulated crash (tests only). */
  abandon(): Promise<void>;
}

/** Total bytes in a list of chunks. */
export function chunksBytes(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

/** Writes every chunk at `position`, retrying after short writes (writev may write less than asked). */
export async function writeFully(fh: FileHandle, chunks: readonly Uint8Array[], position: number): Promise<number> {
  let pending = chunks.slice();
  let at = position;
  let remaining = chunksBytes(chunks);
  const total = remaining;
  // Each round writes at least one byte or throws, so this ends.
  while (remaining > 0) {
    const { bytesWritten } = await fh.writev(pending, at);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes at ${at}`);
    at += bytesWritten;
    remaining -= bytesWritten;
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const c of pending) {
      if (skip >= c.byteLength) {
        skip -= c.byteLength;
        continue;
      }
      rest.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
    pending = rest;
  }
  return total;
}

/** Reads until `into` is full or the file ends. */
export async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let got = 0;
  while (got < into.byteLength) {
    const { bytesRead } = await fh.read(into, got, into.byteLength - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/**
 * open(2) flags of a log file. `durableWrites`: O_DSYNC, so every write returns
 * only once its data (and the size change) is on disk, like a write followed by
 * fdatasync but in ONE call: one thread-pool round trip per durable write instead of two.
 */
export function logFileFlags(create: boolean, durableWrites: boolean): number {
  const base = create ? constants.O_RDWR | constants.O_CREAT | constants.O_EXCL : constants.O_RDWR;
  return durableWrites ? base | constants.O_DSYNC : base;
}

/** The real thing: positional writes and fdatasync on one file handle. */
export class DiskLogFile implements LogFile {
  readonly path: string;
  /** Opened O_DSYNC: every append is durable when it resolves (counted as a datasync too). */
  readonly durableWrites: boolean;
  #fh: FileHandle;
  #size: number;
  #stats: IoStats;
  #appending = false;

  private constructor(path: string, fh: FileHandle, size: number, stats: IoStats, durableWrites: boolean) {
    this.path = path;
    this.#fh = fh;
    this.#size = size;
    this.#stats = stats;
    this.durableWrites = durableWrites;
  }

  /** Opens an existing file (create=false) or creates a new, empty one (fails if it exists). */
  static async open(path: string, create: boolean, stats: IoStats, durableWrites = false): Promise<DiskLogFile> {
    const fh = await open(path, logFileFlags(create, durableWrites), 0o666);
    try {
      const { size } = await fh.stat();
      return new DiskLogFile(path, fh, size, stats, durableWrites);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get size(): number {
    return this.#size;
  }

  get handle(): FileHandle {
    return this.#fh;
  }

  async append(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.#appending) throw new Error(`overlapping appends to ${this.path}`);
    this.#appending = true;
    try {
      const n = await writeFully(this.#fh, chunks, this.#size);
      this.#size += n;
      this.#stats.writes++;
      this.#stats.bytesWritten += n;
      if (this.durableWrites) this.#stats.datasyncs++;
    } finally {
      this.#appending = false;
    }
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return readFully(this.#fh, into, position);
  }

  async datasync(): Promise<void> {
    this.#stats.datasyncs++;
    await this.#fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.#fh.truncate(length);
    this.#size = length;
  }

  close(): Promise<void> {
    return this.#fh.close();
  }

  abandon(): Promise<void> {
    return this.#fh.close();
  }
}
