/** CPU time of this process and of another (by pid, from /proc on Linux), in ms. */
import { cpuMsOf } from '../cluster/proc.ts';

export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** utime + stime of a process; NaN where /proc is unavailable. */
export const pidCpuMs: (pid: number) => number = cpuMsOf;
