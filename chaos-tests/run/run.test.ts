import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../history.ts';
import { mergeHistories, readHistoryFile } from './history-merge.ts';
import { ChaosUsageError, parseChaosArgs, replayCommand } from './options.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('runner options', () => {
  it('the replay command parses back to the same options', () => {
    const o = parseChaosArgs(
      [
        '--seed',
        '7',
        '--duration',
        '90',
        '--nodes',
        '3',
        '--nemesis',
        'kill,partition',
        '--unsafe-ack-before-fsync',
        '--fault-ms',
        '100-200',
      ],
      () => 0,
    );
    if (o === 'help') throw new Error('help');
    const argv = replayCommand(o).replace('npx node chaos-tests/run.ts ', '').split(' ');
    expect(parseChaosArgs(argv, () => 1)).toEqual(o);
    expect(o.unsafeAckBeforeFsync).toBe(true);
    expect(o.timing.faultMs).toEqual([100, 200]);
  });

  it('draws a seed when none is given, and rejects bad flags', () => {
    const o = parseChaosArgs([], () => 1234);
    expect(o !== 'help' && o.seed).toBe(1234);
    expect(() => parseChaosArgs(['--nodes', '0'], () => 1)).toThrow(ChaosUsageError);
    expect(() => parseChaosArgs(['--mode', 'docker'], () => 1)).toThrow(ChaosUsageError);
    expect(() => parseChaosArgs(['--quiet-ms', '5-1'], () => 1)).toThrow(ChaosUsageError);
    expect(() => parseChaosArgs(['--frobnicate'], () => 1)).toThrow(ChaosUsageError);
    expect(parseChaosArgs(['--help'], () => 1)).toBe('help');
  });
});

describe('history merge', () => {
  const ev = (process: string, timeMs: number, type: HistoryEvent['type'] = 'invoke'): HistoryEvent => ({
    type,
    f: 'fault',
    process,
    timeMs,
    description: 'x',
  });

  it('merges by time, keeping each part in order on ties', () => {
    const a = [ev('a', 1), ev('a', 5, 'ok'), ev('a', 5, 'info')];
    const b = [ev('b', 0), ev('b', 5)];
    expect(mergeHistories([a, b]).map((e) => `${e.process}${e.timeMs}${e.type}`)).toEqual([
      'b0invoke',
      'a1invoke',
      'a5ok',
      'a5info',
      'b5invoke',
    ]);
  });

  it('refuses a part whose time goes back', () => {
    expect(() => mergeHistories([[ev('a', 5), ev('a', 4)]])).toThrow(/back in time/);
  });

  it('reading a history drops a partial last line (a writer killed mid-line)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-merge-'));
    dirs.push(dir);
    const path = join(dir, 'h.jsonl');
    writeFileSync(path, `${JSON.stringify(ev('a', 1))}\n{"type":"ok","f":"fa`);
    expect(readHistoryFile(path)).toHaveLength(1);
    expect(readHistoryFile(join(dir, 'missing.jsonl'))).toEqual([]);
  });
});
