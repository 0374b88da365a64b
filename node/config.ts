/**
 * Node configuration: flags > env RAFTBUS_* > --config file (JSON) > defaults.
 * The defaults run out of the box: `raftbus node` with no flags listens on
 * 127.0.0.1:9092 and stores under ./.raftbus/node-1.
 *
 * Every key has one spec: its flag, its env name, and a parser that either
 * returns a valid value or throws ConfigError naming the key.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_FRAME_BYTES_MAX, FRAME_HEADER_BYTES } from './protocol/frame.ts';
import type { FlushPolicy } from './storage/log.ts';

export const LogLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LogLevels)[number];

/** `auto` = port + 1000 (or 0 when port is 0), `off` = no HTTP listener. */
export type HttpPortSetting = number | 'auto' | 'off';

export interface NodeConfig {
  nodeId: number;
  clusterId: string;
  /** Address the client listener binds to. */
  host: string;
  /** Client port; 0 = any free port (the real one is reported by startNode). */
  port: number;
  /** Host given to clients in metadata; defaults to `host` (or 127.0.0.1 when host is a wildcard). */
  advertisedHost: string | null;
  httpPort: HttpPortSetting;
  dataDir: string;
  flush: FlushPolicy;
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  /** How often retention runs over every partition. */
  retentionCheckIntervalMs: number;
  /** Largest frame accepted or sent. */
  frameBytesMax: number;
  /** Largest record batch accepted (a topic may lower it). */
  batchBytesMax: number;
  /** Requests being processed at once on one connection; more get TOO_MANY_REQUESTS. */
  inFlightRequestsMax: number;
  /** Stop reading a connection while its unsent responses exceed this. */
  socketWriteBufferBytesMax: number;
  connectionsMax: number;
  /** Bytes of requests being processed across all connections; past it every connection stops reading. */
  requestBytesInFlightMax: number;
  /** Upper bound on a fetch long-poll, whatever the client asks. */
  fetchWaitMsMax: number;
  /** Upper bound on a produce timeout, whatever the client asks. */
  produceTimeoutMsMax: number;
  partitionsPerTopicMax: number;
  topicsMax: number;
  /** Partitions across all topics on this node: each holds open files and memory. */
  partitionsMax: number;
  /** How long a graceful stop waits for in-flight requests. */
  shutdownTimeoutMs: number;
  /** A connection silent this long before its handshake, or in the middle of a frame, is closed. */
  stalledConnectionTimeoutMs: number;
  logLevel: LogLevel;
  /** Raft port of cluster mode; null = a single node (no Raft, no cluster flags allowed). 0 = any free port. */
  raftPort: number | null;
  /** Static Raft addresses of the cluster's nodes (may include this node); cluster mode only. */
  peers: PeerSpec[];
  /** How many of the lowest node ids form the controller group (1, 3 or 5); the rest follow it as learners. */
  controllerVoters: number;
  /** Failure domain for rack-aware placement ('' = none). */
  rack: string;
  /** The controller moves the replicas of a broker dead this long (cluster mode). */
  deadBrokerReassignAfterMs: number;
  /** Gossip membership port (libp2p TCP); null = no gossip (liveness from Raft links only). 0 = any free port. */
  gossipPort: number | null;
  /** Gossip addresses (`host:port` or multiaddrs) of nodes to join through. */
  seeds: string[];
  /** Gossip: a member unheard this long is suspect... */
  suspectAfterMs: number;
  /** ...and dead after this long. */
  deadAfterMs: number;
  /**
   * TEST-ONLY: partition logs keep unsynced writes in process memory until fdatasync, so kill -9
   * loses them like a power cut does (chaos tests run with it on).
   */
  simulatePowerLoss: boolean;
}

/** One `--peers` entry: `id=host:raftPort`. */
export interface PeerSpec {
  nodeId: number;
  host: string;
  port: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  readonly key: string;
  constructor(key: string, message: string) {
    super(`config ${key}: ${message}`);
    this.key = key;
  }
}

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

