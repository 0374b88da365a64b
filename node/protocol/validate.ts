/**
 * Validation of every request body in api.ts. A body arrives as whatever
 * msgpack decoded to; nothing in it is trusted until a validator here has
 * checked its type, range and length and returned a typed copy. Failures are
 * RaftbusError(INVALID_REQUEST, { detail }) naming the bad field.
 *
 * Topic-name rules (INVALID_TOPIC) are checked by the broker per topic, so one
 * bad name in a batch of creates fails only that entry; `checkTopicName` is here
 * so server and client share it.
 */
import {
  type Acks,
  ApiKey,
  type CreateTopicSpec,
  type CreateTopicsRequest,
  type DeleteTopicsRequest,
  type DescribeTopicsRequest,
  type FetchPartition,
  type FetchRequest,
  type HandshakeRequest,
  type ListOffsetsPartition,
  type ListOffsetsRequest,
  type ListTopicsRequest,
  type MetadataRequest,
  OffsetSpec,
  type ProducePartitionData,
  type ProduceRequest,
  type TopicConfig,
} from './api.ts';
import { ErrorCode, RaftbusError } from './errors.ts';

/** Bounds on list lengths and strings in one request. */
export const RequestLimits = {
  topicsPerRequestMax: 10_000,
  partitionsPerRequestMax: 10_000,
  stringCharsMax: 1024,
  topicNameCharsMax: 249,
  timeoutMsMax: 24 * 60 * 60 * 1000,
} as const;

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Returns why `name` is not a valid topic name, or null when it is. */
export function topicNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'a topic name must be a string';
  if (name.length === 0) return 'a topic name must not be empty';
  if (name.length > RequestLimits.topicNameCharsMax) {
    return `a topic name has at most ${RequestLimits.topicNameCharsMax} chars`;
  }
  if (name === '.' || name === '..') return `a topic name must not be '.' or '..'`;
  if (!TOPIC_NAME.test(name)) return 'a topic name uses only [a-zA-Z0-9._-]';
  return null;
}

/** Throws RaftbusError(INVALID_TOPIC) when `name` is not a valid topic name. */
export function checkTopicName(name: unknown): string {
  const problem = topicNameProblem(name);
  if (problem !== null) {
    const shown = typeof name === 'string' ? name.slice(0, RequestLimits.topicNameCharsMax + 1) : String(name);
    throw new RaftbusError(ErrorCode.INVALID_TOPIC, { topic: shown, detail: problem });
  }
  return name as string;
}

function invalid(detail: string): RaftbusError {
  return new RaftbusError(ErrorCode.INVALID_REQUEST, { detail });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Map);
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw invalid(`${path} must be a map`);
  return v;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(`${path} must be an integer`);
  if (v < min || v > max) throw invalid(`${path} = ${v} is outside [${min}, ${max}]`);
  return v;
}

function optInt(v: unknown, path: string, min: number, max: number): number | undefined {
  return v === undefined || v === null ? undefined : int(v, path, min, max);
}

function str(v: unknown, path: string, maxChars: number = RequestLimits.stringCharsMax, minChars = 0): string {
  if (typeof v !== 'string') throw invalid(`${path} must be a string`);
  if (v.length > maxChars || v.length < minChars) throw invalid(`${path} must have ${minChars}-${maxChars} chars`);
  return v;
}

/** A topic reference in a data request: a string of sane length. Name rules are the broker's lookup. */
function topicRef(v: unknown, path: string): string {
  return str(v, path, RequestLimits.topicNameCharsMax, 1);
}

function list(v: unknown, path: string, maxItems: number, allowEmpty = true): unknown[] {
  if (!Array.isArray(v)) throw invalid(`${path} must be an array`);
  if (v.length > maxItems) throw invalid(`${path} has ${v.length} items, at most ${maxItems} allowed`);
  if (!allowEmpty && v.length === 0) throw invalid(`${path} must not be empty`);
  return v;
}

const I32_MAX = 0x7fff_ffff;
const OFFSET_MAX = Number.MAX_SAFE_INTEGER;

export function validateHandshake(body: unknown): HandshakeRequest {
  const b = obj(body, 'body');
  const out: HandshakeRequest = {
    clientId: str(b.clientId, 'clientId', 256),
    clientVersion: str(b.clientVersion, 'clientVersion', 64),
  };
  if (b.auth !== undefined && b.auth !== null) {
    const a = obj(b.auth, 'auth');
    out.auth = {
      mechanism: str(a.mechanism, 'auth.mechanism', 64),
      username: str(a.username, 'auth.username', 256),
      password: str(a.password, 'auth.password', 1024),
    };
  }
  return out;
}

export function validateMetadata(body: unknown): MetadataRequest {
  if (body === null || body === undefined) return { topics: null };
  const b = obj(body, 'body');
  if (b.topics === undefined || b.topics === null) return { topics: null };
  const topics = list(b.topics, 'topics', RequestLimits.topicsPerRequestMax).map((t, i) => topicRef(t, `topics[${i}]`));
  return { topics };
}

const TOPIC_CONFIG_KEYS: readonly (keyof TopicConfig)[] = [
  'retentionMs',
  'retentionBytes',
  'segmentBytes',
  'segmentMs',
  'maxBatchBytes',
];

/**
 * Checks the shape of a partial topic config (integers of known keys). The
 * broker checks ranges against the node's limits and answers INVALID_CONFIG.
 */
function topicConfigShape(v: unknown, path: string): Partial<TopicConfig> {
  const o = obj(v, path);
  const out: Partial<TopicConfig> = {};
  for (const [k, val] of Object.entries(o)) {
    if (!(TOPIC_CONFIG_KEYS as readonly string[]).includes(k))
      throw invalid(`${path}.${k.slice(0, 64)} is not a topic setting`);
    if (val === undefined || val === null) continue;
    out[k as keyof TopicConfig] = int(val, `${path}.${k}`, -1, Number.MAX_SAFE_INTEGER);
  }
  return out;
}

