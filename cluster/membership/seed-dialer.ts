/**
 * Keeps this node connected to its seeds and to every live member it has heard of.
 * @libp2p/bootstrap dials each seed once, needs a peer id in every seed address and
 * never retries; a cluster whose nodes start in any order needs retries and plain
 * host:port seeds. Dialling known members too gives a full mesh of connections, so
 * losing the seed node does not split the others (heartbeats carry p2pAddrs for this).
 */
import type { Connection, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import type { MembershipLibp2p } from './libp2p-node.ts';
import { type MemberSnapshot, MemberState } from './types.ts';

const DEAD_REDIAL_EVERY_ROUNDS = 5;

export interface SeedDialerOptions {
  seeds: readonly Multiaddr[];
  dialTimeoutMs: number;
  dialsInFlightMax: number;
}

export class SeedDialer {
  dialsStarted = 0;
  dialsFailed = 0;
  private readonly libp2p: MembershipLibp2p;
  private readonly options: SeedDialerOptions;
  private readonly inFlight = new Set<string>();
  /** Peer reached through each seed address, so a connected seed is not re-dialled. */
  private readonly seedPeers = new Map<string, string>();
  private stopped = false;
  private rounds = 0;

  constructor(libp2p: MembershipLibp2p, options: SeedDialerOptions) {
    this.libp2p = libp2p;
    this.options = options;
  }

  /** One round: start dials (bounded) to every seed and member we hold no connection to. */
  connectRound(members: readonly MemberSnapshot[]): void {
    if (this.stopped) return;
    this.rounds++;
    // Dead members are re-dialled only every few rounds: one that comes back on its old
    // address is found even if its own seeds are down, without a dead host hogging dial slots.
    const dialDead = this.rounds % DEAD_REDIAL_EVERY_ROUNDS === 0;
    const own = new Set(this.libp2p.getMultiaddrs().map((a) => hostPortOf(a)));
    const selfId = this.libp2p.peerId.toString();
    for (const seed of this.options.seeds) {
      const key = seed.toString();
      const hp = hostPortOf(seed);
      if (hp !== undefined && own.has(hp)) continue;
      const known = this.seedPeers.get(key) ?? seedPeerId(seed);
      if (known === selfId) continue;
      if (known !== undefined && this.connected(known)) continue;
      this.dial(key, [seed], (conn) => this.seedPeers.set(key, conn.remotePeer.toString()));
    }
    for (const m of members) {
      if (m.peerId === selfId || (m.state === MemberState.Dead && !dialDead) || this.connected(m.peerId)) continue;
      // Only addresses that name the member's own peer id: noise then proves we reached that key.
      const addrs = m.p2pAddrs.filter((a) => a.endsWith(`/p2p/${m.peerId}`)).flatMap(parseOrNothing);
      if (addrs.length > 0) this.dial(m.peerId, addrs, () => {});
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private connected(peerId: string): boolean {
    let id: PeerId;
    try {
      id = peerIdFromString(peerId);
    } catch {
      return false;
    }
    return this.libp2p.getConnections(id).length > 0;
  }

  private dial(key: string, addrs: Multiaddr[], onConnected: (c: Connection) => void): void {
    if (this.inFlight.has(key) || this.inFlight.size >= this.options.dialsInFlightMax) return;
    this.inFlight.add(key);
    this.dialsStarted++;
    this.libp2p
      .dial(addrs, { signal: AbortSignal.timeout(this.options.dialTimeoutMs) })
      .then(onConnected, () => {
        // Refused or timed out: the next round tries again; a seed that is down is normal at cluster start.
        this.dialsFailed++;
      })
      .finally(() => this.inFlight.delete(key));
  }
}

function parseOrNothing(a: string): Multiaddr[] {
  try {
    return [multiaddr(a)];
  } catch {
    return [];
  }
}

function seedPeerId(ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast((c) => c.name === 'p2p')?.value;
}

function hostPortOf(ma: Multiaddr): string | undefined {
  const comps = ma.getComponents();
  const host = comps.find(
    (c) => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns' || c.name === 'dns4' || c.name === 'dns6',
  );
  const port = comps.find((c) => c.name === 'tcp');
  if (host?.value === undefined || port?.value === undefined) return undefined;
  return `${host.value}:${port.value}`;
}
