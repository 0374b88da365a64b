/**
 * Opening a log directory: find the segments, trust closed segments by length
 * (their sealed indexes tell where their batches are), scan the tail segment
 * batch by batch verifying every header and CRC, cut a torn or corrupt tail,
 * rebuild missing or stale indexes, and keep offsets continuous across
 * segments. Everything it changes is listed in the returned report.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { scanBatches } from './batch-scan.ts';
import { syncDir } from './dir-sync.ts';
import type { LogConfig } from './log.ts';
import {
  INDEX_EXT,
  LOG_EXT,
  type OpenLogFile,
  parseSegmentFileName,
  Segment,
  segmentFileName,
  TIME_INDEX_EXT,
} from './segment.ts';

export interface TruncationRecord {
  file: string;
  /** Byte where the file now ends. */
  position: number;
  bytesRemoved: number;
  reason: string;
}

export interface RecoveryReport {
  segments: number;
  startOffset: number;
  endOffset: number;
  /** Bytes read and CRC-checked batch by batch (the tail segment and any rebuilt index). */
  scannedBytes: number;
  truncated: TruncationRecord[];
  /** Whole segment files removed because they broke offset continuity or followed a corrupt batch. */
  removedSegments: string[];
  /** Segments whose index files were missing, short or stale and were rebuilt. */
  rebuiltIndexes: string[];
  durationMs: number;
}

export interface Recovered {
  segments: Segment[];
  report: RecoveryReport;
}

/** Scans a segment from byte 0 verifying every batch; cuts the file after the last good one. */
async function scanAndRepair(seg: Segment, config: LogConfig, report: RecoveryReport): Promise<boolean> {
  seg.resetBookkeeping();
  const fileBytes = seg.file.size;
  const scan = await scanBatches(
    seg.file,
    0,
    fileBytes,
    { verifyCrc: true, expectBaseOffset: seg.baseOffset },
    (position, header) => {
      seg.noteBatch(position, header, config.indexIntervalBytes);
      return true;
    },
  );
  report.scannedBytes += scan.endPosition;
  if (scan.bad === null) return true;
  await seg.file.truncate(scan.endPosition);
  report.truncated.push({
    file: seg.logPath,
    position: scan.endPosition,
    bytesRemoved: fileBytes - scan.endPosition,
    reason: scan.bad.reason,
  });
  return false;
}

async function removeSegmentFiles(dir: string, base: number, report: RecoveryReport): Promise<void> {
  const name = segmentFileName(base, LOG_EXT);
  await Promise.all([
    rm(join(dir, name), { force: true }),
    rm(join(dir, segmentFileName(base, INDEX_EXT)), { force: true }),
    rm(join(dir, segmentFileName(base, TIME_INDEX_EXT)), { force: true }),
  ]);
  report.removedSegments.push(join(dir, name));
}

export async function recoverSegments(
  dir: string,
  config: LogConfig,
  openFile: OpenLogFile,
  nowMs: () => number,
): Promise<Recovered> {
  const t0 = performance.now();
  await mkdir(dir, { recursive: true });
  const report: RecoveryReport = {
    segments: 0,
    startOffset: 0,
    endOffset: 0,
    scannedBytes: 0,
    truncated: [],
    removedSegments: [],
    rebuiltIndexes: [],
    durationMs: 0,
  };
  const names = await readdir(dir);
  const bases = names
    .map(parseSegmentFileName)
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  // Index files whose segment is gone (a deletion cut short by a crash).
  const baseSet = new Set(bases);
  for (const name of names) {
    const m = /^(\d{20})\.(index|timeindex)$/.exec(name);
    if (m && !baseSet.has(Number(m[1]))) await rm(join(dir, name), { force: true });
  }

  const kept: Segment[] = [];
  let changedDir = false;
  try {
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const prev = kept[kept.length - 1];
      if (prev !== undefined && base !== prev.nextOffset) {
        // A gap or an overlap: nothing after it can be trusted to be in order.
        for (let j = bases.length - 1; j >= i; j--) await removeSegmentFiles(dir, bases[j]!, report);
        report.truncated.push({
          file: prev.logPath,
          position: prev.writtenBytes,
          bytesRemoved: 0,
          reason: `next segment starts at ${base}, expected ${prev.nextOffset}`,
        });
        changedDir = true;
        break;
      }
      const file = await openFile(join(dir, segmentFileName(base, LOG_EXT)), false);
      const seg = new Segment(dir, base, file);
      kept.push(seg);
      if (i === bases.length - 1) break; // the tail is scanned below
      const fileBytes = file.size;
      const loaded = await seg.loadIndexes(fileBytes);
      const adopted =
        loaded !== null &&
        (await seg.adoptIndexes(loaded.index, loaded.timeIndex, fileBytes, config.indexIntervalBytes));
      if (adopted) {
        seg.sealed = true;
        continue;
      }
      report.rebuiltIndexes.push(seg.indexPath);
      const whole = await scanAndRepair(seg, config, report);
      if (!whole) {
        // A corrupt batch inside a closed segment: the log ends there.
        for (let j = bases.length - 1; j > i; j--) await removeSegmentFiles(dir, bases[j]!, report);
        changedDir = true;
        break;
      }
      await seg.writeIndexes();
      seg.sealed = true;
    }
    if (kept.length === 0) {
      const file = await openFile(join(dir, segmentFileName(0, LOG_EXT)), true);
      kept.push(new Segment(dir, 0, file));
      changedDir = true;
    } else {
      // The tail segment (possibly a closed one that became the tail above) is scanned in full.
      const tail = kept[kept.length - 1]!;
      await scanAndRepair(tail, config, report);
      tail.sealed = false;
      if (!tail.isEmpty) tail.firstAppendMs = nowMs();
      // The active segment's indexes live in memory until it is sealed.
      await tail.removeIndexFiles();
    }
    if (changedDir) await syncDir(dir);
  } catch (err) {
    await Promise.all(kept.map((s) => s.close().catch(() => {})));
    throw err;
  }
  report.segments = kept.length;
  report.startOffset = kept[0]!.baseOffset;
  report.endOffset = kept[kept.length - 1]!.nextOffset;
  report.durationMs = performance.now() - t0;
  return { segments: kept, report };
}
