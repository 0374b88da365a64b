/** Fixed-seed payloads: the same bytes on every run, so runs compare. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct values of `sizeBytes` random bytes each (records cycle through them). */
export function valuePool(sizeBytes: number, count: number, seed = 42): Uint8Array[] {
  const r = prng(seed);
  return Array.from({ length: count }, () => {
    const b = Buffer.allocUnsafe(sizeBytes);
    for (let i = 0; i < sizeBytes; i++) b[i] = Math.floor(r() * 256);
    return b;
  });
}
