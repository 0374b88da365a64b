/**
 * 16 members on one IP (behind RAFTBUS_MEMBERSHIP_LARGE=1: ~5-10 s of CPU in one process).
 * Regression test for two libp2p/gossipsub defaults that silently kept such a cluster from
 * converging: 5 inbound connections per second per IP, and gossipsub's IP colocation penalty
 * that graylists every peer once more than ~14 share an address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './testing/heartbeats.ts';
import { LocalMembers } from './testing/local-members.ts';

const large = process.env.RAFTBUS_MEMBERSHIP_LARGE === '1';
let cluster: LocalMembers | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe.skipIf(!large)('Membership, 16 nodes on one IP', () => {
  it('all see all alive', async () => {
    cluster = new LocalMembers({});
    const c = cluster;
    const ids = Array.from({ length: 16 }, (_, i) => i + 1);
    const t0 = Date.now();
    await c.start(1);
    await Promise.all(ids.slice(1).map((id) => c.start(id)));
    await eventually(() => c.allSeeAlive(ids), '16 nodes all alive everywhere', { timeoutMs: 20_000, stepMs: 50 });
    console.log(`membership: 16 nodes all alive everywhere ${Date.now() - t0} ms after the first start`);
    expect(c.members.get(16)!.counters().membersByState.alive).toBe(16);
  });
});
