/**
 * `startComposeHosts`: the broker services of a compose file, each on its own
 * host (network namespace), started with their own command and environment
 * (compose-plan.ts), their service names resolving through /etc/netns hosts
 * files in every namespace, the client host included. Same ClusterHosts API as
 * `startClusterHosts`; nodes carry their service name. Netns only: the
 * services all listen on the same container ports and find each other by
 * name, which needs a host per service.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ComposePlanOptions, planComposeServices } from './compose-plan.ts';
import { ComposeNeedsNetnsError } from './errors.ts';
import { HostedCluster, type HostedNodeSpec, hostedClusterDefaults } from './hosted-cluster.ts';
import { chooseMode } from './mode.ts';
import { NetnsNetwork } from './netns-network.ts';
import type { ClusterHosts, HostsMode } from './types.ts';

export interface ComposeHostsOptions extends Pick<ComposePlanOptions, 'servicePrefix'> {
  /** Root folder: each named volume becomes <dir>/<volume>; each service logs to <dir>/<service>.log. */
  dir: string;
  /** 'auto' (default) or 'netns'; loopback (asked for, or all 'auto' can get) throws ComposeNeedsNetnsError. */
  mode?: HostsMode | 'auto';
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export async function startComposeHosts(composeFile: string, o: ComposeHostsOptions): Promise<ClusterHosts> {
  const { mode, reason } = chooseMode(o.mode ?? 'auto');
  if (mode !== 'netns') throw new ComposeNeedsNetnsError(`compose services need a host each (netns mode); ${reason}`);
  const dir = resolve(o.dir);
  const plans = planComposeServices(composeFile, { dir, servicePrefix: o.servicePrefix });
  const network = await NetnsNetwork.create(
    plans.map((p) => ({ nodeId: p.nodeId, suffix: p.service, names: [p.service] })),
  );
  const specs: HostedNodeSpec[] = plans.map((p) => {
    for (const m of p.mounts) mkdirSync(m.hostPath, { recursive: true });
    return {
      node: {
        nodeId: p.nodeId,
        name: p.service,
        clientAddress: `${p.service}:${p.clientPort}`,
        httpBase: `http://${p.service}:${p.httpPort}`,
        dataDir: p.dataDir,
      },
      launch: {
        nodeId: p.nodeId,
        command: p.command,
        args: p.args,
        // A container starts with the image's and the service's environment only (plus a PATH).
        env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOSTNAME: p.service, ...p.env },
        cwd: p.cwd,
        logPath: join(dir, `${p.service}.log`),
      },
      clustered: p.clustered,
    };
  });
  const cluster = new HostedCluster(`netns: compose services of ${composeFile} (${reason})`, network, specs, {
    startTimeoutMs: o.startTimeoutMs ?? hostedClusterDefaults.startTimeoutMs,
    stopTimeoutMs: o.stopTimeoutMs ?? hostedClusterDefaults.stopTimeoutMs,
  });
  await cluster.startAll();
  return cluster;
}
