import type { Entry } from '../types.ts';
import { chainDigest, EMPTY_CHAIN_DIGEST, entryContentDigest } from './digest.ts';
import { SimUsageError } from './errors.ts';

/**
 * The replicated application: it folds every applied entry into a hash chain.
 * Its image (applied index + chain digest) is what snapshots carry, so two
 * nodes at the same applied index must hold the same image, whatever mix of
 * snapshots and entries got them there.
 */
export interface StateMachineImage {
  applied: number;
  chain: string;
}

const contentCache = new WeakMap<Entry, string>();

/** Content identity of an entry, cached (entries are immutable once created). */
export function contentOf(e: Entry): string {
  let c = contentCache.get(e);
  if (c === undefined) {
    c = entryContentDigest(e.type, e.data);
    contentCache.set(e, c);
  }
  return c;
}

export function applyToImage(img: StateMachineImage, e: Entry): StateMachineImage {
  return { applied: e.index, chain: chainDigest(img.chain, e.index, e.term, contentOf(e)) };
}

export const EMPTY_IMAGE: StateMachineImage = { applied: 0, chain: EMPTY_CHAIN_DIGEST };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeImage(img: StateMachineImage): Uint8Array {
  return encoder.encode(`sm1:${img.applied}:${img.chain}`);
}

export function decodeImage(data: Uint8Array): StateMachineImage {
  const text = decoder.decode(data);
  const m = /^sm1:(\d+):([0-9a-f]{16})$/.exec(text);
  if (m === null)
    throw new SimUsageError(`snapshot data is not a state-machine image: ${JSON.stringify(text.slice(0, 40))}`);
  return { applied: Number(m[1]), chain: m[2]! };
}
