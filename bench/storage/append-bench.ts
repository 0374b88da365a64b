/**
 * Storage micro-benchmark: FileLog append throughput with flush 'always'
 * (group commit), over a matrix of batch shapes and in-flight windows.
 *
 *   npx node bench/storage/append-bench.ts [--seconds 3] [--case <name substring>]
 *
 * Each case appends pre-encoded batches (fixed-seed payloads) with `window`
 * appends in flight, for at most `seconds` or `appendsMax` appends, then checks
 * acknowledged + failed == requested and that the log's end offset matches
 * before it prints a rate. Data goes to a temp dir that is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBatch, type RecordInput } from '../../node/storage/batch.ts';
import { defaultLogConfig } from '../../node/storage/config.ts';
import { FileLog } from '../../node/storage/file-log.ts';
import { mulberry32 } from '../../node/util/prng.ts';

interface Case {
  recordBytes: number;
  recordsPerBatch: number;
  window: number;
}

const cases: Case[] = [
  { recordBytes: 100, recordsPerBatch: 1000, window: 1 },
  { recordBytes: 100, recordsPerBatch: 1000, window: 16 },
  { recordBytes: 1024, recordsPerBatch: 1, window: 1 },
  { recordBytes: 1024, recordsPerBatch: 1, window: 256 },
  { recordBytes: 1024, recordsPerBatch: 100, window: 16 },
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const seconds = Number(arg('seconds', '3'));
const only = arg('case', '');
const APPENDS_MAX = 2_000_000;

const prng = mulberry32;

function makeBatch(c: Case, seed: number): Uint8Array {
  const rnd = prng(seed);
  const records: RecordInput[] = [];
  for (let i = 0; i < c.recordsPerBatch; i++) {
    const value = new Uint8Array(c.recordBytes);
    for (let j = 0; j < value.length; j++) value[j] = (rnd() * 256) | 0;
    records.push({ value });
  }
  return encodeBatch(records, undefined, 1_700_000_000_000);
}

function name(c: Case): string {
  return `flush=always,size=${c.recordBytes}B,records=${c.recordsPerBatch},window=${c.window}`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function runCase(c: Case): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbus-bench-storage-'));
  const log = await FileLog.open(dir, { ...defaultLogConfig(), maxBatchBytes: 4 * 1024 * 1024 });
  try {
    // One buffer per in-flight slot: append stamps offsets into the caller's bytes.
    const slots = Array.from({ length: c.window }, (_, i) => makeBatch(c, i + 1));
    const batchBytes = slots[0]!.byteLength;
    const latenciesMs: number[] = [];
    let requested = 0;
    let acked = 0;
    let failed = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const worker = async (slot: number): Promise<void> => {
      // Bounded by APPENDS_MAX and the deadline.
      while (performance.now() < deadline && requested < APPENDS_MAX) {
        requested++;
        const start = performance.now();
        try {
          await log.append(slots[slot]!);
          acked++;
          if (latenciesMs.length < 200_000) latenciesMs.push(performance.now() - start);
        } catch (err) {
          failed++;
          if (failed === 1) console.error(`append failed: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(slots.map((_, i) => worker(i)));
    const elapsedS = (performance.now() - t0) / 1000;
    if (acked + failed !== requested) throw new Error(`acked ${acked} + failed ${failed} != requested ${requested}`);
    if (log.endOffset !== acked * c.recordsPerBatch) {
      throw new Error(`end offset ${log.endOffset} != ${acked} x ${c.recordsPerBatch}`);
    }
    latenciesMs.sort((a, b) => a - b);
    const mb = (acked * batchBytes) / 1e6;
    console.log(
      [
        name(c).padEnd(58),
        `appends/s=${(acked / elapsedS).toFixed(0)}`,
        `records/s=${((acked * c.recordsPerBatch) / elapsedS).toFixed(0)}`,
        `MB/s=${(mb / elapsedS).toFixed(1)}`,
        `fdatasyncs=${log.stats.datasyncs}`,
        `appends/fsync=${(acked / Math.max(1, log.stats.datasyncs)).toFixed(1)}`,
        `p50=${percentile(latenciesMs, 0.5).toFixed(2)}ms`,
        `p99=${percentile(latenciesMs, 0.99).toFixed(2)}ms`,
        `failed=${failed}`,
      ].join(' '),
    );
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sequential fetch of the whole log in 1 MiB reads (CRC checked per batch), then recovery time on reopen. */
async function runReadAndRecovery(totalMb: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbus-bench-storage-'));
  const config = { ...defaultLogConfig(), maxBatchBytes: 4 * 1024 * 1024, flush: { kind: 'never' as const } };
  try {
    const log = await FileLog.open(dir, config);
    const c: Case = { recordBytes: 1024, recordsPerBatch: 100, window: 16 };
    const slots = Array.from({ length: c.window }, (_, i) => makeBatch(c, i + 1));
    const appends = Math.ceil((totalMb * 1e6) / slots[0]!.byteLength);
    for (let i = 0; i < appends; i += c.window) {
      await Promise.all(slots.map((b) => log.append(b)));
    }
    await log.flush();
    let offset = log.startOffset;
    let bytes = 0;
    let reads = 0;
    const t0 = performance.now();
    // Bounded by the log size: every read advances by at least one batch.
    while (offset < log.endOffset) {
      const r = await log.read(offset, 1024 * 1024);
      if (r.nextOffset <= offset) throw new Error(`read at ${offset} made no progress`);
      offset = r.nextOffset;
      bytes += r.bytes;
      reads++;
    }
    const readS = (performance.now() - t0) / 1000;
    if (bytes !== log.sizeBytes) throw new Error(`read ${bytes} bytes of ${log.sizeBytes}`);
    console.log(
      `${'read,maxBytes=1MiB'.padEnd(58)} MB/s=${(bytes / 1e6 / readS).toFixed(1)} reads=${reads} bytes=${bytes}`,
    );
    await log.close();
    const reopened = await FileLog.open(dir, config);
    const r = reopened.recovery;
    console.log(
      `${'recovery,tail segment scan'.padEnd(58)} scannedMB=${(r.scannedBytes / 1e6).toFixed(1)} ms=${r.durationMs.toFixed(0)} MB/s=${(r.scannedBytes / 1e3 / r.durationMs).toFixed(0)}`,
    );
    await reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`# FileLog append benchmark, ${seconds}s per case, batch bytes include the 61-byte header`);
for (const c of cases) {
  if (only && !name(c).includes(only)) continue;
  await runCase(c);
}
if (!only || 'read'.includes(only)) await runReadAndRecovery(Number(arg('read-mb', '200')));
