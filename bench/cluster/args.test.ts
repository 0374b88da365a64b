import { describe, expect, it } from 'vitest';
import { expandMatrix, parseBenchArgs, runName } from './args.ts';
import { BenchArgsError } from './errors.ts';

function parse(argv: string[]) {
  const p = parseBenchArgs(argv);
  if (p.help) throw new Error('unexpected help');
  return p;
}

describe('parseBenchArgs', () => {
  it('has the defaults of the issue', () => {
    const a = parse([]);
    expect(a).toMatchObject({ nodes: 3, replication: 3, durationSec: 30, warmupSec: 3, consumers: true, vs: [] });
    const runs = expandMatrix(a);
    expect(runs.map((r) => r.batching)).toEqual([true, false]);
    expect(runName(runs[0]!)).toBe('nodes=3,rf=3,partitions=6,size=100B,producers=4,in-flight=1000,batching=on');
  });

  it('expands every list into the cartesian product, partitions outermost', () => {
    const a = parse(['--partitions', '6,60,600', '--size', '100,1k', '--batching=on', '--in-flight', '1,1000']);
    const runs = expandMatrix(a);
    expect(runs).toHaveLength(3 * 2 * 2);
    expect(runs.map((r) => r.partitions)).toEqual([6, 6, 6, 6, 60, 60, 60, 60, 600, 600, 600, 600]);
    expect(runs.slice(0, 4).map((r) => [r.sizeBytes, r.inFlight])).toEqual([
      [100, 1],
      [100, 1000],
      [1024, 1],
      [1024, 1000],
    ]);
    expect(new Set(runs.map(runName)).size).toBe(runs.length);
  });

  it('reads the other options', () => {
    const a = parse([
      '--vs',
      'nats,rabbitmq',
      '--consumers',
      'off',
      '--target',
      '127.0.0.1:9092,localhost:9093',
      '--out',
      '/tmp/x',
      '--duration',
      '10',
      '--warmup',
      '0',
      '--nodes',
      '5',
    ]);
    expect(a.vs).toEqual(['nats', 'rabbitmq']);
    expect(a.consumers).toBe(false);
    expect(a.target).toEqual(['127.0.0.1:9092', 'localhost:9093']);
    expect(a.replication).toBe(3);
    expect(parse(['--nodes', '1']).replication).toBe(1);
    expect(parse(['--idle', '3000']).idlePartitions).toBe(3000);
    expect(parseBenchArgs(['--help'])).toEqual({ help: true });
  });

  it.each([
    [['--size', '8'], /outside/],
    [['--size', '100,,200'], /empty item/],
    [['--partitions', 'six'], /not a whole number/],
    [['--batching', 'maybe'], /on, off or both/],
    [['--vs', 'kafka'], /unknown peer/],
    [['--replication', '5'], /exceeds --nodes/],
    [['--warmup', '30'], /nothing of --duration/],
    [['--target', 'nohost'], /host:port/],
    [['--frobnicate', '1'], /unknown option/],
    [['--duration'], /needs a value/],
    [['stray'], /unexpected argument/],
    [
      ['--size', '16,32,64,128', '--partitions', '1,2,3,4,5,6,7,8', '--producers', '1,2,3,4,5,6,7,8,9'],
      /more than 256/,
    ],
  ])('rejects %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchArgsError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
    try {
      parseBenchArgs(argv);
    } catch (err) {
      expect((err as BenchArgsError).code).toBe('BENCH_BAD_ARGS');
    }
  });
});
