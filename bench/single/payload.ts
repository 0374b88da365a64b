import { mulberry32 } from '../../node/util/prng.ts';
/** Fixed-seed payloads: the same bytes on every run, so runs compare. */
export const prng = mulberry32;

/** `count` distinct values of `sizeBytes` random bytes each (records cycle through them). */
export function valuePool(sizeBytes: number, count: number, seed = 42): Uint8Array[] {
  const r = prng(seed);
  return Array.from({ length: count }, () => {
    const b = Buffer.allocUnsafe(sizeBytes);
    for (let i = 0; i < sizeBytes; i++) b[i] = Math.floor(r() * 256);
    return b;
  });
}
