/** The multi-host harness: one entry point for the chaos runner and the benchmark. */
export { type ProbeOptions, type ProbeRecord, type ProbeResult, runProbe } from './client-probe.ts';
export { netnsPorts, REPO_ROOT, type StartClusterHostsOptions, startClusterHosts } from './cluster-hosts.ts';
export { type ComposeHostsOptions, startComposeHosts } from './compose-hosts.ts';
export * from './errors.ts';
export { HostedCluster } from './hosted-cluster.ts';
export { chooseMode, netnsSupport } from './mode.ts';
export { NetnsNetwork, sweepStaleNamespaces } from './netns-network.ts';
export { PROBE_PATH, type ProbeRequest, runProbeOnClientHost } from './probe-runner.ts';
export type * from './types.ts';
