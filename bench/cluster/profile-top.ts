/**
 * `npx node bench/cluster/profile-top.ts <file.cpuprofile> [count]`: the
 * functions with the most self time in a V8 CPU profile (as written by
 * `node --cpu-prof`, which `run.ts --profile-dir` turns on for every node),
 * so "where does the time go" has an answer without a GUI.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  selfMs: number;
  percent: number;
}

/**
 * Self time per function (name + file:line), largest first; time from the sample deltas. Only
 * samples between fromSec and toSec after the profile's start count (e.g. skip the node's start).
 */
export function selfTimes(p: CpuProfile, fromSec = 0, toSec = Number.POSITIVE_INFINITY): SelfTime[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  let atUs = 0;
  let windowUs = 0;
  for (let i = 0; i < samples.length; i++) {
    atUs += deltas[i] ?? 0;
    if (atUs < fromSec * 1e6 || atUs > toSec * 1e6) continue;
    windowUs += deltas[i + 1] ?? 0;
    const n = byId.get(samples[i]!);
    if (!n) continue;
    const f = n.callFrame;
    const where = f.url ? ` ${basename(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    // The delta before sample i+1 is the time sample i stood for.
    ms.set(key, (ms.get(key) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  const total = windowUs / 1000;
  return [...ms]
    .map(([name, selfMs]) => ({ name, selfMs, percent: total > 0 ? (selfMs / total) * 100 : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

if (process.argv[1]?.endsWith('profile-top.ts')) {
  const [file, countRaw, fromRaw, toRaw] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: npx node bench/cluster/profile-top.ts <file.cpuprofile> [count] [fromSec] [toSec]\n');
    process.exit(2);
  }
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const count = Number(countRaw ?? 25);
  const fromSec = Number(fromRaw ?? 0);
  const toSec = toRaw === undefined ? Number.POSITIVE_INFINITY : Number(toRaw);
  process.stdout.write(
    `${file}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s profiled; showing ${fromSec} s to ${toSec} s\n`,
  );
  for (const s of selfTimes(p, fromSec, toSec).slice(0, count))
    process.stdout.write(`${s.percent.toFixed(1).padStart(5)}%  ${s.selfMs.toFixed(0).padStart(7)} ms  ${s.name}\n`);
}
