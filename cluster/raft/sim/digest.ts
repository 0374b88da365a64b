/**
 * Small non-cryptographic hashing used for trace hashes, entry identities and
 * the state-machine image. Two independent 32-bit lanes (FNV-1a and a
 * murmur3-style mixer) give a 64-bit fingerprint: collisions across the few
 * thousand values of one run are negligible, and integer maths is identical
 * on every engine.
 */
export class Digest {
  private h1 = 0x811c9dc5;
  private h2 = 0x9747b28c;

  /** Mixes one number (treated as two 32-bit halves so values above 2^32 keep their high bits). */
  addNumber(x: number): this {
    const lo = x >>> 0;
    const hi = Math.floor(x / 0x1_0000_0000) >>> 0;
    this.addWord(lo);
    this.addWord(hi);
    return this;
  }

  addWord(w: number): this {
    this.h1 = Math.imul(this.h1 ^ (w & 0xffff), 0x01000193);
    this.h1 = Math.imul(this.h1 ^ (w >>> 16), 0x01000193);
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    this.h2 ^= k;
    this.h2 = (this.h2 << 13) | (this.h2 >>> 19);
    this.h2 = (Math.imul(this.h2, 5) + 0xe6546b64) | 0;
    return this;
  }

  addBytes(bytes: Uint8Array): this {
    this.addWord(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.h1 = Math.imul(this.h1 ^ bytes[i]!, 0x01000193);
    // The second lane takes 4 bytes at a time.
    for (let i = 0; i < bytes.length; i += 4) {
      const w =
        (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
      let k = Math.imul(w, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      this.h2 ^= Math.imul(k, 0x1b873593);
      this.h2 = (Math.imul((this.h2 << 13) | (this.h2 >>> 19), 5) + 0xe6546b64) | 0;
    }
    return this;
  }

  /** 16 hex digits. */
  hex(): string {
    let h2 = this.h2 ^ (this.h2 >>> 16);
    h2 = Math.imul(h2, 0x85ebca6b);
    h2 ^= h2 >>> 13;
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
  }
}

/** The identity of an entry's content (type + data), independent of its position. */
export function entryContentDigest(type: number, data: Uint8Array): string {
  return new Digest().addWord(type).addBytes(data).hex();
}

/** The state-machine image after applying one more entry: a hash chain over (index, term, content). */
export function chainDigest(previous: string, index: number, term: number, content: string): string {
  const d = new Digest();
  for (let i = 0; i < previous.length; i += 8) d.addWord(Number.parseInt(previous.slice(i, i + 8), 16));
  d.addNumber(index).addNumber(term);
  for (let i = 0; i < content.length; i += 8) d.addWord(Number.parseInt(content.slice(i, i + 8), 16));
  return d.hex();
}

/** The empty state machine's image. */
export const EMPTY_CHAIN_DIGEST = '0000000000000000';
