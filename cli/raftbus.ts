/**
 * The raftbus command line: `raftbus node` runs a broker; `cluster up` runs N
 * of them on this machine (cluster/local.ts); `topic`, `produce` and `consume`
 * are client commands against --broker. Exit codes: 0 ok,
 * 1 failure, 2 bad usage.
 */
import { RaftbusClient } from '../client/client.ts';
import { brokerOf, intOption } from './args.ts';
import { parseConsume, runConsume } from './consume.ts';
import { help } from './help.ts';
import { parseProduce, runProduce } from './produce.ts';
import { parseTopic, runTopic } from './topic.ts';
import { UsageError } from './usage-error.ts';

export interface CliIo {
  stdin: NodeJS.ReadableStream & import('node:stream').Readable;
  stdout: NodeJS.WritableStream & import('node:stream').Writable;
  stderr: NodeJS.WritableStream & import('node:stream').Writable;
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): CliIo => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

/** Runs one command; resolves with the exit code (the `node` command resolves once the node listens). */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      io.stderr.write(`${help.main}\n`);
      return 2;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(`${help.main}\n`);
      return 0;
    }
    if (command === 'node') {
      const { runNodeCli } = await import('../node/main.ts');
      await runNodeCli(rest);
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    if (command === 'cluster') {
      const { runClusterCli } = await import('../cluster/local.ts');
      return await runClusterCli(rest, io);
    }
    if (command !== 'topic' && command !== 'produce' && command !== 'consume') {
      throw new UsageError('main', `unknown command "${command}"`);
    }
    return await runClientCommand(command, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`raftbus: ${err.message}\n${help[err.command] ?? help.main}\n`);
      return 2;
    }
    const e = err as Error;
    io.stderr.write(`raftbus ${command}: ${e.name === 'RaftbusError' ? '' : `${e.name}: `}${e.message}\n`);
    return 1;
  }
}

async function runClientCommand(command: 'topic' | 'produce' | 'consume', argv: string[], io: CliIo): Promise<number> {
  // Parse everything before connecting: bad usage never touches the network.
  const common = { values: { broker: flagValue(argv, 'broker'), 'timeout-ms': flagValue(argv, 'timeout-ms') } };
  let run: (client: RaftbusClient, signal: AbortSignal) => Promise<number>;
  const out = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  if (command === 'topic') {
    const { sub, parsed } = parseTopic(argv);
    if (sub === 'help') {
      out(help.topic!);
      return 0;
    }
    run = async (client, signal) => {
      await runTopic(client, sub, parsed, out, signal);
      return 0;
    };
  } else if (command === 'produce') {
    const a = parseProduce(argv);
    if (a === 'help') {
      out(help.produce!);
      return 0;
    }
    run = async (client, signal) => {
      const s = await runProduce(client, a, io.stdin, signal);
      const rate = s.elapsedMs > 0 ? Math.round((s.sent * 1000) / s.elapsedMs) : 0;
      out(
        `produced ${s.sent} records to ${a.topic}, failed ${s.failed}, in ${Math.round(s.elapsedMs)} ms (${rate} records/s)`,
      );
      if (s.firstError) io.stderr.write(`raftbus produce: first error: ${s.firstError.message}\n`);
      return s.failed > 0 ? 1 : 0;
    };
  } else {
    const a = parseConsume(argv);
    if (a === 'help') {
      out(help.consume!);
      return 0;
    }
    run = async (client, signal) => {
      const n = await runConsume(client, a, io.stdout, signal);
      if (a.count !== undefined && n < a.count) {
        io.stderr.write(
          `raftbus consume: got ${n} of ${a.count} records before ${signal.aborted ? 'the timeout' : 'the end'}\n`,
        );
        return 1;
      }
      return 0;
    };
  }
  const timeoutMs = intOption(command, common.values, 'timeout-ms', 1);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const signal = timeoutMs === undefined ? stop.signal : AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
  const client = new RaftbusClient({ brokers: [brokerOf(common.values, io.env)], clientId: `raftbus-cli-${command}` });
  try {
    await client.connect({ signal });
    return await run(client, signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}

/** The value of `--name v` or `--name=v` (the command's own parser has validated the shape already). */
function flagValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  if (process.argv[2] !== 'node') process.exitCode = code;
}
