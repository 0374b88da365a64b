/**
 * One process hosting many (idle) Raft groups over TCP, for the idle-CPU
 * benchmark. Prints one JSON status line per second on stdout:
 *   {"groups", "withLeader", "leading", "quiesced", "cpuUserUs", "cpuSystemUs", "framesSent"}
 *
 *   npx node bench/raft/idle-node.ts --id 1 --peers 1=127.0.0.1:P1,2=...,3=... \
 *     --groups 1000 --data-dir D [--tick-ms 50] [--quiesce 1]
 */
import path from 'node:path';
import type { RaftGroup } from '../../cluster/raft/driver/raft-group.ts';
import { parseKvArgs } from '../../cluster/raft/examples/kv-args.ts';
import { hostFromKvArgs } from '../../cluster/raft/examples/kv-host.ts';
import { FileLogStorage } from '../../cluster/raft/storage/file-storage.ts';
import { MemoryRaftStorage } from '../../cluster/raft/storage/memory-raft-storage.ts';
import type { RaftStorage } from '../../cluster/raft/storage/raft-storage.ts';
import { CountStateMachine } from './count-state-machine.ts';

function takeFlag(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = argv[i + 1] ?? fallback;
  argv.splice(i, 2);
  return v;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const groups = Number(takeFlag(argv, 'groups', '1000'));
  const quiesce = takeFlag(argv, 'quiesce', '1') === '1';
  const memory = takeFlag(argv, 'memory', '0') === '1';
  if (!Number.isSafeInteger(groups) || groups < 1 || groups > 100_000) throw new RangeError('--groups: 1..100000');
  // Same flags as kv-node for the rest (the client port is unused here).
  const args = parseKvArgs([...argv, '--client-port', '0']);
  const { host, voters } = hostFromKvArgs(args, 'raftbus-idle-bench', { quiesce, groupsMax: groups });
  const all: RaftGroup[] = [];
  for (let g = 1; g <= groups; g++) {
    const storage: RaftStorage = memory
      ? new MemoryRaftStorage({ voters })
      : FileLogStorage.open({
          dir: path.join(args.dataDir, `g${g}`),
          bootstrapConf: { voters },
          cacheBytesMax: 64 * 1024,
        });
    all.push(host.createGroup(g, { storage, stateMachine: new CountStateMachine() }));
  }
  await host.start();
  const report = () => {
    let withLeader = 0;
    let leading = 0;
    for (const g of all) {
      if (g.leaderId !== 0) withLeader++;
      if (g.role === 'leader') leading++;
    }
    const cpu = process.cpuUsage();
    process.stdout.write(
      `${JSON.stringify({
        groups,
        withLeader,
        leading,
        quiesced: host.stats.quiescedGroups,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        framesSent: host.stats.framesSent,
        groupTicks: host.stats.groupTicks,
      })}\n`,
    );
  };
  const timer = setInterval(report, 1000);
  const shutdown = async () => {
    clearInterval(timer);
    await host.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

void main();