export function validateCreateTopics(body: unknown): CreateTopicsRequest {
  const b = obj(body, 'body');
  const topics = list(b.topics, 'topics', RequestLimits.topicsPerRequestMax, false).map((t, i): CreateTopicSpec => {
    const path = `topics[${i}]`;
    const o = obj(t, path);
    // The name is checked by the broker (INVALID_TOPIC per topic); here only its type and size.
    const spec: CreateTopicSpec = {
      name: str(o.name, `${path}.name`, RequestLimits.stringCharsMax),
      partitions: int(o.partitions, `${path}.partitions`, -I32_MAX, I32_MAX),
    };
    const rf = optInt(o.replicationFactor, `${path}.replicationFactor`, -I32_MAX, I32_MAX);
    if (rf !== undefined) spec.replicationFactor = rf;
    if (o.config !== undefined && o.config !== null) spec.config = topicConfigShape(o.config, `${path}.config`);
    return spec;
  });
  if (b.validateOnly !== undefined && b.validateOnly !== null && typeof b.validateOnly !== 'boolean') {
    throw invalid('validateOnly must be a boolean');
  }
  return { topics, validateOnly: b.validateOnly === true };
}

function topicNameList(body: unknown): string[] {
  const b = obj(body, 'body');
  return list(b.topics, 'topics', RequestLimits.topicsPerRequestMax, false).map((t, i) =>
    str(t, `topics[${i}]`, RequestLimits.stringCharsMax),
  );
}

export function validateDeleteTopics(body: unknown): DeleteTopicsRequest {
  return { topics: topicNameList(body) };
}

export function validateDescribeTopics(body: unknown): DescribeTopicsRequest {
  return { topics: topicNameList(body) };
}

export function validateListTopics(body: unknown): ListTopicsRequest {
  if (body !== null && body !== undefined) obj(body, 'body');
  return {};
}

function acks(v: unknown): Acks {
  if (v === 0 || v === 1 || v === -1) return v;
  throw invalid(`acks must be 0 (none), 1 (leader) or -1 (quorum), got ${JSON.stringify(v)?.slice(0, 32)}`);
}

/**
 * Validates a produce body against the raw section that came with it: every
 * entry names one batch, and the batch lengths must add up to the raw length
 * exactly, so no byte of the raw section is unaccounted for.
 */
export function validateProduce(body: unknown, rawBytes: number): ProduceRequest {
  const b = obj(body, 'body');
  let total = 0;
  const partitions = list(b.partitions, 'partitions', RequestLimits.partitionsPerRequestMax, false).map(
    (p, i): ProducePartitionData => {
      const path = `partitions[${i}]`;
      const o = obj(p, path);
      // A batch longer than the limit is the broker's MESSAGE_TOO_LARGE, not a malformed request:
      // the length is only bounded by the frame here.
      const batchBytes = int(o.batchBytes, `${path}.batchBytes`, 1, rawBytes);
      total += batchBytes;
      return {
        topic: topicRef(o.topic, `${path}.topic`),
        partition: int(o.partition, `${path}.partition`, 0, I32_MAX),
        batchBytes,
      };
    },
  );
  if (total !== rawBytes) {
    throw invalid(`the batches listed add up to ${total} bytes but the raw section holds ${rawBytes}`);
  }
  return {
    acks: acks(b.acks),
    timeoutMs: int(b.timeoutMs, 'timeoutMs', 0, RequestLimits.timeoutMsMax),
    partitions,
  };
}

export function validateFetch(body: unknown): FetchRequest {
  const b = obj(body, 'body');
  const partitions = list(b.partitions, 'partitions', RequestLimits.partitionsPerRequestMax, false).map(
    (p, i): FetchPartition => {
      const path = `partitions[${i}]`;
      const o = obj(p, path);
      return {
        topic: topicRef(o.topic, `${path}.topic`),
        partition: int(o.partition, `${path}.partition`, 0, I32_MAX),
        offset: int(o.offset, `${path}.offset`, 0, OFFSET_MAX),
        maxBytes: int(o.maxBytes, `${path}.maxBytes`, 1, I32_MAX),
      };
    },
  );
  return {
    maxWaitMs: int(b.maxWaitMs, 'maxWaitMs', 0, RequestLimits.timeoutMsMax),
    minBytes: int(b.minBytes, 'minBytes', 0, I32_MAX),
    maxBytes: int(b.maxBytes, 'maxBytes', 1, I32_MAX),
    partitions,
  };
}

export function validateListOffsets(body: unknown): ListOffsetsRequest {
  const b = obj(body, 'body');
  const partitions = list(b.partitions, 'partitions', RequestLimits.partitionsPerRequestMax, false).map(
    (p, i): ListOffsetsPartition => {
      const path = `partitions[${i}]`;
      const o = obj(p, path);
      return {
        topic: topicRef(o.topic, `${path}.topic`),
        partition: int(o.partition, `${path}.partition`, 0, I32_MAX),
        timestamp: int(o.timestamp, `${path}.timestamp`, OffsetSpec.earliest, Number.MAX_SAFE_INTEGER),
      };
    },
  );
  return { partitions };
}

/** Every api this node validates, by key. */
export const VALIDATED_APIS: readonly number[] = [
  ApiKey.Handshake,
  ApiKey.Metadata,
  ApiKey.CreateTopics,
  ApiKey.DeleteTopics,
  ApiKey.ListTopics,
  ApiKey.DescribeTopics,
  ApiKey.Produce,
  ApiKey.Fetch,
  ApiKey.ListOffsets,
];
