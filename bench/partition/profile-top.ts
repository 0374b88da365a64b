/**
 * Top self-time functions of a V8 .cpuprofile (from --cpu-prof), and the
 * heaviest call paths into them: what the bench reports as profile findings.
 *
 *   npx node bench/partition/profile-top.ts <file.cpuprofile> [topN=25] [fromSec] [toSec]
 *
 * fromSec/toSec (seconds since the profile started) keep only the samples of
 * that window, e.g. the measured phase without start-up; a busy-per-second
 * timeline is printed first to choose it.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [topN]');
const topN = Number(process.argv[3] ?? 25);
const fromUs = Number(process.argv[4] ?? 0) * 1e6;
const toUs = Number(process.argv[5] ?? Number.POSITIVE_INFINITY) * 1e6;
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of p.nodes) byId.set(n.id, n);
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const busyPerSec: number[] = [];
let t = 0;
let windowUs = 0;
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]!;
  const dt = p.timeDeltas[i] ?? 0;
  t += dt;
  const sec = Math.floor(t / 1e6);
  if (!idleIds.has(id)) busyPerSec[sec] = (busyPerSec[sec] ?? 0) + dt;
  if (t < fromUs || t > toUs) continue;
  windowUs += dt;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
}
console.log(`busy % per second: ${Array.from(busyPerSec, (us) => Math.round((us ?? 0) / 1e4)).join(' ')}`);
const label = (n: ProfileNode): string => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/main\//, '')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};
const totalUs = windowUs;
const byLabel = new Map<string, number>();
for (const [id, us] of selfUs) {
  const l = label(byId.get(id)!);
  byLabel.set(l, (byLabel.get(l) ?? 0) + us);
}
const sorted = [...byLabel].sort((a, b) => b[1] - a[1]);
console.log(`profile ${file}: ${(totalUs / 1e6).toFixed(2)} s wall`);
for (const [l, us] of sorted.slice(0, topN)) {
  console.log(`${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${l}`);
}
// Inclusive time per label (each sample counted once per distinct label on its stack).
const incl = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + us);
  }
}
console.log('\ninclusive:');
for (const [l, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, topN)) {
  console.log(`${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${l}`);
}
