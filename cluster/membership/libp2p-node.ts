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
}

export async function createMembershipLibp2p(o: Libp2pNodeOptions): Promise<MembershipLibp2p> {
  const family = o.host.includes(':') ? 'ip6' : 'ip4';
  return createLibp2p({
    start: false,
    privateKey: o.privateKey,
    addresses: { listen: [`/${family}/${o.host}/tcp/${o.port}`] },
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
      }),
    },
  });
}
