/** Shared helpers for the storage tests (not used by production code). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BatchHeader, encodeBatch, readBatchHeader, splitBatches } from './batch.ts';
import { defaultLogConfig } from './config.ts';
import type { LogConfig, ReadResult } from './log.ts';

/** A batch of `count` records of `valueBytes` bytes each; values are deterministic from `seed`. */
export function makeBatch(count: number, valueBytes = 16, timestampMs = 1_700_000_000_000, seed = 0): Uint8Array {
  const records = [];
  for (let i = 0; i < count; i++) {
    const value = new Uint8Array(valueBytes);
    for (let j = 0; j < valueBytes; j++) value[j] = (seed * 31 + i * 7 + j) & 0xff;
    records.push({ key: `k${i}`, value, timestamp: timestampMs + i });
  }
  return encodeBatch(records, undefined, timestampMs);
}

export function testConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    ...defaultLogConfig(),
    segmentBytes: 64 * 1024,
    indexIntervalBytes: 256,
    retentionMs: -1,
    retentionBytes: -1,
    maxBatchBytes: 64 * 1024,
    flush: { kind: 'never' },
    ...overrides,
  };
}

/** Headers of every batch a read returned, in order. */
export function readHeaders(r: ReadResult): BatchHeader[] {
  const out: BatchHeader[] = [];
  for (const chunk of r.chunks) for (const b of splitBatches(chunk)) out.push(readBatchHeader(b));
  return out;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbus-storage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns true; fails after timeoutMs. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
