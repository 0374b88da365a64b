/** Small helpers over node:util parseArgs that turn every problem into a UsageError. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.ts';

export const DEFAULT_BROKER = '127.0.0.1:9092';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Options every client command takes. */
export const commonOptions: Options = {
  broker: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  'timeout-ms': { type: 'string' },
};

export function parse(command: string, argv: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...commonOptions, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw new UsageError(command, (err as Error).message);
  }
}

/** The broker address: --broker, else env RAFTBUS_BROKER, else the default. */
export function brokerOf(values: Parsed['values'], env: NodeJS.ProcessEnv): string {
  const v = values.broker;
  if (typeof v === 'string' && v !== '') return v;
  return env.RAFTBUS_BROKER && env.RAFTBUS_BROKER !== '' ? env.RAFTBUS_BROKER : DEFAULT_BROKER;
}

/** An integer option within [min, max]; undefined when absent. */
export function intOption(
  command: string,
  values: Parsed['values'],
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v))
    throw new UsageError(command, `--${name} needs an integer, got "${String(v)}"`);
  const n = Number(v);
  if (!(n >= min && n <= max)) throw new UsageError(command, `--${name} must be in [${min}, ${max}], got ${n}`);
  return n;
}

export function stringOption(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function expectPositionals(command: string, positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length)
    throw new UsageError(
      command,
      `missing ${names
        .slice(positionals.length)
        .map((n) => `<${n}>`)
        .join(' ')}`,
    );
  if (positionals.length > names.length)
    throw new UsageError(command, `unexpected argument "${positionals[names.length]}"`);
  return positionals;
}
