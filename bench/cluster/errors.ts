/** Typed errors of the cluster benchmark: one class per condition, stable `name` and `code`. */

/** The command line asks for something the benchmark cannot run. */
export class BenchArgsError extends Error {
  override readonly name = 'BenchArgsError';
  readonly code = 'BENCH_BAD_ARGS';
}

/** A value outside what a histogram can hold (negative, not finite, above its maximum). */
export class HistogramRangeError extends Error {
  override readonly name = 'HistogramRangeError';
  readonly code = 'BENCH_HISTOGRAM_RANGE';
}

/** A target did not become ready (cluster start, topic, partition leaders) within its bound. */
export class TargetNotReadyError extends Error {
  override readonly name = 'TargetNotReadyError';
  readonly code = 'BENCH_TARGET_NOT_READY';
}
