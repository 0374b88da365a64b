/** Seeds are given as multiaddrs (/ip4/10.0.0.1/tcp/7946[/p2p/<id>]) or as host:port. */
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { MembershipConfigError } from './errors.ts';

export const SeedLimits = { seedsMax: 64 } as const;

export function parseSeed(seed: string): Multiaddr {
  const s = seed.trim();
  if (s.startsWith('/')) {
    try {
      return multiaddr(s);
    } catch (err) {
      throw new MembershipConfigError(`membership: seed ${JSON.stringify(seed)}: ${(err as Error).message}`);
    }
  }
  const colon = s.lastIndexOf(':');
  const portText = s.slice(colon + 1);
  const port = Number(portText);
  if (colon <= 0 || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new MembershipConfigError(`membership: seed ${JSON.stringify(seed)} is neither a multiaddr nor host:port`);
  }
  let host = s.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const proto = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns';
  return multiaddr(`/${proto}/${host}/tcp/${port}`);
}

export function parseSeeds(seeds: readonly string[]): Multiaddr[] {
  if (seeds.length > SeedLimits.seedsMax) {
    throw new MembershipConfigError(`membership: at most ${SeedLimits.seedsMax} seeds`);
  }
  return seeds.map(parseSeed);
}