export function defaultNodeConfig(): NodeConfig {
  return {
    nodeId: 1,
    clusterId: 'raftbus-local',
    host: '127.0.0.1',
    port: 9092,
    advertisedHost: null,
    httpPort: 'auto',
    dataDir: defaultDataDir(1),
    flush: { kind: 'always' },
    segmentBytes: 64 * MiB,
    segmentMs: 7 * DAY_MS,
    indexIntervalBytes: 4096,
    retentionMs: 7 * DAY_MS,
    retentionBytes: -1,
    retentionCheckIntervalMs: 30_000,
    frameBytesMax: DEFAULT_FRAME_BYTES_MAX,
    batchBytesMax: 4 * MiB,
    inFlightRequestsMax: 1024,
    socketWriteBufferBytesMax: 32 * MiB,
    connectionsMax: 4096,
    requestBytesInFlightMax: 512 * MiB,
    fetchWaitMsMax: 30_000,
    produceTimeoutMsMax: 120_000,
    partitionsPerTopicMax: 1024,
    topicsMax: 10_000,
    partitionsMax: 10_000,
    shutdownTimeoutMs: 10_000,
    stalledConnectionTimeoutMs: 30_000,
    logLevel: 'info',
    raftPort: null,
    peers: [],
    controllerVoters: 3,
    rack: '',
    deadBrokerReassignAfterMs: 60_000,
    gossipPort: null,
    seeds: [],
    suspectAfterMs: 3000,
    deadAfterMs: 10_000,
    simulatePowerLoss: false,
  };
}

export function defaultDataDir(nodeId: number): string {
  return `./.raftbus/node-${nodeId}`;
}

/** Room a response body needs next to its record batches; batches must leave this much of a frame free. */
export const FRAME_BODY_RESERVE_BYTES = 64 * 1024;

type Key = keyof NodeConfig;

interface KeySpec {
  key: Key;
  flag: string;
  env: string;
  help: string;
  /** From a flag or env string. */
  fromString(raw: string, name: string): unknown;
  /** From a JSON config file value. */
  fromJson(raw: unknown, name: string): unknown;
}

function intIn(min: number, max: number) {
  return (raw: unknown, name: string): number => {
    let n: number;
    if (typeof raw === 'number') n = raw;
    else if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) n = Number(raw.trim());
    else throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(name, `${n} is outside [${min}, ${max}]`);
    }
    return n;
  };
}

/** An integer >= min, or -1 meaning "unlimited". */
function intOrUnlimited(min: number) {
  const inner = intIn(-1, Number.MAX_SAFE_INTEGER);
  return (raw: unknown, name: string): number => {
    const n = inner(raw, name);
    if (n !== -1 && n < min) throw new ConfigError(name, `${n} must be -1 (unlimited) or at least ${min}`);
    return n;
  };
}

function nonEmptyString(maxChars: number) {
  return (raw: unknown, name: string): string => {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > maxChars) {
      throw new ConfigError(name, `expected a non-empty string of at most ${maxChars} chars`);
    }
    return raw;
  };
}

function parseFlush(raw: unknown, name: string): FlushPolicy {
  if (typeof raw === 'object' && raw !== null) {
    const o = raw as Record<string, unknown>;
    if (o.kind === 'always' || o.kind === 'never') return { kind: o.kind };
    if (o.kind === 'interval') return { kind: 'interval', intervalMs: intIn(1, DAY_MS)(o.intervalMs, name) };
    throw new ConfigError(name, `unknown flush policy ${JSON.stringify(raw)}`);
  }
  if (typeof raw !== 'string') throw new ConfigError(name, 'expected always, never or interval:<ms>');
  if (raw === 'always' || raw === 'never') return { kind: raw };
  const m = /^interval:(\d+)$/.exec(raw);
  if (m) return { kind: 'interval', intervalMs: intIn(1, DAY_MS)(m[1], name) };
  throw new ConfigError(name, `expected always, never or interval:<ms>, got ${JSON.stringify(raw)}`);
}

