/**
 * Versioned command encoding: msgpack `[formatVersion, op, body]`.
 *
 * Decoding checks the SHAPE (types, lengths within limits); apply checks the
 * meaning against the current metadata. A future version may add fields to a
 * body; an old node refuses a newer format version rather than guess.
 */
import { Packr } from 'msgpackr';
import { TOPIC_CONFIG_KEYS } from '../../node/broker/topic-config.ts';
import { type ControllerCommand, ControllerOp, OP_NAMES, type TopicConfigOverrides } from './commands.ts';
import { CommandDecodeError, CommandTooLargeError } from './errors.ts';
import { ControllerLimits as L } from './limits.ts';

export const COMMAND_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeCommand(cmd: ControllerCommand): Uint8Array {
  const { op, ...body } = cmd;
  const bytes = packr.pack([COMMAND_FORMAT_VERSION, op, body]);
  if (bytes.byteLength > L.commandBytesMax) throw new CommandTooLargeError(bytes.byteLength, L.commandBytesMax);
  return bytes;
}

function bad(detail: string): CommandDecodeError {
  return new CommandDecodeError(`controller: malformed command: ${detail}`);
}

type Body = Record<string, unknown>;

function int(b: Body, k: string, min: number, max: number): number {
  const v = b[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`${k} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function str(b: Body, k: string, charsMax: number): string {
  const v = b[k];
  if (typeof v !== 'string' || v.length > charsMax) throw bad(`${k} must be a string of at most ${charsMax} chars`);
  return v;
}

function ids(v: unknown, what: string, lengthMax: number): number[] {
  if (!Array.isArray(v) || v.length > lengthMax) throw bad(`${what} must be an array of at most ${lengthMax} ids`);
  for (const id of v) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) throw bad(`${what} holds a bad node id`);
  }
  return v as number[];
}

function overrides(v: unknown, what: string): TopicConfigOverrides {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be a map`);
  const out: TopicConfigOverrides = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(TOPIC_CONFIG_KEYS as readonly string[]).includes(k)) throw bad(`${what}.${k} is not a topic setting`);
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) throw bad(`${what}.${k} must be an integer`);
    out[k as keyof TopicConfigOverrides] = x;
  }
  return out;
}

const TOPIC_CHARS_MAX = 1024; // the name rule (node/protocol/validate.ts) is checked at apply

export function decodeCommand(bytes: Uint8Array): ControllerCommand {
  if (bytes.byteLength > L.commandBytesMax) throw new CommandTooLargeError(bytes.byteLength, L.commandBytesMax);
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw bad(`not msgpack (${(err as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length !== 3) throw bad('expected [version, op, body]');
  const [version, op, body] = raw as [unknown, unknown, unknown];
  if (version !== COMMAND_FORMAT_VERSION) throw bad(`unsupported format version ${String(version)}`);
  if (typeof op !== 'number' || !OP_NAMES.has(op)) throw bad(`unknown opcode ${String(op)}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body must be a map');
  const b = body as Body;
  switch (op) {
    case ControllerOp.RegisterBroker:
      return {
        op,
        nodeId: int(b, 'nodeId', 1, Number.MAX_SAFE_INTEGER),
        host: str(b, 'host', L.hostCharsMax),
        port: int(b, 'port', 1, 65_535),
        raftHost: str(b, 'raftHost', L.hostCharsMax),
        raftPort: int(b, 'raftPort', 1, 65_535),
        rack: str(b, 'rack', L.rackCharsMax),
        incarnation: int(b, 'incarnation', 0, Number.MAX_SAFE_INTEGER),
      };
    case ControllerOp.UnregisterBroker:
      return { op, nodeId: int(b, 'nodeId', 1, Number.MAX_SAFE_INTEGER) };
    case ControllerOp.CreateTopic: {
      const a = b.assignment;
      if (!Array.isArray(a) || a.length > L.partitionsPerTopicMax) throw bad('assignment must be an array');
      return {
        op,
        name: str(b, 'name', TOPIC_CHARS_MAX),
        partitions: int(b, 'partitions', 0, Number.MAX_SAFE_INTEGER),
        replicationFactor: int(b, 'replicationFactor', 0, Number.MAX_SAFE_INTEGER),
        config: overrides(b.config, 'config'),
        assignment: a.map((rs, i) => ids(rs, `assignment[${i}]`, L.replicasMax)),
      };
    }
    case ControllerOp.DeleteTopic:
      return { op, name: str(b, 'name', TOPIC_CHARS_MAX) };
    case ControllerOp.UpdateTopicConfig: {
      const remove = b.remove;
      if (!Array.isArray(remove) || remove.length > TOPIC_CONFIG_KEYS.length) throw bad('remove must be an array');
      for (const k of remove) {
        if (!(TOPIC_CONFIG_KEYS as readonly unknown[]).includes(k)) throw bad(`remove: ${String(k)} is not a setting`);
      }
      return {
        op,
        name: str(b, 'name', TOPIC_CHARS_MAX),
        set: overrides(b.set, 'set'),
        remove: remove as UpdateTopicConfigKeys,
      };
    }
    case ControllerOp.ReassignPartition:
      return {
        op,
        topic: str(b, 'topic', TOPIC_CHARS_MAX),
        partition: int(b, 'partition', 0, Number.MAX_SAFE_INTEGER),
        replicas: ids(b.replicas, 'replicas', L.replicasMax),
        partitionEpoch: int(b, 'partitionEpoch', 0, Number.MAX_SAFE_INTEGER),
      };
    case ControllerOp.SetPartitionLeaderHint:
      return {
        op,
        topic: str(b, 'topic', TOPIC_CHARS_MAX),
        partition: int(b, 'partition', 0, Number.MAX_SAFE_INTEGER),
        leader: int(b, 'leader', 0, Number.MAX_SAFE_INTEGER),
        partitionEpoch: int(b, 'partitionEpoch', 0, Number.MAX_SAFE_INTEGER),
      };
    case ControllerOp.AllocateProducerIds:
      return { op, count: int(b, 'count', 0, Number.MAX_SAFE_INTEGER) };
    default:
      throw bad(`opcode ${op} has no decoder`);
  }
}

type UpdateTopicConfigKeys = Extract<ControllerCommand, { op: 5 }>['remove'];
