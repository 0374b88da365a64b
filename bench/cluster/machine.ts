/** The machine a benchmark ran on, for results.json and results.md. */
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  kernel: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the cores shows here. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryBytes: totalmem(),
    node: process.version,
    kernel: `Linux ${release()}`,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
