/**
 * Hosts made of network namespaces: per cluster a short random tag, one
 * namespace per node (`rb<tag>-n1`..), one for the client host (`rb<tag>-c`)
 * and a switch namespace (`rb<tag>-sw`) holding a Linux bridge. Each host has
 * a veth pair into the switch and a private address 10.<x>.<y>.<i>/24, x and y
 * taken from the tag so two concurrent runs do not clash. Nothing is
 * configured in the root namespace: the veths are created inside the switch
 * namespace with their peer placed straight into the host's namespace, and no
 * address, route or rule lives outside our own namespaces.
 *
 * Names resolve through /etc/netns/<ns>/hosts (bind-mounted over /etc/hosts
 * by `ip netns exec`). /run/raftbus-netns/<ns>.owner holds the creating pid
 * and its start time, so `sweepStaleNamespaces` can tell a dead run's
 * leftovers from a live run. Not /etc/netns/<ns>/owner: `ip netns exec`
 * bind-mounts every file of that folder over /etc/<file> and prints
 * "Bind /etc/netns/<ns>/owner -> /etc/owner failed" on every exec; and /run
 * is cleared at boot, exactly like the namespaces in /run/netns it describes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { AGENT_PATH, AgentClient } from './agent-client.ts';
import { HostsUsageError, NetnsSetupError } from './errors.ts';
import { onProcessExit } from './exit-hooks.ts';
import type { HostNetwork } from './host-network.ts';
import { findProgram } from './mode.ts';
import { runBatch, runCommand, runCommandSync } from './run-command.ts';

export interface NetnsHostSpec {
  nodeId: number;
  /** Namespace name suffix: `rb<tag>-<suffix>` (e.g. `n1`, or a compose service name). */
  suffix: string;
  /** Host names of this host in every namespace's /etc/hosts. */
  names: string[];
}

interface NetnsHost {
  nodeId: number;
  ns: string;
  address: string;
  /** The veth end inside the switch namespace. */
  switchPort: string;
}

export const NETNS_PREFIX = 'rb';
/** Our namespace names: prefix, 4 hex digits of tag, a dash, a host suffix. */
const nsPattern = (prefix: string): RegExp => new RegExp(`^${prefix}[0-9a-f]{4}-[a-z0-9-]+$`);
/** Hosts one netns cluster may have (.1 .. .200 on the /24; the client is .250). */
export const netnsHostsMax = 200;
const clientHostOctet = 250;
const tagAttemptsMax = 20;
const etcNetns = '/etc/netns';
const runNetns = '/run/netns';
const ownerDir = '/run/raftbus-netns';
const ownerPath = (ns: string): string => `${ownerDir}/${ns}.owner`;
/** Iptables programs tried in a namespace, in order (nf_tables vs legacy kernels). */
const iptablesCandidates = ['iptables', 'iptables-nft', 'iptables-legacy'] as const;

export class NetnsNetwork implements HostNetwork {
  readonly mode = 'netns' as const;
  readonly canPartition = true;
  readonly tag: string;
  readonly switchNs: string;
  readonly clientNs: string;
  readonly clientAddress: string;
  /** The iptables program that worked in a namespace (set by the first dropFrom), for reports. */
  iptablesCommand: string | null = null;
  private readonly ip: string;
  private readonly hosts = new Map<number, NetnsHost>();
  /** Namespaces created so far, in creation order (torn down in reverse). */
  private readonly created: string[] = [];
  private readonly agent: AgentClient;
  private closing: Promise<void> | null = null;
  private unhook: () => void = () => {};

  private constructor(ip: string, tag: string, specs: NetnsHostSpec[]) {
    this.ip = ip;
    this.tag = tag;
    this.switchNs = `${NETNS_PREFIX}${tag}-sw`;
    this.clientNs = `${NETNS_PREFIX}${tag}-c`;
    const [x, y] = [Number.parseInt(tag.slice(0, 2), 16), Number.parseInt(tag.slice(2, 4), 16)];
    this.clientAddress = `10.${x}.${y}.${clientHostOctet}`;
    specs.forEach((s, i) => {
      this.hosts.set(s.nodeId, {
        nodeId: s.nodeId,
        ns: `${NETNS_PREFIX}${tag}-${s.suffix}`,
        address: `10.${x}.${y}.${i + 1}`,
        switchPort: `v${i + 1}`,
      });
    });
    this.agent = new AgentClient(() => this.spawnOnClientHost([AGENT_PATH], process.env));
  }