function parseHttpPort(raw: unknown, name: string): HttpPortSetting {
  if (raw === 'auto' || raw === 'off') return raw;
  return intIn(0, 65535)(raw, name);
}

function parseLogLevel(raw: unknown, name: string): LogLevel {
  if (typeof raw === 'string' && (LogLevels as readonly string[]).includes(raw)) return raw as LogLevel;
  throw new ConfigError(name, `expected one of ${LogLevels.join(', ')}, got ${JSON.stringify(raw)}`);
}

function parseAdvertisedHost(raw: unknown, name: string): string | null {
  if (raw === null || raw === '') return null;
  return nonEmptyString(255)(raw, name);
}

function parseRaftPort(raw: unknown, name: string): number | null {
  if (raw === null || raw === '' || raw === 'off') return null;
  return intIn(0, 65535)(raw, name);
}

/** Peers bound: a static list names every node, and the controller reads at most this many. */
export const PEERS_MAX = 1024;

/** `1=host:7001,2=host:7002` (flag/env) or `[{nodeId, host, port}]` (JSON). */
function parsePeers(raw: unknown, name: string): PeerSpec[] {
  let items: unknown[];
  if (typeof raw === 'string') {
    items = raw.trim() === '' ? [] : raw.split(',').map((x) => x.trim());
  } else if (Array.isArray(raw)) {
    items = raw;
  } else {
    throw new ConfigError(name, 'expected id=host:port,id=host:port,...');
  }
  if (items.length > PEERS_MAX) throw new ConfigError(name, `more than ${PEERS_MAX} peers`);
  const out: PeerSpec[] = [];
  for (const item of items) {
    let peer: PeerSpec;
    if (typeof item === 'string') {
      const m = /^(\d+)=(.+):(\d+)$/.exec(item);
      if (!m) throw new ConfigError(name, `${JSON.stringify(item)} is not id=host:port`);
      peer = { nodeId: Number(m[1]), host: m[2]!, port: Number(m[3]) };
    } else if (typeof item === 'object' && item !== null) {
      const o = item as Record<string, unknown>;
      peer = { nodeId: o.nodeId as number, host: o.host as string, port: o.port as number };
    } else {
      throw new ConfigError(name, `${JSON.stringify(item)} is not a peer`);
    }
    intIn(1, MAX_INT32)(peer.nodeId, `${name} node id`);
    nonEmptyString(255)(peer.host, `${name} host`);
    intIn(1, 65535)(peer.port, `${name} port of node ${peer.nodeId}`);
    if (out.some((p) => p.nodeId === peer.nodeId)) throw new ConfigError(name, `node ${peer.nodeId} listed twice`);
    out.push(peer);
  }
  return out;
}

function parseControllerVoters(raw: unknown, name: string): number {
  const n = intIn(1, 5)(raw, name);
  if (n % 2 === 0) throw new ConfigError(name, `${n} voters: use 1, 3 or 5 (an even count adds no fault tolerance)`);
  return n;
}

function parseBool(raw: unknown, name: string): boolean {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

function parseRack(raw: unknown, name: string): string {
  if (typeof raw !== 'string' || raw.length > 128)
    throw new ConfigError(name, 'expected a string of at most 128 chars');
  return raw;
}

/** Bound on --seeds entries. */
export const SEEDS_MAX = 64;

function parseSeeds(raw: unknown, name: string): string[] {
  const items =
    typeof raw === 'string'
      ? raw
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '')
      : raw;
  if (!Array.isArray(items)) throw new ConfigError(name, 'expected host:port,host:port,...');
  if (items.length > SEEDS_MAX) throw new ConfigError(name, `more than ${SEEDS_MAX} seeds`);
  for (const item of items) {
    if (typeof item !== 'string' || !(/^[^\s:,]+:\d{1,5}$/.test(item) || item.startsWith('/'))) {
      throw new ConfigError(name, `${JSON.stringify(item)} is not host:port or a multiaddr`);
    }
  }
  return items as string[];
}

