/** Command-line flags of kv-node, validated. */
import type { PeerAddress } from '../transport/tcp-transport.ts';
import type { NodeId } from '../types.ts';

export interface KvNodeArgs {
  id: NodeId;
  peers: Map<NodeId, PeerAddress>;
  dataDir: string;
  clientPort: number;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
}

export class KvArgsError extends Error {
  override readonly name = 'KvArgsError';
  readonly code = 'KV_ARGS_INVALID';
}

export const kvUsage =
  'usage: kv-node --id N --peers 1=127.0.0.1:P1,2=127.0.0.1:P2,... --data-dir DIR --client-port P ' +
  '[--tick-ms 50] [--election-ticks 10] [--heartbeat-ticks 1]';

function int(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new KvArgsError(`--${name}: expected ${min}..${max}`);
  return n;
}

export function parseKvArgs(argv: string[]): KvNodeArgs {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith('--') || argv[i + 1] === undefined) throw new KvArgsError(`bad argument ${k}`);
    flags.set(k.slice(2), argv[i + 1]!);
  }
  const peers = new Map<NodeId, PeerAddress>();
  for (const part of (flags.get('peers') ?? '').split(',').filter(Boolean)) {
    const m = /^(\d+)=([^:]+):(\d+)$/.exec(part);
    if (!m) throw new KvArgsError(`--peers: bad entry ${part}`);
    peers.set(int(m[1], 'peers id', 1, 2 ** 31), { host: m[2]!, port: int(m[3], 'peers port', 1, 65535) });
  }
  const id = int(flags.get('id'), 'id', 1, 2 ** 31);
  if (!peers.has(id)) throw new KvArgsError('--peers must include this node');
  const dataDir = flags.get('data-dir');
  if (!dataDir) throw new KvArgsError('--data-dir is required');
  return {
    id,
    peers,
    dataDir,
    clientPort: int(flags.get('client-port'), 'client-port', 0, 65535),
    tickMs: int(flags.get('tick-ms') ?? '50', 'tick-ms', 1, 60_000),
    electionTicks: int(flags.get('election-ticks') ?? '10', 'election-ticks', 2, 1_000_000),
    heartbeatTicks: int(flags.get('heartbeat-ticks') ?? '1', 'heartbeat-ticks', 1, 1_000_000),
  };
}