  /** Builds the namespaces, bridge, veths and hosts files; on failure removes what it built and throws. */
  static async create(specs: NetnsHostSpec[]): Promise<NetnsNetwork> {
    if (specs.length < 1 || specs.length > netnsHostsMax)
      throw new HostsUsageError(`a netns cluster has 1..${netnsHostsMax} hosts, got ${specs.length}`);
    for (const s of specs)
      if (!/^[a-z0-9][a-z0-9-]*$/.test(s.suffix) || s.suffix === 'c' || s.suffix === 'sw')
        throw new HostsUsageError(`bad host name suffix "${s.suffix}"`);
    const ip = findProgram('ip');
    if (!ip) throw new NetnsSetupError('ip', 'the ip program (iproute2) was not found');
    sweepStaleNamespaces(NETNS_PREFIX);
    const net = new NetnsNetwork(ip, freeTag(), specs);
    // From the first namespace on: a crash while building or before a cluster owns it still cleans up.
    net.unhook = onProcessExit(() => net.closeSync());
    try {
      await net.build(specs);
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  addressOf(nodeId: number): string {
    return this.host(nodeId).address;
  }

  nsOf(nodeId: number): string {
    return this.host(nodeId).ns;
  }

  /** Every namespace of this cluster (switch, client, nodes). */
  get namespaces(): string[] {
    return [this.switchNs, this.clientNs, ...[...this.hosts.values()].map((h) => h.ns)];
  }

  onNodeHost(nodeId: number, command: string, args: string[]): { command: string; args: string[] } {
    // `ip netns exec` enters the namespace and execs the command: the spawned pid is the command's.
    return { command: this.ip, args: ['netns', 'exec', this.host(nodeId).ns, command, ...args] };
  }

  async dropFrom(to: number, from: number | 'client'): Promise<void> {
    const source = from === 'client' ? this.clientAddress : this.host(from).address;
    await this.iptables(this.host(to).ns, ['-A', 'INPUT', '-s', source, '-j', 'DROP']);
  }

  async healNetwork(): Promise<void> {
    if (this.iptablesCommand === null) return; // no rule was ever added
    await Promise.all([...this.hosts.values()].map((h) => this.iptables(h.ns, ['-F', 'INPUT'])));
  }

  spawnOnClientHost(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    return spawn(this.ip, ['netns', 'exec', this.clientNs, process.execPath, ...args], { stdio: 'pipe', env });
  }

  httpRequest(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    return this.agent.request(url, timeoutMs);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.agent.close();
      const names = [...this.created].reverse();
      // Deleting a namespace takes its veth ends and the bridge with it, once no process is left in it.
      killNamespacePids(names);
      const present = names.filter((ns) => existsSync(`${runNetns}/${ns}`));
      if (present.length > 0)
        await runBatch(
          this.ip,
          ['-force'],
          present.map((ns) => `netns del ${ns}`),
        );
      for (const ns of names) forgetNamespace(ns);
      this.created.length = 0;
      this.unhook();
    })();
    return this.closing;
  }

  closeSync(): void {
    this.agent.killSync();
    const names = [...this.created].reverse();
    killNamespacePids(names);
    for (const ns of names) {
      runCommandSync(this.ip, ['netns', 'del', ns]);
      forgetNamespace(ns);
    }
    this.created.length = 0;
    this.unhook();
  }

  private async build(specs: NetnsHostSpec[]): Promise<void> {
    const names = specs.map((s) => ({ names: s.names, address: this.addressOf(s.nodeId) }));
    const hostsFile = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      ...names.map((n) => `${n.address}\t${n.names.join(' ')}`),
      `${this.clientAddress}\tclient`,
      '',
    ].join('\n');
    const owner = ownerStamp(process.pid);
    for (const ns of this.namespaces) {
      // Owner first: a namespace of ours never exists without the record that lets a sweep remove it.
      mkdirSync(ownerDir, { recursive: true });
      writeFileSync(ownerPath(ns), `${owner}\n`);
      mkdirSync(`${etcNetns}/${ns}`, { recursive: true });
      writeFileSync(`${etcNetns}/${ns}/hosts`, hostsFile);
      this.created.push(ns);
    }
    // Batches: one `ip` process per namespace instead of one per command.
    await runBatch(
      this.ip,
      [],
      this.namespaces.map((ns) => `netns add ${ns}`),
    );
    const attach = [
      ...[...this.hosts.values()].map((h) => ({ ns: h.ns, address: h.address, port: h.switchPort })),
      { ns: this.clientNs, address: this.clientAddress, port: 'vc' },
    ];
    await runBatch(
      this.ip,
      ['-n', this.switchNs],
      [
        'link set lo up',
        'link add br0 type bridge',
        'link set br0 up',
        ...attach.flatMap((h) => [
          `link add ${h.port} type veth peer name eth0 netns ${h.ns}`,
          `link set ${h.port} master br0`,
          `link set ${h.port} up`,
        ]),
      ],
    );
    await Promise.all(
      attach.map((h) =>
        runBatch(this.ip, ['-n', h.ns], ['link set lo up', `addr add ${h.address}/24 dev eth0`, 'link set eth0 up']),
      ),
    );
  }

  /** Runs iptables in `ns`; the first call finds which iptables program works there. */
  private async iptables(ns: string, args: string[]): Promise<void> {
    if (this.iptablesCommand !== null) {
      await runCommand(this.ip, ['netns', 'exec', ns, this.iptablesCommand, '-w', ...args]);
      return;
    }
    const failures: NetnsSetupError[] = [];
    for (const name of iptablesCandidates) {
      const path = findProgram(name);
      if (!path) continue;
      try {
        await runCommand(this.ip, ['netns', 'exec', ns, path, '-w', ...args]);
        this.iptablesCommand = path;
        return;
      } catch (err) {
        failures.push(err as NetnsSetupError);
      }
    }
    throw new NetnsSetupError(
      `iptables ${args.join(' ')} in ${ns}`,
      failures.map((f) => `${f.command}: ${f.stderr}`).join('\n') || 'no iptables program found',
      `tried ${iptablesCandidates.join(', ')}`,
    );
  }

  private host(nodeId: number): NetnsHost {
    const h = this.hosts.get(nodeId);
    if (!h) throw new HostsUsageError(`no host for node ${nodeId}`);
    return h;
  }
}

