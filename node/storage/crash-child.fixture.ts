/**
 * Child process for the kill -9 tests (file-log-durability.test.ts). Opens a
 * FileLog with simulatePowerLoss and prints one line per event on stdout:
 *   mode "acked":   appends forever with flush 'always', printing `acked <lastOffset>` per resolved append.
 *   mode "partial": flush 'never'; appends 5 batches, flush(), appends 3 more, prints `ready`, then waits.
 * The parent kills it with SIGKILL. Usage: node crash-child.fixture.ts <dir> <mode>
 */
import { FileLog } from './file-log.ts';
import { makeBatch, testConfig } from './test-helpers.ts';

const [dir, mode] = process.argv.slice(2);
if (dir === undefined || (mode !== 'acked' && mode !== 'partial')) {
  process.stderr.write('usage: crash-child.fixture.ts <dir> acked|partial\n');
  process.exit(2);
}

if (mode === 'acked') {
  const log = await FileLog.open(dir, testConfig({ flush: { kind: 'always' }, segmentBytes: 8192 }), {
    simulatePowerLoss: true,
  });
  // Bounded: the parent kills us long before this ends.
  for (let round = 0; round < 100_000; round++) {
    const acks = await Promise.all([log.append(makeBatch(2)), log.append(makeBatch(3)), log.append(makeBatch(1))]);
    process.stdout.write(`acked ${acks[acks.length - 1]!.lastOffset}\n`);
  }
} else {
  const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }), { simulatePowerLoss: true });
  for (let i = 0; i < 5; i++) await log.append(makeBatch(2));
  await log.flush();
  for (let i = 0; i < 3; i++) await log.append(makeBatch(2));
  process.stdout.write(`ready ${log.endOffset}\n`);
  setInterval(() => {}, 1000); // stay alive until killed
}