function spec(key: Key, flag: string, help: string, parse: (raw: unknown, name: string) => unknown): KeySpec {
  const env = `RAFTBUS_${flag.replace(/-/g, '_').toUpperCase()}`;
  return { key, flag, env, help, fromString: parse, fromJson: parse };
}

const MAX_INT32 = 0x7fff_ffff;

const SPECS: readonly KeySpec[] = [
  spec('nodeId', 'node-id', 'this node id (positive integer)', intIn(1, MAX_INT32)),
  spec('clusterId', 'cluster-id', 'cluster id reported to clients', nonEmptyString(128)),
  spec('host', 'host', 'address to listen on', nonEmptyString(255)),
  spec('port', 'port', 'client port (0 = any free port)', intIn(0, 65535)),
  spec('advertisedHost', 'advertised-host', 'host given to clients in metadata', parseAdvertisedHost),
  spec('httpPort', 'http-port', 'HTTP port for /health: a number, auto (port+1000) or off', parseHttpPort),
  spec('dataDir', 'data-dir', 'data directory (default ./.raftbus/node-<id>)', nonEmptyString(4096)),
  spec(
    'flush',
    'flush',
    'always | interval:<ms> | never (cluster: only always fsyncs before acknowledging)',
    parseFlush,
  ),
  spec('segmentBytes', 'segment-bytes', 'roll segments at this size', intIn(4096, 2 ** 31 - 1)),
  spec('segmentMs', 'segment-ms', 'roll segments at this age', intIn(1, 365 * DAY_MS)),
  spec('indexIntervalBytes', 'index-interval-bytes', 'sparse index density', intIn(1, 64 * MiB)),
  spec('retentionMs', 'retention-ms', 'delete segments older than this (-1 = forever)', intOrUnlimited(1)),
  spec('retentionBytes', 'retention-bytes', 'keep at most this many bytes per partition (-1 = all)', intOrUnlimited(1)),
  spec('retentionCheckIntervalMs', 'retention-check-interval-ms', 'how often retention runs', intIn(10, DAY_MS)),
  spec('frameBytesMax', 'frame-bytes-max', 'largest frame accepted or sent', intIn(64 * 1024, 1024 * MiB)),
  spec('batchBytesMax', 'batch-bytes-max', 'largest record batch accepted', intIn(128, 256 * MiB)),
  spec('inFlightRequestsMax', 'in-flight-requests-max', 'requests in flight per connection', intIn(1, 65536)),
  spec(
    'socketWriteBufferBytesMax',
    'socket-write-buffer-bytes-max',
    'pause reading a connection beyond this many unsent bytes',
    intIn(64 * 1024, 4096 * MiB),
  ),
  spec('connectionsMax', 'connections-max', 'client connections at once', intIn(1, 1_000_000)),
  spec(
    'requestBytesInFlightMax',
    'request-bytes-in-flight-max',
    'bytes of requests in flight across connections',
    intIn(64 * 1024, 64 * 1024 * MiB),
  ),
  spec('fetchWaitMsMax', 'fetch-wait-ms-max', 'upper bound on a fetch long-poll', intIn(0, DAY_MS)),
  spec('produceTimeoutMsMax', 'produce-timeout-ms-max', 'upper bound on a produce timeout', intIn(1, DAY_MS)),
  spec('partitionsPerTopicMax', 'partitions-per-topic-max', 'partitions per topic', intIn(1, 1_000_000)),
  spec('topicsMax', 'topics-max', 'topics on this node', intIn(1, 10_000_000)),
  spec('partitionsMax', 'partitions-max', 'partitions across all topics on this node', intIn(1, 10_000_000)),
  spec('shutdownTimeoutMs', 'shutdown-timeout-ms', 'graceful stop bound', intIn(0, 10 * 60_000)),
  spec(
    'stalledConnectionTimeoutMs',
    'stalled-connection-timeout-ms',
    'close a connection silent this long before its handshake or mid-frame',
    intIn(10, DAY_MS),
  ),
  spec('logLevel', 'log-level', LogLevels.join(' | '), parseLogLevel),
  spec('raftPort', 'raft-port', 'cluster mode: Raft port (0 = any free port); omit for a single node', parseRaftPort),
  spec('peers', 'peers', 'cluster mode: every node as id=host:raftPort,...', parsePeers),
  spec(
    'controllerVoters',
    'controller-voters',
    'cluster mode: controller group size, 1 | 3 | 5',
    parseControllerVoters,
  ),
  spec('rack', 'rack', 'cluster mode: failure domain for replica placement', parseRack),
  spec(
    'deadBrokerReassignAfterMs',
    'dead-broker-reassign-after-ms',
    'cluster mode: move replicas of a broker dead this long',
    intIn(1000, DAY_MS),
  ),
  spec(
    'gossipPort',
    'gossip-port',
    'cluster mode: gossip membership port (0 = any); omit for no gossip',
    parseRaftPort,
  ),
  spec('seeds', 'seeds', 'cluster mode: gossip addresses to join through, host:gossipPort,...', parseSeeds),
  spec(
    'suspectAfterMs',
    'suspect-after-ms',
    'gossip: a member unheard this long is suspect (>= 2 heartbeats of 1 s)',
    intIn(2000, DAY_MS),
  ),
  spec('deadAfterMs', 'dead-after-ms', 'gossip: a member unheard this long is dead', intIn(200, DAY_MS)),
  spec(
    'simulatePowerLoss',
    'simulate-power-loss',
    'TEST-ONLY true | false: unsynced log writes die with the process, like a power cut',
    parseBool,
  ),
];

