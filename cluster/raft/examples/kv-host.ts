import { IntervalTicker } from '../driver/ticker.ts';
import { MultiRaftHost, type MultiRaftHostOptions } from '../multiraft/multiraft-host.ts';
import { TcpTransport } from '../transport/tcp-transport.ts';
import type { KvNodeArgs } from './kv-args.ts';

/**
 * The TCP transport and Multi-Raft host of a process started with the kv-node
 * flags (the KV example and the idle-groups benchmark): every peer a voter.
 */
export function hostFromKvArgs(
  args: KvNodeArgs,
  clusterTag: string,
  extra: Pick<MultiRaftHostOptions, 'quiesce' | 'groupsMax'> = {},
): { transport: TcpTransport; host: MultiRaftHost; voters: number[] } {
  const self = args.peers.get(args.id)!;
  const transport = new TcpTransport({
    localId: args.id,
    listenHost: self.host,
    listenPort: self.port,
    peers: new Map([...args.peers].filter(([id]) => id !== args.id)),
    clusterTag,
  });
  const voters = [...args.peers.keys()];
  const host = new MultiRaftHost({
    nodeId: args.id,
    transport,
    ticker: new IntervalTicker(args.tickMs),
    peers: voters,
    tuning: { electionTicks: args.electionTicks, heartbeatTicks: args.heartbeatTicks },
    ...extra,
  });
  return { transport, host, voters };
}
