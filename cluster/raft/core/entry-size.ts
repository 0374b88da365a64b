import type { Entry } from '../types.ts';

/**
 * Fixed per-entry cost counted on top of the payload when sizing messages and
 * in-flight windows, so that a run of empty entries (no-ops) still fills a
 * window instead of being free.
 */
export const entryOverheadBytes = 16;

/** Wire-ish size of one entry, used for maxMsgBytes, maxInflightBytes and storage.entries(maxBytes). */
export function entryBytes(e: Entry): number {
  return e.data.byteLength + entryOverheadBytes;
}

export function entriesBytes(ents: readonly Entry[]): number {
  let total = 0;
  for (const e of ents) total += entryBytes(e);
  return total;
}

/** Payload bytes only: what counts against maxUncommittedBytes (as etcd does). */
export function payloadBytes(ents: readonly Entry[]): number {
  let total = 0;
  for (const e of ents) total += e.data.byteLength;
  return total;
}

/** The longest prefix of `ents` within `maxBytes`, always at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entryBytes(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entryBytes(ents[n]!);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