const BY_FLAG = new Map(SPECS.map((s) => [s.flag, s]));

/** Checks the combinations of keys; throws ConfigError naming the first bad key. */
export function validateNodeConfig(c: NodeConfig): NodeConfig {
  // Re-run every single-key parser so a hand-built config is checked like a parsed one.
  for (const s of SPECS) s.fromJson(c[s.key], s.key);
  if (c.batchBytesMax + FRAME_HEADER_BYTES + FRAME_BODY_RESERVE_BYTES > c.frameBytesMax) {
    throw new ConfigError(
      'batchBytesMax',
      `${c.batchBytesMax} leaves no room for a frame header and body within frameBytesMax ${c.frameBytesMax}`,
    );
  }
  if (c.batchBytesMax > c.segmentBytes) {
    throw new ConfigError('segmentBytes', `${c.segmentBytes} is smaller than batchBytesMax ${c.batchBytesMax}`);
  }
  if (typeof c.httpPort === 'number' && c.httpPort !== 0 && c.httpPort === c.port) {
    throw new ConfigError('httpPort', `${c.httpPort} is the same as the client port`);
  }
  validateClusterKeys(c);
  return c;
}

/** Cluster mode is on when --raft-port is given; then the static peer list must hold a controller quorum. */
function validateClusterKeys(c: NodeConfig): void {
  if (c.raftPort === null) {
    if (c.peers.length > 0) throw new ConfigError('peers', '--peers needs --raft-port (cluster mode)');
    if (c.gossipPort !== null) throw new ConfigError('gossipPort', '--gossip-port needs --raft-port (cluster mode)');
    if (c.seeds.length > 0) throw new ConfigError('seeds', '--seeds needs --raft-port (cluster mode)');
    return;
  }
  if (c.seeds.length > 0 && c.gossipPort === null) throw new ConfigError('seeds', '--seeds needs --gossip-port');
  if (c.deadAfterMs <= c.suspectAfterMs) {
    throw new ConfigError('deadAfterMs', `${c.deadAfterMs} must exceed suspectAfterMs ${c.suspectAfterMs}`);
  }
  if (c.gossipPort !== null && c.gossipPort !== 0 && [c.port, c.raftPort, c.httpPort].includes(c.gossipPort)) {
    throw new ConfigError('gossipPort', `${c.gossipPort} is already the client, Raft or HTTP port`);
  }
  if (c.raftPort !== 0 && (c.raftPort === c.port || c.raftPort === c.httpPort)) {
    throw new ConfigError('raftPort', `${c.raftPort} is already the client or HTTP port`);
  }
  const self = c.peers.find((p) => p.nodeId === c.nodeId);
  if (self && c.raftPort !== 0 && self.port !== c.raftPort) {
    throw new ConfigError('peers', `node ${c.nodeId} is listed on port ${self.port} but --raft-port is ${c.raftPort}`);
  }
  const ids = new Set([c.nodeId, ...c.peers.map((p) => p.nodeId)]);
  if (ids.size < c.controllerVoters) {
    throw new ConfigError(
      'peers',
      `${ids.size} node(s) known (this node and --peers) but --controller-voters is ${c.controllerVoters}: list every node in --peers`,
    );
  }
}

