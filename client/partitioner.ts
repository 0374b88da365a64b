/**
 * Key -> partition, compatible with Kafka's default partitioner: murmur2 (seed
 * 0x9747b28c) over the UTF-8 bytes of the key, masked to 31 bits, modulo the
 * partition count. The same key always lands on the same partition while the
 * partition count stays the same, and a Kafka client would pick the same one.
 *
 * Keyless records go to a "sticky" partition that changes each time a batch
 * for it is sealed (Kafka's KIP-480): large batches, spread evenly over time.
 */
const encoder = new TextEncoder();
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's `Utils.murmur2`: the signed 32-bit result. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key among `partitionCount` partitions. */
export function partitionForKey(key: Uint8Array | string, partitionCount: number): number {
  if (!(Number.isInteger(partitionCount) && partitionCount > 0)) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  const bytes = typeof key === 'string' ? encoder.encode(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitionCount;
}

/** Picks a partition for keyless records, sticking to it until told a batch for it was sealed. */
export class StickyPartitioner {
  private readonly sticky = new Map<string, number>();
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  partition(topic: string, partitionCount: number): number {
    const current = this.sticky.get(topic);
    if (current !== undefined && current < partitionCount) return current;
    const next = Math.floor(this.random() * partitionCount);
    this.sticky.set(topic, next);
    return next;
  }

  /** A batch for `partition` was sealed: move keyless records elsewhere (round-robin step). */
  onBatchSealed(topic: string, partition: number, partitionCount: number): void {
    if (this.sticky.get(topic) !== partition || partitionCount <= 1) return;
    this.sticky.set(topic, (partition + 1) % partitionCount);
  }
}
