/**
 * The chaos runner's command line:
 *   npx node chaos-tests/run.ts --seed N --duration 600 --nodes 5 --nemesis all
 * (see --help). Exit 0 when the run is valid, 1 on violations (the replay
 * command is printed), 2 on setup errors or an interrupt. Ctrl-C stops the
 * run; the cluster is always torn down (every process by pid).
 */

import { NemesisSpecError } from './nemesis/families.ts';
import { ChaosUsageError, chaosHelp, parseChaosArgs } from './run/options.ts';
import { runChaos } from './run/run-chaos.ts';

export { type ChaosOptions, chaosDefaults, parseChaosArgs, replayCommand } from './run/options.ts';
export { type ChaosOutcome, runChaos } from './run/run-chaos.ts';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseChaosArgs>;
  try {
    parsed = parseChaosArgs(argv, () => Math.floor(Math.random() * 0x100000000));
  } catch (err) {
    if (err instanceof ChaosUsageError || err instanceof NemesisSpecError) {
      process.stderr.write(`${err.message}\n\n${chaosHelp}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed === 'help') {
    process.stdout.write(`${chaosHelp}\n`);
    return 0;
  }
  const stop = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(
        'chaos: interrupted; stopping the workload and tearing the cluster down (Ctrl-C again to leave now)\n',
      );
      stop.abort();
    } else {
      process.exit(2);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outcome = await runChaos({ ...parsed, signal: stop.signal });
  if (outcome.summary) process.stdout.write(`${outcome.summary}\n`);
  process.stdout.write(`results: ${outcome.resultsDir}\n`);
  if (outcome.exitCode !== 0) process.stdout.write(`replay: ${outcome.replay}\n`);
  return outcome.exitCode;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`chaos: ${(err as Error)?.stack ?? err}\n`);
      process.exit(2);
    },
  );
}
