import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { membershipSourceFrom } from '../controller/membership-source.ts';
import { type MembershipOptions, resolveMembershipOptions } from './config.ts';
import { MembershipConfigError, MembershipStateError, NodeKeyCorruptError } from './errors.ts';
import { Membership } from './membership.ts';
import { registerMembershipMetrics } from './metrics.ts';
import { IdentityFiles, loadNodeIdentity } from './node-identity.ts';
import { parseSeed } from './seed-address.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-membership-cfg-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const base: MembershipOptions = {
  nodeId: 1,
  clusterId: 'c',
  dataDir: '/nonexistent',
  addresses: { client: '127.0.0.1:1', raft: '127.0.0.1:2' },
};

describe('membership config', () => {
  it('defaults: 1 s heartbeat, suspect after 3 s, dead after 10 s', () => {
    const r = resolveMembershipOptions(base);
    expect([r.heartbeatIntervalMs, r.suspectAfterMs, r.deadAfterMs]).toEqual([1000, 3000, 10_000]);
    expect(r.port).toBe(0);
  });

  it('refuses unsafe or impossible combinations', () => {
    const bad: Partial<MembershipOptions>[] = [
      { nodeId: 0 },
      { clusterId: '' },
      { port: 70_000 },
      { heartbeatIntervalMs: 0 },
      { heartbeatIntervalMs: 2000, suspectAfterMs: 3000 }, // one lost beat would suspect
      { suspectAfterMs: 3000, deadAfterMs: 3000 },
      { disconnectGraceMs: 5000 },
      { dialsInFlightMax: 0 },
    ];
    for (const b of bad)
      expect(() => resolveMembershipOptions({ ...base, ...b }), JSON.stringify(b)).toThrow(MembershipConfigError);
  });

  it('parses seeds given as multiaddrs or host:port, refuses nonsense', () => {
    expect(parseSeed('127.0.0.1:7946').toString()).toBe('/ip4/127.0.0.1/tcp/7946');
    expect(parseSeed('[::1]:7946').toString()).toBe('/ip6/::1/tcp/7946');
    expect(parseSeed('broker-1:7946').toString()).toBe('/dns/broker-1/tcp/7946');
    expect(parseSeed('/ip4/10.0.0.1/tcp/1').toString()).toBe('/ip4/10.0.0.1/tcp/1');
    for (const s of ['broker-1', 'host:0', 'host:99999', '/not/a/multiaddr', ':80']) {
      expect(() => parseSeed(s), s).toThrow(MembershipConfigError);
    }
    expect(() => new Membership({ ...base, seeds: ['nope'] })).toThrow(MembershipConfigError);
  });
});

describe('node identity', () => {
  it('keeps the key across starts and bumps the incarnation each start', async () => {
    const dir = tempDir();
    const a = await loadNodeIdentity(dir);
    const b = await loadNodeIdentity(dir);
    expect(a.incarnation).toBe(1);
    expect(b.incarnation).toBe(2);
    expect(b.privateKey.publicKey.equals(a.privateKey.publicKey)).toBe(true);
    const other = await loadNodeIdentity(tempDir());
    expect(other.privateKey.publicKey.equals(a.privateKey.publicKey)).toBe(false);
    const mode = fs.statSync(path.join(dir, IdentityFiles.dir, IdentityFiles.privateKey)).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('a damaged key file is a typed error, never a silently new identity', async () => {
    const dir = tempDir();
    await loadNodeIdentity(dir);
    const keyFile = path.join(dir, IdentityFiles.dir, IdentityFiles.privateKey);
    const bytes = fs.readFileSync(keyFile);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    fs.writeFileSync(keyFile, bytes);
    await expect(loadNodeIdentity(dir)).rejects.toThrow(NodeKeyCorruptError);
  });
});

describe('membership lifecycle and metrics', () => {
  it('start once; metrics expose members by state and heartbeat counters', async () => {
    const m = new Membership({ ...base, dataDir: tempDir() });
    expect(() => m.peerId).toThrow(MembershipStateError);
    await m.start();
    try {
      await expect(m.start()).rejects.toThrow(MembershipStateError);
      expect(m.members().map((x) => [x.nodeId, x.state])).toEqual([[1, 'alive']]);
      // Contract with the controller's adapter (structural typing: this line is the compile-time check).
      const source = membershipSourceFrom(m);
      expect(source.members()).toEqual([{ nodeId: 1, state: 'alive', sinceMs: m.member(1)!.stateSinceMs }]);
      const off = source.onChange(() => {});
      expect(m.listenerCount('change')).toBe(1);
      off();
      expect(m.listenerCount('change')).toBe(0);
      const registry = new Registry();
      registerMembershipMetrics(registry, m);
      const text = await registry.metrics();
      expect(text).toContain('raftbus_membership_members{state="alive"} 1');
      expect(text).toContain('raftbus_membership_heartbeats_rejected_total{reason="wrong_cluster"} 0');
      expect(text).toMatch(/raftbus_membership_heartbeats_total\{kind="sent"\} \d+/);
    } finally {
      await m.stop();
    }
    await m.stop(); // idempotent
  });

  it('a failed start (port in use) closes what it opened and rejects; stop during start waits for it', async () => {
    const a = new Membership({ ...base, dataDir: tempDir() });
    await a.start();
    try {
      const port = Number(a.multiaddrs()[0]!.split('/')[4]);
      const b = new Membership({ ...base, nodeId: 2, dataDir: tempDir(), port });
      await expect(b.start()).rejects.toThrow();
      await b.stop();
      const c = new Membership({ ...base, nodeId: 3, dataDir: tempDir() });
      const starting = c.start();
      await c.stop();
      expect(c.multiaddrs()).toEqual([]); // stop() waited for start to create and close the node
      await starting;
    } finally {
      await a.stop();
    }
  });
});
