/**
 * Every process a peer target starts carries RAFTBUS_PEER_DIR=<its data dir> in
 * its environment (children inherit it: beam.smp, epmd, erl_child_setup). A scan
 * of /proc/<pid>/environ then finds anything of a run left behind, whatever its
 * name, so a test can prove that stop() left nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const PEER_DIR_ENV = 'RAFTBUS_PEER_DIR';
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
