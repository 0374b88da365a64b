/**
 * The disk's durable-write latency as the brokers see it right now: N rounds of a 4 KiB write followed by
 * fdatasync on one file in the OS temp dir, then p50 / p99 / max. Run it next to a benchmark: a shared or
 * loaded disk moves every fsync-bound figure.
 *
 *   npx node bench/storage/fsync-probe.ts [rounds=400]
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rounds = Math.min(100_000, Math.max(10, Number(process.argv[2] ?? 400) || 400));
const dir = mkdtempSync(join(tmpdir(), 'raftbus-fsync-probe-'));
const times: number[] = [];
try {
  const fd = openSync(join(dir, 'probe'), 'w');
  const block = Buffer.alloc(4096, 1);
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    writeSync(fd, block);
    fdatasyncSync(fd);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  closeSync(fd);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
const at = (q: number): string => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
console.log(`4 KiB write + fdatasync x${rounds}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