/** True when this config runs the node as a cluster member. */
export function isClusterMode(c: NodeConfig): boolean {
  return c.raftPort !== null;
}

export function usage(): string {
  const lines = ['raftbus node [flags]', '', 'flags (env RAFTBUS_<FLAG>; --config <file.json> with camelCase keys):'];
  lines.push(`  --config <path>  JSON file of settings (env RAFTBUS_CONFIG)`);
  for (const s of SPECS) lines.push(`  --${s.flag} <v>  ${s.help}`);
  return lines.join('\n');
}

/** Parses `--flag value` and `--flag=value` pairs. Throws ConfigError on an unknown or valueless flag. */
function parseArgv(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(arg, 'unexpected argument (flags look like --name value)');
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`--${name}`, 'needs a value');
      i++;
    }
    if (name !== 'config' && !BY_FLAG.has(name)) throw new ConfigError(`--${name}`, 'unknown flag');
    out.set(name, value);
  }
  return out;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('config', `${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('config', `${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Builds the node config from flags (argv holds only flags, no program or
 * subcommand), env and an optional JSON file. Throws ConfigError.
 */
export function loadNodeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): NodeConfig {
  const flags = parseArgv(argv);
  const config = defaultNodeConfig() as unknown as Record<Key, unknown>;
  const set = new Set<Key>();

  const configPath = flags.get('config') ?? env.RAFTBUS_CONFIG;
  if (configPath !== undefined && configPath !== '') {
    const file = readConfigFile(configPath);
    for (const [k, v] of Object.entries(file)) {
      const s = SPECS.find((x) => x.key === k);
      if (!s) throw new ConfigError(k, `unknown key in ${configPath}`);
      config[s.key] = s.fromJson(v, `${k} (in ${configPath})`);
      set.add(s.key);
    }
  }
  for (const s of SPECS) {
    const v = env[s.env];
    if (v === undefined || v === '') continue;
    config[s.key] = s.fromString(v, s.env);
    set.add(s.key);
  }
  for (const [flag, v] of flags) {
    if (flag === 'config') continue;
    const s = BY_FLAG.get(flag)!;
    config[s.key] = s.fromString(v, `--${flag}`);
    set.add(s.key);
  }
  const c = config as unknown as NodeConfig;
  if (!set.has('dataDir')) c.dataDir = defaultDataDir(c.nodeId);
  return validateNodeConfig(c);
}

/** The HTTP port to bind, or null for none. */
export function resolveHttpPort(c: NodeConfig): number | null {
  if (c.httpPort === 'off') return null;
  if (c.httpPort === 'auto') return c.port === 0 ? 0 : c.port + 1000 <= 65535 ? c.port + 1000 : 0;
  return c.httpPort;
}
