/**
 * One process of the replicated KV example: a Multi-Raft host with one group
 * (id 1) over TCP, durable file storage, and a loopback HTTP client port.
 *
 *   npx node cluster/raft/examples/kv-node.ts --id 1 \
 *     --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 \
 *     --data-dir /tmp/kv1 --client-port 8001
 */
import path from 'node:path';
import { FileLogStorage } from '../storage/file-storage.ts';
import { kvUsage, parseKvArgs } from './kv-args.ts';
import { hostFromKvArgs } from './kv-host.ts';
import { createKvServer } from './kv-http.ts';
import { KvStateMachine } from './kv-state-machine.ts';

const kvGroupId = 1;

async function main(): Promise<void> {
  let args: ReturnType<typeof parseKvArgs>;
  try {
    args = parseKvArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${kvUsage}\n`);
    process.exit(2);
  }
  const { host, voters } = hostFromKvArgs(args, 'raftbus-kv');
  const self = args.peers.get(args.id)!;
  const sm = new KvStateMachine();
  const storage = FileLogStorage.open({ dir: path.join(args.dataDir, `g${kvGroupId}`), bootstrapConf: { voters } });
  const group = host.createGroup(kvGroupId, {
    storage,
    stateMachine: sm,
    group: {
      snapshotEntriesMax: 5_000,
      onFatal: (err) => {
        process.stderr.write(`kv-node ${args.id}: fatal: ${err.message}\n`);
        process.exit(1);
      },
    },
  });
  await host.start();
  const server = createKvServer(args.id, () => group, sm);
  await new Promise<void>((resolve) => server.listen(args.clientPort, '127.0.0.1', resolve));
  const addr = server.address();
  const clientPort = typeof addr === 'object' && addr ? addr.port : args.clientPort;
  process.stdout.write(
    `kv-node ${args.id} ready: raft 127.0.0.1:${self.port} client 127.0.0.1:${clientPort} ` +
      `recovered ${storage.recovery.entries} entries\n`,
  );
  const shutdown = async () => {
    server.close();
    await host.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

void main();
