/**
 * Netns mode: three nodes, each in its own network namespace on a bridge, the
 * client on its own host. The spawned pid is the node (same network namespace
 * as the harness's namespace for it); a client-host probe produces and reads
 * back through service names; iptables drops inside a node's namespace really
 * isolate it (the others elect another controller leader), heal restores it;
 * close leaves no namespace, hosts folder or process behind.
 *
 * Skipped only when not root or `ip`/`iptables` are missing (the reason is
 * printed); with RAFTBUS_REQUIRE_NETNS=1 (CI) that is a failure instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../client/test-support/eventually.ts';
import { startClusterHosts } from './cluster-hosts.ts';
import { HttpGetError } from './errors.ts';
import type { HostedCluster } from './hosted-cluster.ts';
import { netnsSupport } from './mode.ts';
import { type NetnsNetwork, sweepStaleNamespaces } from './netns-network.ts';
import { runProbeOnClientHost } from './probe-runner.ts';

const support = netnsSupport();
const required = process.env.RAFTBUS_REQUIRE_NETNS === '1';
if (!support.ok) console.log(`netns tests skipped: ${support.reason}`);

/** Running (a zombie, killed but not yet reaped by whoever inherited it, counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

interface Health {
  status: string;
  nodeId: number;
  cluster: { controllerLeader: number; registered: boolean };
}

describe.runIf(required && !support.ok)('netns required', () => {
  it('RAFTBUS_REQUIRE_NETNS=1 but network namespaces are not available', () => {
    expect.fail(`netns required (RAFTBUS_REQUIRE_NETNS=1) but unavailable: ${support.reason}`);
  });
});

describe.runIf(support.ok)('startClusterHosts netns', () => {
  let dir = '';
  let hosts: HostedCluster;
  let net: NetnsNetwork;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raftbus-hosts-ns-'));
    hosts = (await startClusterHosts({ nodes: 3, mode: 'netns', dir })) as HostedCluster;
    net = hosts.network as NetnsNetwork;
  });

  afterAll(async () => {
    await hosts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const health = async (nodeId: number): Promise<Health> =>
    JSON.parse(await hosts.httpGet(`${hosts.nodes[nodeId - 1]!.httpBase}/health`, 1_000)) as Health;

  const agreedLeader = (): Promise<number> =>
    eventually(
      async () => {
        const seen = await Promise.all([1, 2, 3].map(async (id) => (await health(id)).cluster.controllerLeader));
        return seen.every((l) => l === seen[0] && l !== 0) ? seen[0] : 0;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

  it('puts each node in its own namespace on a private address; the spawned pid is the node', async () => {
    expect(hosts.mode).toBe('netns');
    expect(hosts.modeReason).toMatch(/^netns: /);
    expect(hosts.canPartition).toBe(true);
    const ownNetNs = statSync('/proc/self/ns/net').ino;
    for (const n of hosts.nodes) {
      expect(n.clientAddress).toMatch(/^10\.\d+\.\d+\.\d+:9092$/);
      expect(n.httpBase).toMatch(/^http:\/\/10\.\d+\.\d+\.\d+:10092$/);
      const pid = n.pid!;
      // `ip netns exec` execs: the pid runs Node on the CLI itself, not `ip`.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline[0]).toBe(process.execPath);
      expect(cmdline).toContain('node');
      expect(cmdline.some((a) => a.endsWith('cli/raftbus.ts'))).toBe(true);
      // ... inside the namespace the harness named for it.
      const nodeNetNs = statSync(`/proc/${pid}/ns/net`).ino;
      expect(nodeNetNs).not.toBe(ownNetNs);
      expect(nodeNetNs).toBe(statSync(`/run/netns/${net.nsOf(n.nodeId)}`).ino);
      expect(await health(n.nodeId)).toMatchObject({ status: 'ok', nodeId: n.nodeId });
    }
    // Nothing of ours in the root namespace: no address, no route.
    const prefix = hosts.nodes[0]!.clientAddress.split('.').slice(0, 3).join('.');
    expect(execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' })).not.toContain(`${prefix}.`);
    // (The root namespace's own default route may still answer for 10.x: the machine's network, not our nodes.)
    expect(execFileSync('ip', ['route'], { encoding: 'utf8' })).not.toContain(`${prefix}.`);
    // Service names resolve inside the namespaces.
    expect(readFileSync(`/etc/netns/${net.clientNs}/hosts`, 'utf8')).toMatch(/10\.\d+\.\d+\.1\tnode-1/);
  });

  it('a client on the client host produces with acks quorum and reads back through node-N names', async () => {
    const r = await runProbeOnClientHost(hosts, {
      bootstrap: ['node-1:9092', 'node-2:9092', 'node-3:9092'],
      topic: 'ns-probe',
      records: 6,
    });
    expect(r).toMatchObject({ ok: true });
    if (r.ok) expect(r.consumed).toHaveLength(6);
  });

  it('dropFrom isolates the controller leader for real; healNetwork restores the links', async () => {
    // One leader all three agree on (a loaded machine may be mid-election).
    const leader = await agreedLeader();
    expect([1, 2, 3]).toContain(leader);
    const others = [1, 2, 3].filter((id) => id !== leader);
    for (const o of others) {
      await hosts.dropFrom(leader, o);
      await hosts.dropFrom(o, leader);
    }
    // The rule lives in the node's namespace only.
    const rules = execFileSync('ip', ['netns', 'exec', net.nsOf(leader), net.iptablesCommand!, '-S', 'INPUT'], {
      encoding: 'utf8',
    });
    for (const o of others) expect(rules).toContain(`-A INPUT -s ${net.addressOf(o)}/32 -j DROP`);
    // Cut off, the old leader cannot keep its leadership: the others elect one of themselves.
    await eventually(
      async () => {
        const seen = await Promise.all(others.map(async (o) => (await health(o)).cluster.controllerLeader));
        return seen.every((l) => l !== leader && others.includes(l));
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await hosts.healNetwork();
    expect(
      execFileSync('ip', ['netns', 'exec', net.nsOf(leader), net.iptablesCommand!, '-S', 'INPUT'], {
        encoding: 'utf8',
      }),
    ).not.toContain('DROP');
    // Healed: all three agree on one leader again and the cluster serves a quorum write.
    await agreedLeader();
    const r = await runProbeOnClientHost(hosts, { bootstrap: hosts.bootstrap, topic: 'ns-healed', records: 3 });
    expect(r).toMatchObject({ ok: true });
    console.log(`netns: iptables program ${net.iptablesCommand}`);
  });

  it('dropFrom(n, client) cuts the client host off that node only, in that node only; heal restores it', async () => {
    await hosts.dropFrom(2, 'client');
    const rules = (id: number): string =>
      execFileSync('ip', ['netns', 'exec', net.nsOf(id), net.iptablesCommand!, '-S', 'INPUT'], { encoding: 'utf8' });
    expect(rules(2)).toContain(`-A INPUT -s ${net.clientAddress}/32 -j DROP`);
    expect(rules(1)).not.toContain('DROP');
    await expect(hosts.httpGet(`${hosts.nodes[1]!.httpBase}/health`, 500)).rejects.toBeInstanceOf(HttpGetError);
    expect((await health(1)).status).toBe('ok');
    await hosts.healNetwork();
    await eventually(async () => (await health(2)).status === 'ok', { timeoutMs: 10_000 });
  });

  it('close stops every node and leaves no namespace or /etc/netns folder behind; close again is a no-op', async () => {
    const pids = hosts.nodes.map((n) => n.pid!);
    const mine = net.namespaces;
    expect(namespaces()).toEqual(expect.arrayContaining(mine));
    await hosts.close();
    await hosts.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    const left = namespaces();
    for (const ns of mine) {
      expect(left).not.toContain(ns);
      expect(existsSync(`/etc/netns/${ns}`)).toBe(false);
      expect(existsSync(`/run/raftbus-netns/${ns}.owner`)).toBe(false);
    }
  });
});

describe.runIf(support.ok)('sweepStaleNamespaces', () => {
  it('removes our namespaces whose creator is dead (killing what still runs there), keeps those of a live creator', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.once('exit', resolve));
    const stale = 'rbfff0-n1';
    const live = 'rbfff1-n1';
    for (const [ns, owner] of [
      [stale, `${deadPid} 1`],
      [live, `${process.pid} 0`],
    ] as const) {
      mkdirSync('/run/raftbus-netns', { recursive: true });
      writeFileSync(`/run/raftbus-netns/${ns}.owner`, `${owner}\n`);
      mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      execFileSync('ip', ['netns', 'add', ns]);
    }
    // A node of the dead run still running in its namespace: the sweep must end it too.
    const orphan = spawn('ip', ['netns', 'exec', stale, process.execPath, '-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    const orphanExited = new Promise((resolve) => orphan.once('exit', resolve));
    try {
      await eventually(() => statSync(`/proc/${orphan.pid}/ns/net`).ino === statSync(`/run/netns/${stale}`).ino);
      const removed = sweepStaleNamespaces('rb');
      await orphanExited;
      expect(removed).toContain(stale);
      expect(removed).not.toContain(live);
      expect(namespaces()).not.toContain(stale);
      expect(existsSync(`/etc/netns/${stale}`)).toBe(false);
      expect(existsSync(`/run/raftbus-netns/${stale}.owner`)).toBe(false);
      expect(namespaces()).toContain(live);
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
      for (const ns of [stale, live]) {
        if (namespaces().includes(ns)) execFileSync('ip', ['netns', 'del', ns]);
        rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
        rmSync(`/run/raftbus-netns/${ns}.owner`, { force: true });
      }
    }
  });
});

/** A harness user that starts a 1-node netns cluster, prints what it made, then dies as `how` says. */
function crashingUser(
  dir: string,
  how: 'throw' | 'wait',
): {
  child: ReturnType<typeof spawn>;
  made: Promise<{ pid: number; namespaces: string[] }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const harness = new URL('./cluster-hosts.ts', import.meta.url).pathname;
  const script = `
    import { startClusterHosts } from ${JSON.stringify(harness)};
    const h = await startClusterHosts({ nodes: 1, mode: 'netns', dir: ${JSON.stringify(dir)} });
    console.log(JSON.stringify({ pid: h.nodes[0].pid, namespaces: h.network.namespaces }));
    ${how === 'throw' ? "setTimeout(() => { throw new Error('test crash'); }, 10);" : 'setInterval(() => {}, 1000);'}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.resume();
  const made = new Promise<{ pid: number; namespaces: string[] }>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { pid: number; namespaces: string[] });
    });
    child.once('exit', () => reject(new Error(`harness user exited before starting: ${out}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, made, exited };
}

describe.runIf(support.ok)('exit hooks', () => {
  it('a harness user that crashes, or gets SIGTERM, leaves no node process or namespace behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-hosts-crash-'));
    const users = [crashingUser(join(dir, 'a'), 'throw'), crashingUser(join(dir, 'b'), 'wait')];
    try {
      const made = await Promise.all(users.map((u) => u.made));
      process.kill(users[1]!.child.pid!, 'SIGTERM');
      const exits = await Promise.all(users.map((u) => u.exited));
      expect(exits[0]!.code).not.toBe(0); // the uncaught error still ends the process as a failure
      expect(exits[1]!.signal).toBe('SIGTERM'); // our hook re-raises the signal after cleaning up
      const left = namespaces();
      for (const m of made) {
        expect(m.namespaces.length).toBe(3);
        expect(alive(m.pid)).toBe(false);
        for (const ns of m.namespaces) {
          expect(left).not.toContain(ns);
          expect(existsSync(`/etc/netns/${ns}`)).toBe(false);
        }
      }
    } finally {
      for (const u of users) if (u.child.exitCode === null && u.child.signalCode === null) u.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
