/**
 * The libp2p stack membership runs on: TCP, noise, yamux, identify, gossipsub with
 * StrictSign (every heartbeat is signed by its node's key and the signature is
 * checked before the message reaches us). Seeds are dialled by SeedDialer, not by
 * @libp2p/bootstrap: see README.md.
 */
import { type GossipSub, gossipsub, StrictSign } from '@libp2p/gossipsub';
import type { Identify } from '@libp2p/identify';
import { identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';

export type MembershipLibp2p = Libp2p<{ identify: Identify; pubsub: GossipSub }>;

export interface Libp2pNodeOptions {
  privateKey: PrivateKey;
  host: string;
  port: number;
  /** libp2p rejects more inbound connections per second than this from one IP. */
  inboundConnectionsPerSecondMax: number;
  /** Inbound connections still negotiating (noise, yamux) at once. */
  inboundPendingConnectionsMax: number;
}

export async function createMembershipLibp2p(o: Libp2pNodeOptions): Promise<MembershipLibp2p> {
  const family = o.host.includes(':') ? 'ip6' : 'ip4';
  return createLibp2p({
    start: false,
    privateKey: o.privateKey,
    addresses: { listen: [`/${family}/${o.host}/tcp/${o.port}`] },
    // libp2p's defaults (5 inbound connections per second per IP, 10 pending) are sized for a public
    // swarm. Brokers sharing one IP (one machine, a NAT) that all dial each other at start exceed them,
    // and the synchronized retries kept 16 local nodes from ever converging: see README.
    connectionManager: {
      inboundConnectionThreshold: o.inboundConnectionsPerSecondMax,
      maxIncomingPendingConnections: o.inboundPendingConnectionsMax,
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        // A lone node (first of the cluster) still publishes; nobody hears it yet and that is fine.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Members are few: send our own heartbeat to every subscribed peer, not only the mesh.
        floodPublish: true,
        fallbackToFloodsub: false,
        // Gossipsub scores down peers sharing an IP (-5 x (peers - 10)^2): with 15+ brokers on one
        // host or behind one NAT every peer falls under the graylist threshold (-80) and all gossip
        // is ignored. Brokers are not anonymous Sybils: the view binds node ids to keys instead.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
  });
}
