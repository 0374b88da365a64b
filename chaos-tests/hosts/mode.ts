/**
 * Which hosts this machine can give a cluster: network namespaces need root
 * and the `ip` and `iptables` programs; without them, loopback processes.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostsMode } from './types.ts';

/** Where the network tools live on Debian even when PATH lacks the sbin folders. */
const sbinDirs = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** Absolute path of an executable found in PATH or the sbin folders, else null. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...sbinDirs];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

export interface NetnsSupport {
  ok: boolean;
  /** Why (not) available, e.g. 'root, ip and iptables present' or 'not root'. */
  reason: string;
}

export function netnsSupport(): NetnsSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
  const missing = ['ip', 'iptables'].filter((p) => findProgram(p) === null);
  if (missing.length > 0) return { ok: false, reason: `${missing.join(' and ')} not found` };
  return { ok: true, reason: 'root, ip and iptables present' };
}

/** The mode to run and the reason, e.g. ['loopback', 'loopback: not root']. */
export function chooseMode(asked: HostsMode | 'auto'): { mode: HostsMode; reason: string } {
  if (asked === 'loopback') return { mode: 'loopback', reason: 'loopback: asked for' };
  const s = netnsSupport();
  if (asked === 'netns') return { mode: 'netns', reason: `netns: asked for (${s.reason})` };
  return s.ok ? { mode: 'netns', reason: `netns: ${s.reason}` } : { mode: 'loopback', reason: `loopback: ${s.reason}` };
}
