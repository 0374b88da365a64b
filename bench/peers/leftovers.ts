/**
 * Every process a peer target starts carries RAFTBUS_PEER_DIR=<its data dir> in
 * its environment (children inherit it: beam.smp, epmd, erl_child_setup). A scan
 * of /proc/<pid>/environ then finds anything of a run left behind, whatever its
 * name, so a test can prove that stop() left nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { BenchTarget } from '../cluster/target.ts';

export const PEER_DIR_ENV = 'RAFTBUS_PEER_DIR';

/** A peer target, plus what its last stop() had to clean up the hard way. */
export interface PeerTarget extends BenchTarget {
  /** Pids the last stop() found still running after the orderly stop and SIGKILLed (empty when it went well). */
  readonly leftoversKilled: readonly number[];
}
const PROC_SCAN_PIDS_MAX = 100_000;

/** The environment for a child of a peer cluster run in dir. */
export function peerEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, [PEER_DIR_ENV]: dir };
}

/** Pids of live (non-zombie) processes whose environment says they belong to the run in dir. */
export function processesOfRun(dir: string): number[] {
  const needle = `${PEER_DIR_ENV}=${dir}\0`;
  const found: number[] = [];
  const entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  for (const e of entries.slice(0, PROC_SCAN_PIDS_MAX)) {
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${e}/environ`, 'latin1');
      if (!`${env}\0`.includes(needle)) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') found.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * The last step of a target's stop(): SIGKILL, by pid, every process still carrying this
 * run's marker (say a beam.smp whose script was killed before it could forward the
 * SIGTERM, or an epmd some Erlang tool spawned), then wait for them (bounded).
 * Returns the pids it had to kill.
 */
export async function killLeftovers(dir: string, waitMs = 5000): Promise<number[]> {
  const left = processesOfRun(dir);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + waitMs;
  while (left.length > 0 && processesOfRun(dir).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return left;
}
