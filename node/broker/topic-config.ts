/**
 * Per-topic settings. A topic stores only the settings it overrides; the rest
 * come from the node config at open time, so changing a node default reaches
 * every topic that did not pin its own value.
 */
import type { NodeConfig } from '../config.ts';
import type { TopicConfig } from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import type { LogConfig } from '../storage/log.ts';

export const TOPIC_CONFIG_KEYS: readonly (keyof TopicConfig)[] = [
  'retentionMs',
  'retentionBytes',
  'segmentBytes',
  'segmentMs',
  'maxBatchBytes',
];

const SEGMENT_BYTES_MIN = 4096;
const BATCH_BYTES_MIN = 128;
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

function bad(detail: string): RaftbusError {
  return new RaftbusError(ErrorCode.INVALID_CONFIG, { detail });
}

function inRange(name: string, v: number, min: number, max: number, unlimitedOk: boolean): void {
  if (!Number.isSafeInteger(v)) throw bad(`${name} must be an integer`);
  if (unlimitedOk && v === -1) return;
  if (v < min || v > max) throw bad(`${name} = ${v} is outside [${min}, ${max}]${unlimitedOk ? ' (or -1)' : ''}`);
}

/** Resolves overrides against the node defaults and checks every value. Throws RaftbusError(INVALID_CONFIG). */
export function resolveTopicConfig(overrides: Partial<TopicConfig>, node: NodeConfig): TopicConfig {
  for (const k of Object.keys(overrides)) {
    if (!(TOPIC_CONFIG_KEYS as readonly string[]).includes(k)) throw bad(`${k} is not a topic setting`);
  }
  const c: TopicConfig = {
    retentionMs: overrides.retentionMs ?? node.retentionMs,
    retentionBytes: overrides.retentionBytes ?? node.retentionBytes,
    segmentBytes: overrides.segmentBytes ?? node.segmentBytes,
    segmentMs: overrides.segmentMs ?? node.segmentMs,
    maxBatchBytes: overrides.maxBatchBytes ?? node.batchBytesMax,
  };
  inRange('retentionMs', c.retentionMs, 1, Number.MAX_SAFE_INTEGER, true);
  inRange('retentionBytes', c.retentionBytes, 1, Number.MAX_SAFE_INTEGER, true);
  inRange('segmentBytes', c.segmentBytes, SEGMENT_BYTES_MIN, 2 ** 31 - 1, false);
  inRange('segmentMs', c.segmentMs, 1, YEAR_MS, false);
  // A topic may lower the node's batch limit, never raise it: frames are sized for the node's.
  inRange('maxBatchBytes', c.maxBatchBytes, BATCH_BYTES_MIN, node.batchBytesMax, false);
  if (c.maxBatchBytes > c.segmentBytes) {
    throw bad(`maxBatchBytes ${c.maxBatchBytes} exceeds segmentBytes ${c.segmentBytes}`);
  }
  return c;
}

/** Keeps only the keys present, dropping undefined, for storing. */
export function pickOverrides(v: Partial<TopicConfig> | undefined): Partial<TopicConfig> {
  const out: Partial<TopicConfig> = {};
  if (!v) return out;
  for (const k of TOPIC_CONFIG_KEYS) {
    const x = v[k];
    if (typeof x === 'number') out[k] = x;
  }
  return out;
}

export function toLogConfig(c: TopicConfig, node: NodeConfig): LogConfig {
  return {
    segmentBytes: c.segmentBytes,
    segmentMs: c.segmentMs,
    indexIntervalBytes: node.indexIntervalBytes,
    retentionMs: c.retentionMs,
    retentionBytes: c.retentionBytes,
    maxBatchBytes: c.maxBatchBytes,
    flush: node.flush,
  };
}
