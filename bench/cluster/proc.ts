/**
 * CPU and memory of a process from /proc (Linux): utime + stime from
 * /proc/<pid>/stat, resident set size now (VmRSS) and at its peak (VmHWM)
 * from /proc/<pid>/status. NaN where /proc cannot be read (process gone).
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces); utime, stime are fields 14, 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_SEC;
  } catch {
    return Number.NaN;
  }
}

export interface MemorySample {
  rssBytes: number;
  rssPeakBytes: number;
}

export function memoryOf(pid: number): MemorySample {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : Number.NaN;
    };
    return { rssBytes: kb('VmRSS'), rssPeakBytes: kb('VmHWM') };
  } catch {
    return { rssBytes: Number.NaN, rssPeakBytes: Number.NaN };
  }
}

export interface ProcessFigures {
  name: string;
  pid: number;
  /** utime + stime over the window / wall time of the window; 100 = one core busy. */
  cpuPercent: number;
  /** Largest VmRSS sampled during the window. */
  rssMaxBytes: number;
  /** VmHWM at the end of the window: the peak over the process's whole life. */
  rssPeakBytes: number;
}

/**
 * Samples a set of processes over a window: `begin()` takes the CPU
 * baseline, `sample()` (call it every second or so) tracks RSS, `end()`
 * gives the figures.
 */
export class ProcessSampler {
  private readonly procs: { name: string; pid: number }[];
  private cpuStartMs: number[] = [];
  private wallStartNs = 0n;
  private readonly rssMax: number[];

  constructor(procs: { name: string; pid: number }[]) {
    this.procs = procs;
    this.rssMax = procs.map(() => 0);
  }

  begin(): void {
    this.wallStartNs = process.hrtime.bigint();
    this.cpuStartMs = this.procs.map((p) => cpuMsOf(p.pid));
    this.sample();
  }

  sample(): void {
    this.procs.forEach((p, i) => {
      const rss = memoryOf(p.pid).rssBytes;
      if (rss > this.rssMax[i]!) this.rssMax[i] = rss;
    });
  }

  end(): ProcessFigures[] {
    this.sample();
    const wallMs = Number(process.hrtime.bigint() - this.wallStartNs) / 1e6;
    return this.procs.map((p, i) => ({
      name: p.name,
      pid: p.pid,
      cpuPercent: wallMs > 0 ? ((cpuMsOf(p.pid) - this.cpuStartMs[i]!) / wallMs) * 100 : Number.NaN,
      rssMaxBytes: this.rssMax[i]!,
      rssPeakBytes: memoryOf(p.pid).rssPeakBytes,
    }));
  }
}
