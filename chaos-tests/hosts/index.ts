/** The multi-host harness: one entry point for the chaos runner and the benchmark. */
export { type StartClusterHostsOptions, startClusterHosts } from './cluster-hosts.ts';
export { type ComposeHostsOptions, startComposeHosts } from './compose-hosts.ts';
export * from './errors.ts';
export { chooseMode, netnsSupport } from './mode.ts';
export { sweepStaleNamespaces } from './netns-network.ts';
export { type ProbeRequest, runProbeOnClientHost } from './probe-runner.ts';
export type * from './types.ts';
