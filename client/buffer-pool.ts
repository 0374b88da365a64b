/**
 * A small pool of batch buffers, by exact size. The producer returns a
 * batch's buffer once the node has answered for it (the bytes have left the
 * socket long before), so steady-state producing reuses warm memory instead
 * of faulting in a fresh megabyte per batch: on this machine first-touch page
 * faults made copying into a new 1 MiB buffer several times slower than into
 * a reused one. Bounded in total bytes; past that, buffers are left to the GC.
 */
export class BufferPool {
  readonly bytesMax: number;
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  constructor(bytesMax: number) {
    if (!(bytesMax >= 0)) throw new RangeError('pool bytesMax must be >= 0');
    this.bytesMax = bytesMax;
  }

  get bytes(): number {
    return this.pooledBytes;
  }

  /** A buffer of exactly `size` bytes (contents undefined). */
  acquire(size: number): Buffer {
    const list = this.free.get(size);
    const b = list?.pop();
    if (b) {
      this.pooledBytes -= size;
      return b;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Gives a buffer back; the caller must not touch it afterwards. */
  release(buf: Buffer): void {
    const size = buf.byteLength;
    // Only whole, unshared buffers: a pooled slice of a larger ArrayBuffer would alias other data.
    if (buf.byteOffset !== 0 || buf.buffer.byteLength !== size) return;
    if (this.pooledBytes + size > this.bytesMax) return;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buf);
    this.pooledBytes += size;
  }
}
