/** Membership options, their defaults, and the checks that refuse unsafe combinations. */
import os from 'node:os';
import { RAFTBUS_VERSION } from '../../node/version.ts';
import { MembershipConfigError } from './errors.ts';
import { HeartbeatLimits } from './heartbeat-codec.ts';
import type { MemberAddresses, MemberLoad, MemberNodeId } from './types.ts';

export const MEMBERS_TOPIC = 'raftbus/members/v1';

export interface MembershipOptions {
  nodeId: MemberNodeId;
  clusterId: string;
  /** The node's data dir: the libp2p key and the incarnation counter live in <dataDir>/membership/. */
  dataDir: string;
  /** Addresses this node advertises for clients and for Raft peers. */
  addresses: MemberAddresses;
  /** libp2p TCP listen host and port (0 = any free port). */
  host?: string;
  port?: number;
  /** Multiaddrs or host:port of nodes to join through. May include this node's own address. */
  seeds?: readonly string[];
  rack?: string;
  version?: string;
  heartbeatIntervalMs?: number;
  suspectAfterMs?: number;
  deadAfterMs?: number;
  /** How often the view applies its timeouts (detection resolution). */
  checkIntervalMs?: number;
  /** How often missing connections to seeds and known members are re-dialled. */
  connectIntervalMs?: number;
  dialTimeoutMs?: number;
  dialsInFlightMax?: number;
  membersMax?: number;
  /** Inbound libp2p connections accepted per second from one IP (libp2p's default is 5). */
  inboundConnectionsPerSecondMax?: number;
  /** Inbound libp2p connections negotiating at once (libp2p's default is 10). */
  inboundPendingConnectionsMax?: number;
  /** A closed connection to a member makes it suspect at once (never dead). */
  suspectOnDisconnect?: boolean;
  /** How long a closed connection must stay closed (with no heartbeat meanwhile) before suspicion. */
  disconnectGraceMs?: number;
  /** Called once per heartbeat for the load figures to publish. */
  load?: () => MemberLoad;
  /** Monotonic milliseconds; injectable for tests. */
  nowMs?: () => number;
}

export type ResolvedMembershipOptions = Required<MembershipOptions>;

export function defaultLoad(): MemberLoad {
  const cores = Math.max(1, os.availableParallelism());
  return { partitionsLed: 0, cpu: Math.min(1, Math.max(0, (os.loadavg()[0] ?? 0) / cores)) };
}

function monotonicNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function resolveMembershipOptions(o: MembershipOptions): ResolvedMembershipOptions {
  const r: ResolvedMembershipOptions = {
    host: '127.0.0.1',
    port: 0,
    seeds: [],
    rack: '',
    version: RAFTBUS_VERSION,
    heartbeatIntervalMs: 1000,
    suspectAfterMs: 3000,
    deadAfterMs: 10_000,
    checkIntervalMs: 100,
    connectIntervalMs: 1000,
    dialTimeoutMs: 2000,
    dialsInFlightMax: 8,
    membersMax: 1024,
    inboundConnectionsPerSecondMax: 128,
    inboundPendingConnectionsMax: 128,
    suspectOnDisconnect: true,
    disconnectGraceMs: 250,
    load: defaultLoad,
    nowMs: monotonicNowMs,
    ...stripUndefined(o),
  };
  const fail = (msg: string): never => {
    throw new MembershipConfigError(`membership: ${msg}`);
  };
  if (!Number.isSafeInteger(r.nodeId) || r.nodeId < 1 || r.nodeId > HeartbeatLimits.nodeIdMax) {
    fail('nodeId must be a positive integer');
  }
  if (r.clusterId.length < 1 || r.clusterId.length > HeartbeatLimits.clusterIdCharsMax) fail('clusterId length');
  if (r.dataDir.length === 0) fail('dataDir is required');
  if (!Number.isSafeInteger(r.port) || r.port < 0 || r.port > 65535) fail('port must be in 0..65535');
  if (r.rack.length > HeartbeatLimits.rackCharsMax) fail('rack too long');
  if (r.version.length < 1 || r.version.length > HeartbeatLimits.versionCharsMax) fail('version length');
  for (const k of [
    'heartbeatIntervalMs',
    'suspectAfterMs',
    'deadAfterMs',
    'checkIntervalMs',
    'connectIntervalMs',
    'dialTimeoutMs',
  ] as const) {
    if (!Number.isFinite(r[k]) || r[k] <= 0) fail(`${k} must be > 0`);
  }
  // One lost heartbeat must not make a member suspect: require at least two intervals of slack.
  if (r.suspectAfterMs < 2 * r.heartbeatIntervalMs) fail('suspectAfterMs must be >= 2 * heartbeatIntervalMs');
  if (r.deadAfterMs <= r.suspectAfterMs) fail('deadAfterMs must be > suspectAfterMs');
  if (r.disconnectGraceMs >= r.suspectAfterMs) fail('disconnectGraceMs must be < suspectAfterMs (else it never helps)');
  if (!Number.isSafeInteger(r.dialsInFlightMax) || r.dialsInFlightMax < 1) fail('dialsInFlightMax must be >= 1');
  if (!Number.isSafeInteger(r.membersMax) || r.membersMax < 1) fail('membersMax must be >= 1');
  for (const k of ['inboundConnectionsPerSecondMax', 'inboundPendingConnectionsMax'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 1 || r[k] > 65_536) fail(`${k} must be in 1..65536`);
  }
  return r;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
