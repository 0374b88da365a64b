/**
 * A lying peer on the gossip topic: its heartbeats are correctly signed by its own
 * key (gossipsub StrictSign is satisfied) but lie about the cluster, about the peer
 * id, or about the node id. Every lie is dropped and counted; a truthful heartbeat
 * from the same peer is accepted, which shows the lies did reach the validator.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import { MEMBERS_TOPIC } from './config.ts';
import { encodeHeartbeat } from './heartbeat-codec.ts';
import { createMembershipLibp2p, type MembershipLibp2p } from './libp2p-node.ts';
import { eventually, heartbeat } from './testing/heartbeats.ts';
import { LocalMembers, TEST_CLUSTER_ID } from './testing/local-members.ts';
import type { Heartbeat } from './types.ts';

let cluster: LocalMembers | undefined;
let liar: MembershipLibp2p | undefined;

afterEach(async () => {
  await liar?.stop();
  liar = undefined;
  await cluster?.close();
  cluster = undefined;
});

describe('forged heartbeats', () => {
  it('wrong cluster id, a spoofed node id, a borrowed peer id and garbage are rejected; the view is untouched', async () => {
    cluster = new LocalMembers({ heartbeatIntervalMs: 200, suspectAfterMs: 600, deadAfterMs: 1500 });
    const c = cluster;
    await c.start(1);
    await c.start(2);
    await eventually(() => c.allSeeAlive([1, 2]), 'both alive');
    const target = c.members.get(1)!;
    const honest2 = target.member(2)!;

    liar = await createMembershipLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      host: '127.0.0.1',
      port: 0,
      inboundConnectionsPerSecondMax: 16,
      inboundPendingConnectionsMax: 16,
    });
    await liar.start();
    const l = liar;
    l.services.pubsub.subscribe(MEMBERS_TOPIC);
    await l.dial(multiaddr(target.multiaddrs()[0]!));
    await eventually(() => l.services.pubsub.getSubscribers(MEMBERS_TOPIC).length > 0, 'liar sees a subscriber');
    const liarId = l.peerId.toString();
    const lie = (h: Partial<Heartbeat>) =>
      encodeHeartbeat(heartbeat({ clusterId: TEST_CLUSTER_ID, peerId: liarId, ...h }));
    const publish = (bytes: Uint8Array) => l.services.pubsub.publish(MEMBERS_TOPIC, bytes);

    const before = target.counters().heartbeatsRejected;
    await publish(lie({ nodeId: 7, clusterId: 'some-other-cluster' }));
    await publish(lie({ nodeId: 2, seq: 1_000_000, incarnation: 99 })); // node 2 is honest2.peerId's
    await publish(lie({ nodeId: 8, peerId: honest2.peerId })); // signed by the liar, claims node 2's key
    await publish(Uint8Array.from([0xc1, 0xff, 0x00])); // not msgpack
    await publish(new TextEncoder().encode('{"nodeId":9}')); // not a heartbeat
    await eventually(() => {
      const r = target.counters().heartbeatsRejected;
      return (
        r.wrong_cluster === before.wrong_cluster + 1 &&
        r.node_id_spoofed === before.node_id_spoofed + 1 &&
        r.signer_mismatch === before.signer_mismatch + 1 &&
        r.malformed === before.malformed + 2
      );
    }, 'every lie counted at the target');

    const after2 = target.member(2)!;
    expect(after2.peerId).toBe(honest2.peerId);
    expect(after2.incarnation).toBe(honest2.incarnation);
    expect(target.members().map((m) => m.nodeId)).toEqual([1, 2]);

    // Positive control: the same peer telling the truth about itself is heard.
    await publish(lie({ nodeId: 42 }));
    await eventually(() => target.member(42)?.state === 'alive', 'truthful heartbeat accepted');
    expect(target.member(42)?.peerId).toBe(liarId);
    // Node 2 hears the liar only through node 1: the truth is forwarded, the lies were not.
    await eventually(() => c.members.get(2)!.member(42)?.state === 'alive', 'truth forwarded to node 2');
    expect(c.members.get(2)!.member(2)?.incarnation).toBe(honest2.incarnation);
    expect(c.members.get(2)!.member(7)).toBeUndefined();
    expect(c.members.get(2)!.member(8)).toBeUndefined();
  });
});
