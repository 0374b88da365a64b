/**
 * The simulator's command line (`npm run sim -- ...`):
 *
 *   --seed N             run one seed; --verbose prints every trace line
 *   --seeds N [--start S] run seeds S..S+N-1 (S defaults to 1), print progress and a summary
 *   --unsafe <switch>    run with one deliberately broken Raft rule
 *   --trace-lines N      trace lines kept for a failure report (default 60)
 *   --stop-on-failure    with --seeds: stop at the first failing seed
 *   --stats              with --seeds: print what the seeds exercised (averages of the run stats)
 *
 * Exit code: 0 when every seed passed, 1 when any failed, 2 for bad usage.
 */
import { parseArgs } from 'node:util';
import { makeRaftNode } from './core-factory.ts';
import { describeConfig, formatFailure, formatStats } from './report.ts';
import { runSimulation } from './simulator.ts';
import { isUnsafeSwitchName, UNSAFE_SWITCH_NAMES, type UnsafeSwitchName } from './swarm.ts';

const SEEDS_PER_CLI_RUN_MAX = 10_000_000;

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: npm run sim -- (--seed N [--verbose] | --seeds N [--start S]) [--unsafe ${UNSAFE_SWITCH_NAMES.join('|')}]\n`,
  );
  process.exit(2);
}

function parseCount(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) usage(`--${name} needs an integer >= ${min}, got ${v}`);
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      start: { type: 'string' },
      unsafe: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'trace-lines': { type: 'string' },
      'stop-on-failure': { type: 'boolean', default: false },
      stats: { type: 'boolean', default: false },
    },
    strict: true,
  });
  let unsafe: UnsafeSwitchName | undefined;
  if (values.unsafe !== undefined) {
    if (!isUnsafeSwitchName(values.unsafe)) usage(`unknown --unsafe switch ${values.unsafe}`);
    unsafe = values.unsafe;
  }
  const traceLinesMax = parseCount('trace-lines', values['trace-lines'], 1) ?? 60;
  const seed = parseCount('seed', values.seed, 0);
  const seeds = parseCount('seeds', values.seeds, 1);
  if ((seed === undefined) === (seeds === undefined)) usage('give exactly one of --seed and --seeds');

  if (seed !== undefined) {
    const print = (line: string) => process.stdout.write(`${line}\n`);
    const r = runSimulation({
      seed,
      unsafe,
      traceLinesMax,
      makeCore: makeRaftNode,
      onTraceLine: values.verbose ? print : undefined,
    });
    print(`seed ${seed}: ${describeConfig(r)}`);
    print(`seed ${seed}: ${r.ok ? 'ok' : 'FAILED'} trace=${r.traceHash} ${formatStats(r)}`);
    if (!r.ok) print(formatFailure(r));
    // exitCode, not exit(): a piped stdout must drain (a verbose trace can be millions of lines).
    process.exitCode = r.ok ? 0 : 1;
    return;
  }

  const count = Math.min(seeds!, SEEDS_PER_CLI_RUN_MAX);
  const start = parseCount('start', values.start, 0) ?? 1;
  const failures: number[] = [];
  const startedMs = performance.now();
  let events = 0;
  const totals = new Map<string, { sum: number; seeds: number }>();
  for (let s = start; s < start + count; s++) {
    const r = runSimulation({ seed: s, unsafe, traceLinesMax, makeCore: makeRaftNode });
    events += r.stats.events;
    for (const [k, v] of Object.entries(r.stats)) {
      const t = totals.get(k) ?? { sum: 0, seeds: 0 };
      t.sum += v;
      if (v > 0) t.seeds++;
      totals.set(k, t);
    }
    if (!r.ok) {
      failures.push(s);
      process.stdout.write(`${formatFailure(r)}\n`);
      if (values['stop-on-failure']) break;
    }
    const done = s - start + 1;
    if (done % 100 === 0 || done === count) {
      const secs = (performance.now() - startedMs) / 1000;
      process.stdout.write(
        `progress: ${done}/${count} seeds, ${failures.length} failed, ${secs.toFixed(1)}s, ${Math.round(events / secs)} events/s\n`,
      );
    }
  }
  const secs = (performance.now() - startedMs) / 1000;
  process.stdout.write(
    `summary: seeds ${start}..${start + count - 1}${unsafe ? ` unsafe=${unsafe}` : ''}: ${failures.length} failed` +
      `${failures.length > 0 ? ` [${failures.slice(0, 50).join(', ')}${failures.length > 50 ? ', ...' : ''}]` : ''} in ${secs.toFixed(1)}s (${events} events)\n`,
  );
  if (values.stats) {
    // What the seeds exercised: a swarm that never sends a snapshot checks nothing about snapshots.
    for (const [k, t] of totals) {
      process.stdout.write(`  ${k.padEnd(20)} avg ${(t.sum / count).toFixed(1).padStart(10)}  seeds>0 ${t.seeds}\n`);
    }
  }
  process.exitCode = failures.length > 0 ? 1 : 0;
}

main();