/** A tag no namespace of ours uses now. */
function freeTag(): string {
  for (let i = 0; i < tagAttemptsMax; i++) {
    const tag = randomBytes(2).toString('hex');
    const taken = listNamespaces().some((ns) => ns.startsWith(`${NETNS_PREFIX}${tag}-`));
    if (!taken && !existsSync(ownerPath(`${NETNS_PREFIX}${tag}-sw`))) return tag;
  }
  throw new NetnsSetupError('pick a namespace tag', `no free tag in ${tagAttemptsMax} tries`);
}

/** Names in /run/netns (what `ip netns list` shows). */
function listNamespaces(): string[] {
  try {
    return readdirSync(runNetns);
  } catch {
    return [];
  }
}

/** `<pid> <start time in clock ticks>`: a pid alone may be reused by an unrelated process. */
function ownerStamp(pid: number): string {
  return `${pid} ${processStartTicks(pid) ?? 0}`;
}

function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]); // field 22 of stat; fields here start at field 3
  } catch {
    return null;
  }
}

function ownerAlive(stamp: string): boolean {
  const [pid, start] = stamp.trim().split(/\s+/).map(Number);
  if (!pid) return false;
  const ticks = processStartTicks(pid);
  return ticks !== null && (start === undefined || start === 0 || ticks === start);
}

/**
 * Deletes namespaces of ours (`<prefix>` + 4 hex digits + `-` + host) whose
 * creating process is dead (or whose owner record is gone), with their
 * /etc/netns folders. Returns the names removed. Synchronous: it also runs at
 * the start of every netns cluster.
 */
export function sweepStaleNamespaces(prefix: string = NETNS_PREFIX): string[] {
  const ip = findProgram('ip');
  if (!ip) return [];
  const pattern = nsPattern(prefix);
  const names = new Set([...listNamespaces(), ...etcNetnsDirs(), ...ownerRecords()].filter((n) => pattern.test(n)));
  const removed: string[] = [];
  for (const ns of names) {
    let owner = '';
    try {
      owner = readFileSync(ownerPath(ns), 'utf8');
    } catch {
      // no record: a leftover of a teardown that stopped halfway
    }
    if (owner && ownerAlive(owner)) continue;
    if (existsSync(`${runNetns}/${ns}`)) {
      // A run killed with SIGKILL had no hook: its nodes may still run in there.
      killNamespacePids([ns]);
      runCommandSync(ip, ['netns', 'del', ns]);
    }
    forgetNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

/**
 * SIGKILL to every process still inside the namespaces `names` (found as
 * `ip netns pids` does: a /proc/<pid>/ns/net that is the namespace's file).
 * Nodes and client-host children are stopped by pid before this; what is left
 * is a leftover (a grandchild, or a dead run's node) that would otherwise keep
 * the namespace alive after its name is gone.
 */
function killNamespacePids(names: string[]): void {
  const inodes = new Set<number>();
  for (const ns of names) {
    try {
      inodes.add(statSync(`${runNetns}/${ns}`).ino);
    } catch {
      // not mounted (never made, or already deleted)
    }
  }
  if (inodes.size === 0) return;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return;
  }
  for (const d of pids) {
    const pid = Number(d);
    if (pid === process.pid) continue;
    try {
      if (!inodes.has(statSync(`/proc/${d}/ns/net`).ino)) continue;
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

/** Removes the hosts folder and owner record of a namespace (after the namespace itself). */
function forgetNamespace(ns: string): void {
  rmSync(`${etcNetns}/${ns}`, { recursive: true, force: true });
  rmSync(ownerPath(ns), { force: true });
}

function ownerRecords(): string[] {
  try {
    return readdirSync(ownerDir)
      .filter((f) => f.endsWith('.owner'))
      .map((f) => f.slice(0, -'.owner'.length));
  } catch {
    return [];
  }
}

function etcNetnsDirs(): string[] {
  try {
    return readdirSync(etcNetns);
  } catch {
    return [];
  }
}
