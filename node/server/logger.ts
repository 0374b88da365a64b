/**
 * A small leveled logger writing one JSON object per line to stderr, so logs
 * stay greppable and machine-readable. Components take the `Logger` interface;
 * tests pass `silentLogger` or a recording one.
 */
import type { LogLevel } from '../config.ts';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Longest message or field value kept, so a hostile client cannot blow up the log. */
const FIELD_CHARS_MAX = 2048;

function clip(v: unknown): unknown {
  if (typeof v === 'string' && v.length > FIELD_CHARS_MAX) return `${v.slice(0, FIELD_CHARS_MAX)}...`;
  if (v instanceof Error) return clip(v.stack ?? `${v.name}: ${v.message}`);
  return v;
}

export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[lvl] < min) return;
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level: lvl, msg: clip(msg), ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = clip(v);
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ t: rec.t, level: lvl, msg: clip(msg), note: 'fields not serializable' });
    }
    write(`${line}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = createLogger('silent');
