/**
 * Defaults and validation for LogConfig. The defaults run out of the box and
 * favour durability: flush 'always' with group commit (an append resolves only
 * once it is on disk; concurrent appends share one fdatasync).
 */
import { HEADER_BYTES } from './batch.ts';
import { InvalidLogConfigError } from './errors.ts';
import type { FlushPolicy, LogConfig } from './log.ts';

/** Sparse index positions are u32, so a segment must stay below 4 GiB. */
export const SEGMENT_BYTES_LIMIT = 0xffff_ffff;
/** The smallest possible batch: a header and one byte of body. */
export const BATCH_BYTES_MIN = HEADER_BYTES + 1;
const INTERVAL_MS_MAX = 24 * 3600 * 1000;

export function defaultLogConfig(): LogConfig {
  return {
    segmentBytes: 1024 * 1024 * 1024,
    segmentMs: 7 * 24 * 3600 * 1000,
    indexIntervalBytes: 4096,
    retentionMs: 7 * 24 * 3600 * 1000,
    retentionBytes: -1,
    maxBatchBytes: 1024 * 1024,
    flush: { kind: 'always' },
  };
}

function requireInt(key: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new InvalidLogConfigError(key, `expected an integer, got ${String(v)}`);
  }
  if (v < min || v > max) throw new InvalidLogConfigError(key, `${v} is outside [${min}, ${max}]`);
}

function requireLimitOrUnlimited(key: string, v: unknown): void {
  if (v === -1) return;
  requireInt(key, v, 0, Number.MAX_SAFE_INTEGER);
}

/** Throws InvalidLogConfigError naming the first bad key; returns the config unchanged. */
export function validateLogConfig(c: LogConfig): LogConfig {
  requireInt('maxBatchBytes', c.maxBatchBytes, BATCH_BYTES_MIN, 256 * 1024 * 1024);
  requireInt('segmentBytes', c.segmentBytes, BATCH_BYTES_MIN, SEGMENT_BYTES_LIMIT);
  // A segment below segmentBytes still takes one more batch, and positions are u32.
  if (c.segmentBytes + c.maxBatchBytes > SEGMENT_BYTES_LIMIT) {
    throw new InvalidLogConfigError(
      'segmentBytes',
      `segmentBytes + maxBatchBytes must stay below ${SEGMENT_BYTES_LIMIT} (sparse index positions are u32)`,
    );
  }
  requireInt('segmentMs', c.segmentMs, 1, Number.MAX_SAFE_INTEGER);
  requireInt('indexIntervalBytes', c.indexIntervalBytes, 0, SEGMENT_BYTES_LIMIT);
  requireLimitOrUnlimited('retentionMs', c.retentionMs);
  requireLimitOrUnlimited('retentionBytes', c.retentionBytes);
  validateFlushPolicy(c.flush);
  return c;
}

function validateFlushPolicy(f: FlushPolicy): void {
  if (f === null || typeof f !== 'object') throw new InvalidLogConfigError('flush', 'missing flush policy');
  switch (f.kind) {
    case 'always':
    case 'never':
      return;
    case 'interval':
      requireInt('flush.intervalMs', f.intervalMs, 1, INTERVAL_MS_MAX);
      return;
    default:
      throw new InvalidLogConfigError('flush', `unknown kind ${String((f as { kind: unknown }).kind)}`);
  }
}

/** Parses the command-line form: `always`, `never` or `interval:<ms>`. */
export function parseFlushPolicy(text: string): FlushPolicy {
  if (text === 'always') return { kind: 'always' };
  if (text === 'never') return { kind: 'never' };
  const m = /^interval:(\d+)$/.exec(text);
  if (m) {
    const policy: FlushPolicy = { kind: 'interval', intervalMs: Number(m[1]) };
    validateFlushPolicy(policy);
    return policy;
  }
  throw new InvalidLogConfigError('flush', `expected always, never or interval:<ms>, got ${JSON.stringify(text)}`);
}

/** The inverse of parseFlushPolicy, for logs and status output. */
export function formatFlushPolicy(f: FlushPolicy): string {
  return f.kind === 'interval' ? `interval:${f.intervalMs}` : f.kind;
}
