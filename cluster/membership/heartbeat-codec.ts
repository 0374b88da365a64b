/**
 * Heartbeat wire format: one msgpackr map per gossip message. decodeHeartbeat
 * treats its input as hostile: size first, then every field's type and range,
 * and it returns a fresh object holding only the known fields (unknown fields
 * are ignored so a newer version can add some).
 */
import { Packr } from 'msgpackr';
import { HeartbeatTooLargeError, MalformedHeartbeatError, WrongClusterError } from './errors.ts';
import type { Heartbeat, MemberAddresses, MemberLoad } from './types.ts';

export const HeartbeatLimits = {
  heartbeatBytesMax: 4096,
  nodeIdMax: 2 ** 31 - 1,
  peerIdCharsMax: 128,
  clusterIdCharsMax: 128,
  addressCharsMax: 300,
  p2pAddrsMax: 16,
  p2pAddrCharsMax: 256,
  rackCharsMax: 64,
  versionCharsMax: 64,
  partitionsLedMax: 1_000_000,
} as const;

// Plain maps only: no msgpackr records/structures, so a peer cannot make us keep shared decoder state.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export function encodeHeartbeat(hb: Heartbeat): Uint8Array {
  // Validate our own output with the same rules peers apply: a node that would publish garbage fails loudly.
  validateFields(hb);
  const bytes = packr.pack(hb);
  if (bytes.length > HeartbeatLimits.heartbeatBytesMax) {
    throw new HeartbeatTooLargeError(bytes.length, HeartbeatLimits.heartbeatBytesMax);
  }
  return bytes;
}

/** Decode and validate; throws a typed error (MalformedHeartbeat, HeartbeatTooLarge, WrongCluster). */
export function decodeHeartbeat(bytes: Uint8Array, clusterId: string): Heartbeat {
  if (bytes.length > HeartbeatLimits.heartbeatBytesMax) {
    throw new HeartbeatTooLargeError(bytes.length, HeartbeatLimits.heartbeatBytesMax);
  }
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw new MalformedHeartbeatError(`membership: heartbeat is not msgpack: ${(err as Error).message}`);
  }
  const hb = validateFields(raw);
  if (hb.clusterId !== clusterId) throw new WrongClusterError(hb.clusterId, clusterId);
  return hb;
}

function validateFields(raw: unknown): Heartbeat {
  const o = record(raw, 'heartbeat');
  const addresses = record(o.addresses, 'addresses');
  const load = record(o.load, 'load');
  const p2pAddrsRaw = o.p2pAddrs;
  if (!Array.isArray(p2pAddrsRaw) || p2pAddrsRaw.length > HeartbeatLimits.p2pAddrsMax) {
    throw malformed('p2pAddrs', `an array of at most ${HeartbeatLimits.p2pAddrsMax}`);
  }
  const p2pAddrs = p2pAddrsRaw.map((a) => {
    const s = str(a, 'p2pAddrs[]', 1, HeartbeatLimits.p2pAddrCharsMax);
    if (!s.startsWith('/')) throw malformed('p2pAddrs[]', 'a multiaddr');
    return s;
  });
  const addr: MemberAddresses = {
    client: hostPort(addresses.client, 'addresses.client'),
    raft: hostPort(addresses.raft, 'addresses.raft'),
  };
  const cpu = load.cpu;
  if (typeof cpu !== 'number' || !Number.isFinite(cpu) || cpu < 0 || cpu > 1) {
    throw malformed('load.cpu', 'a number in [0, 1]');
  }
  const ld: MemberLoad = {
    partitionsLed: int(load.partitionsLed, 'load.partitionsLed', 0, HeartbeatLimits.partitionsLedMax),
    cpu,
  };
  return {
    nodeId: int(o.nodeId, 'nodeId', 1, HeartbeatLimits.nodeIdMax),
    peerId: str(o.peerId, 'peerId', 1, HeartbeatLimits.peerIdCharsMax),
    clusterId: str(o.clusterId, 'clusterId', 1, HeartbeatLimits.clusterIdCharsMax),
    addresses: addr,
    p2pAddrs,
    rack: str(o.rack, 'rack', 0, HeartbeatLimits.rackCharsMax),
    load: ld,
    version: str(o.version, 'version', 1, HeartbeatLimits.versionCharsMax),
    incarnation: int(o.incarnation, 'incarnation', 0, Number.MAX_SAFE_INTEGER),
    seq: int(o.seq, 'seq', 0, Number.MAX_SAFE_INTEGER),
  };
}

function malformed(field: string, expected: string): MalformedHeartbeatError {
  return new MalformedHeartbeatError(`membership: heartbeat field ${field} must be ${expected}`);
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw malformed(field, 'a map');
  }
  return v as Record<string, unknown>;
}

function str(v: unknown, field: string, charsMin: number, charsMax: number): string {
  if (typeof v !== 'string' || v.length < charsMin || v.length > charsMax) {
    throw malformed(field, `a string of ${charsMin}..${charsMax} chars`);
  }
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw malformed(field, `an integer in [${min}, ${max}]`);
  }
  return v;
}

/** host:port with a port in 1..65535; IPv6 hosts in brackets ([::1]:9092). */
function hostPort(v: unknown, field: string): string {
  const s = str(v, field, 3, HeartbeatLimits.addressCharsMax);
  const colon = s.lastIndexOf(':');
  const host = s.slice(0, colon);
  const port = Number(s.slice(colon + 1));
  if (colon <= 0 || !/^\d{1,5}$/.test(s.slice(colon + 1)) || port < 1 || port > 65535 || /\s/.test(host)) {
    throw malformed(field, 'host:port with a port in 1..65535');
  }
  return s;
}
