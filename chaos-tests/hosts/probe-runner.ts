/**
 * Runs client-probe.ts on a cluster's client host and returns its JSON
 * answer: the way a test talks to the cluster from where clients live
 * (inside the client namespace in netns mode).
 */
import { fileURLToPath } from 'node:url';
import type { ProbeResult } from './client-probe.ts';
import type { ClusterHosts } from './types.ts';

export const PROBE_PATH = fileURLToPath(new URL('./client-probe.ts', import.meta.url));
/** Output kept from a probe (its one JSON line is far smaller). */
const probeOutputBytesMax = 4 * 1024 * 1024;

export interface ProbeRequest {
  bootstrap: string[];
  topic: string;
  records?: number;
  partitions?: number;
  replication?: number;
  acks?: 'none' | 'leader' | 'quorum';
  timeoutMs?: number;
}

export async function runProbeOnClientHost(hosts: ClusterHosts, r: ProbeRequest): Promise<ProbeResult> {
  const timeoutMs = r.timeoutMs ?? 30_000;
  const args = [
    PROBE_PATH,
    '--bootstrap',
    r.bootstrap.join(','),
    '--topic',
    r.topic,
    '--timeout-ms',
    String(timeoutMs),
  ];
  if (r.records !== undefined) args.push('--records', String(r.records));
  if (r.partitions !== undefined) args.push('--partitions', String(r.partitions));
  if (r.replication !== undefined) args.push('--replication', String(r.replication));
  if (r.acks !== undefined) args.push('--acks', r.acks);
  const child = hosts.spawnOnClientHost(args);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    if (out.length < probeOutputBytesMax) out += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    if (err.length < probeOutputBytesMax) err += s;
  });
  // The probe bounds itself; this bounds a probe that hangs before it can.
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(killer);
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    return {
      ok: false,
      name: 'ProbeOutputError',
      error: `exit ${code}, stdout ${out.slice(0, 500)} stderr ${err.slice(-2000)}`,
    };
  }
}
