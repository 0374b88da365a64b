/**
 * CPU of 3 node processes each hosting N idle groups, over loopback TCP.
 * Waits until every group has a leader (and, with quiescing, every group is
 * quiet), then measures each process's CPU over the window from its own
 * process.cpuUsage() and, as a cross-check, /proc/<pid>/stat.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../cluster/raft/examples/kv-process.ts';

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'idle-node.ts');
const clockTicksPerSec = 100; // Linux USER_HZ (getconf CLK_TCK)

export interface IdleCpuCase {
  groups: number;
  quiesce: boolean;
  windowMs: number;
  tickMs: number;
  /** Memory storage instead of files (isolates the Raft/transport cost from fsync). */
  memory?: boolean;
}

export interface IdleCpuResult {
  name: string;
  settleMs: number;
  /** Per node, % of one core over the window (process.cpuUsage). */
  cpuPercent: number[];
  /** Same, from /proc/<pid>/stat (utime + stime). */
  procCpuPercent: number[];
  framesPerSecPerNode: number[];
  groupTicksPerSecPerNode: number[];
  leadersPerNode: number[];
}

interface Status {
  groups: number;
  withLeader: number;
  leading: number;
  quiesced: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  framesSent: number;
  groupTicks: number;
}

export function idleCaseName(c: IdleCpuCase): string {
  return `nodes=3,groups=${c.groups}/node,idle,storage=${c.memory ? 'memory' : 'file'},quiesce=${c.quiesce ? 'on' : 'off'},tick=${c.tickMs}ms,window=${c.windowMs / 1000}s`;
}

function procCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSec; // utime, stime
}

export async function runIdleCpu(c: IdleCpuCase): Promise<IdleCpuResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-idle-'));
  const ports = await freePorts(3);
  const peers = [1, 2, 3].map((id) => `${id}=127.0.0.1:${ports[id - 1]}`).join(',');
  const children: ChildProcess[] = [];
  const latest: (Status | undefined)[] = [undefined, undefined, undefined];
  try {
    for (const id of [1, 2, 3]) {
      const child = spawn(
        process.execPath,
        [
          entry,
          '--id',
          String(id),
          '--peers',
          peers,
          '--data-dir',
          path.join(dir, `n${id}`),
          '--groups',
          String(c.groups),
          '--tick-ms',
          String(c.tickMs),
          '--quiesce',
          c.quiesce ? '1' : '0',
          '--memory',
          c.memory ? '1' : '0',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let buf = '';
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith('{')) latest[id - 1] = JSON.parse(line) as Status;
          nl = buf.indexOf('\n');
        }
      });
      children.push(child);
    }
    const t0 = Date.now();
    const settled = () =>
      latest.every((s) => s !== undefined && s.withLeader === c.groups && (!c.quiesce || s.quiesced === c.groups));
    while (!settled()) {
      if (Date.now() - t0 > 90_000) throw new Error(`idle cluster did not settle: ${JSON.stringify(latest)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const settleMs = Date.now() - t0;
    // Let the last elections' fsyncs and catch-up finish before measuring.
    await new Promise((r) => setTimeout(r, 2000));
    const first = latest.map((s) => ({ ...s! }));
    const procFirst = children.map((ch) => procCpuSeconds(ch.pid!));
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, c.windowMs));
    // Wait for a status line newer than the window end.
    await new Promise((r) => setTimeout(r, 1100));
    const seconds = (Date.now() - w0) / 1000;
    const procLast = children.map((ch) => procCpuSeconds(ch.pid!));
    const last = latest.map((s) => ({ ...s! }));
    const pct = (i: number) =>
      ((last[i]!.cpuUserUs + last[i]!.cpuSystemUs - first[i]!.cpuUserUs - first[i]!.cpuSystemUs) / 1e6 / seconds) * 100;
    return {
      name: idleCaseName(c),
      settleMs,
      cpuPercent: [0, 1, 2].map(pct),
      procCpuPercent: [0, 1, 2].map((i) => ((procLast[i]! - procFirst[i]!) / seconds) * 100),
      framesPerSecPerNode: [0, 1, 2].map((i) => (last[i]!.framesSent - first[i]!.framesSent) / seconds),
      groupTicksPerSecPerNode: [0, 1, 2].map((i) => (last[i]!.groupTicks - first[i]!.groupTicks) / seconds),
      leadersPerNode: last.map((s) => s.leading),
    };
  } finally {
    for (const ch of children) {
      if (ch.exitCode === null && ch.signalCode === null) {
        const exited = new Promise<void>((r) => ch.once('exit', () => r()));
        process.kill(ch.pid!, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (ch.exitCode === null && ch.signalCode === null) process.kill(ch.pid!, 'SIGKILL');
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
