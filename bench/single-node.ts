/**
 * Single-node throughput benchmark (npm run bench:single): starts one node
 * process (flush always, temp dir), then for each case produces N records
 * through the real client and consumes them back, reporting records/s and
 * MB/s (of record values). Every case is bounded in records and in time, and
 * a rate is reported only when sent + failed == requested.
 *
 *   node bench/single-node.ts [--quick] [--records-100 N] [--records-1k N] [--partitions P]
 *                             [--flush always|never|interval:MS] [--time-limit-s S] [--cpu-prof DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NodeProcess } from '../client/test-support/node-process.ts';
import { runScenario, type Scenario, scenarioName } from './single/scenario.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    'records-100': { type: 'string' },
    'records-1k': { type: 'string' },
    partitions: { type: 'string' },
    flush: { type: 'string' },
    'time-limit-s': { type: 'string' },
    'cpu-prof': { type: 'string' },
    acks: { type: 'string' },
    'batch-kib': { type: 'string' },
    'linger-ms': { type: 'string' },
  },
});

const quick = values.quick === true;
const partitions = Number(values.partitions ?? 4);
const flush = values.flush ?? 'always';
const timeLimitMs = Number(values['time-limit-s'] ?? 60) * 1000;
const acks = (values.acks ?? 'quorum') as Scenario['acks'];
const base = {
  partitions,
  acks,
  lingerMs: Number(values['linger-ms'] ?? 5),
  batchBytesMax: Number(values['batch-kib'] ?? 1024) * 1024,
  chunkRecords: 1000,
  timeLimitMs,
};
const cases: Scenario[] = [
  {
    ...base,
    sizeBytes: 100,
    records: Number(values['records-100'] ?? (quick ? 200_000 : 2_000_000)),
    chunksInFlightMax: 200,
  },
  {
    ...base,
    sizeBytes: 1024,
    records: Number(values['records-1k'] ?? (quick ? 50_000 : 500_000)),
    chunksInFlightMax: 64,
  },
];

const dir = mkdtempSync(join(tmpdir(), 'raftbus-bench-'));
const profDir = values['cpu-prof'];
if (profDir) {
  // The client side is profiled by running this script under --cpu-prof; the node gets its own profile.
  console.log(`node profile -> ${profDir}`);
}
const node = await NodeProcess.start({
  dataDir: join(dir, 'data'),
  flush,
  args: ['--batch-bytes-max', String(4 * 1024 * 1024)],
  ...(profDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
});
console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}; node pid ${node.pid} on ${node.address}`,
);
let failures = 0;
try {
  for (const [i, s] of cases.entries()) {
    const name = scenarioName(s, flush);
    const { produce, consume } = await runScenario(node.address, node.pid, s, `bench-${i}-${s.sizeBytes}`);
    const ok =
      produce.done + produce.failed === produce.requested && produce.failed === 0 && consume.done === produce.done;
    if (!ok) failures++;
    const cpu = (r: typeof produce): string =>
      `cpu/record: client ${((r.clientCpuMs * 1000) / Math.max(1, r.done)).toFixed(2)} us, node ${((r.nodeCpuMs * 1000) / Math.max(1, r.done)).toFixed(2)} us`;
    console.log(
      `${name}\n  produce ${produce.done}/${produce.requested} (failed ${produce.failed}) in ${(produce.elapsedMs / 1000).toFixed(2)} s: ` +
        `${Math.round(produce.recordsPerSec).toLocaleString('en-US')} records/s, ${produce.mbPerSec.toFixed(1)} MB/s${produce.timedOut ? ' (TIME LIMIT)' : ''}; ${cpu(produce)}\n` +
        `  consume ${consume.done}/${consume.requested} in ${(consume.elapsedMs / 1000).toFixed(2)} s: ` +
        `${Math.round(consume.recordsPerSec).toLocaleString('en-US')} records/s, ${consume.mbPerSec.toFixed(1)} MB/s${consume.timedOut ? ' (TIME LIMIT)' : ''}; ${cpu(consume)}` +
        `${ok ? '' : '  ACCOUNTING MISMATCH'}`,
    );
  }
} finally {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (failures > 0) process.exitCode = 1;
