/**
 * The load loop and its checks, the same code for every target. Each producer
 * keeps `inFlight` sends outstanding (round-robin over the partitions, a new
 * send as each one settles) until the deadline or the send bound; then every
 * outstanding send must settle within a bound, and with a consumer every
 * acknowledged value must be consumed within a bound. A rate is reported only
 * when requested == acked + failed, nothing failed, and (with a consumer)
 * every acknowledged value came back: otherwise the run is INVALID, with the
 * reasons.
 */
import type { RunSpec } from './args.ts';
import { Histogram } from './histogram.ts';
import { type ProcessFigures, ProcessSampler } from './proc.ts';
import type { BenchTarget, TargetConsumer, TargetProducer } from './target.ts';
import { BitSet, makeValue, payloadTemplate, readValue } from './value.ts';

export interface WorkloadLimits {
  /** Sends per producer at most (also the size bound of the bookkeeping bitsets). */
  sendsPerProducerMax: number;
  /** After the deadline: how long outstanding sends may take to settle. */
  settleTimeoutMs: number;
  /** After settling: how long the consumer may take to receive every acknowledged value. */
  drainTimeoutMs: number;
  /** Error messages kept for the report. */
  errorsKept: number;
}

export const workloadLimitDefaults: WorkloadLimits = {
  sendsPerProducerMax: 50_000_000,
  settleTimeoutMs: 60_000,
  drainTimeoutMs: 60_000,
  errorsKept: 5,
};

export interface Progress {
  elapsedSec: number;
  durationSec: number;
  /** Acknowledgements in the last second. */
  recordsPerSec: number;
  acked: number;
  failed: number;
  phase: 'warmup' | 'measure' | 'settle' | 'drain';
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  /** [percentile, ms] for the latency chart. */
  curve: [number, number][];
}

export interface WorkloadResult {
  valid: boolean;
  /** Why the figures must not be trusted (empty when valid). */
  invalidReasons: string[];
  requested: number;
  acked: number;
  failed: number;
  /** Sends still outstanding when the settle bound ran out. */
  unsettled: number;
  consumed: number;
  /** Acknowledged values the consumer received (must equal acked). */
  consumedAcked: number;
  duplicatesConsumed: number;
  unexpectedConsumed: number;
  errors: string[];
  windowSec: number;
  /** Acknowledgements inside the measured window. */
  recordsPerSec: number;
  payloadMBPerSec: number;
  ackLatency: LatencySummary;
  endToEndLatency: LatencySummary | null;
  /** Acknowledgements per second since the start (warmup included; see warmupSec). */
  timeline: number[];
  processes: ProcessFigures[];
  /** The producers' own counters summed (targets that offer them), e.g. batches and requests sent, retries. */
  producerStats: Record<string, number>;
  /**
   * CPU time of the target's processes (all nodes together) and of the bench process per acknowledged
   * record in the window, in microseconds: steadier than rates on a shared machine.
   */
  nodeCpuUsPerRecord: number;
  benchCpuUsPerRecord: number;
  /** The consumer's own counters (targets that offer them). */
  consumerStats: Record<string, number>;
}

function summarize(h: Histogram): LatencySummary {
  const ms = (ns: number): number => ns / 1e6;
  return {
    count: h.count,
    p50Ms: ms(h.percentile(50)),
    p99Ms: ms(h.percentile(99)),
    p999Ms: ms(h.percentile(99.9)),
    maxMs: ms(h.max),
    meanMs: ms(h.mean),
    curve: h.curve(4).map(([p, v]) => [p, ms(v)]),
  };
}

/** Waits until `done()` or the time bound; polls every 10 ms. */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Runs one workload against a started target. */
export async function runWorkload(
  target: BenchTarget,
  spec: RunSpec,
  o: { limits?: Partial<WorkloadLimits>; onProgress?: (p: Progress) => void } = {},
): Promise<WorkloadResult> {
  const limits = { ...workloadLimitDefaults, ...o.limits };
  const errors: string[] = [];
  const noteError = (err: unknown): void => {
    if (errors.length < limits.errorsKept)
      errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  };
  const template = payloadTemplate(spec.sizeBytes);
  const acks = Array.from({ length: spec.producers }, () => new BitSet(limits.sendsPerProducerMax));
  const seen = Array.from({ length: spec.producers }, () => new BitSet(limits.sendsPerProducerMax));
  const ackHist = new Histogram();
  const e2eHist = new Histogram();
  const timeline: number[] = [];
  let requested = 0;
  let acked = 0;
  let failed = 0;
  let outstanding = 0;
  let consumed = 0;
  let consumedAcked = 0;
  let duplicatesConsumed = 0;
  let unexpectedConsumed = 0;
  let ackedInWindow = 0;

  // Set when the load starts (opening producers and the consumer is not load); until then nothing is in it.
  let t0 = 0n;
  let warmupEnd = 0n;
  let deadline = 0n;
  const inWindow = (t: bigint): boolean => t >= warmupEnd && t < deadline;

  let consumer: TargetConsumer | null = null;
  if (spec.consumers) {
    consumer = await target.openConsumer((_partition, value) => {
      const now = process.hrtime.bigint();
      consumed++;
      const id = readValue(value);
      if (!id || id.producer >= spec.producers || id.sequence >= limits.sendsPerProducerMax) {
        unexpectedConsumed++;
        return;
      }
      if (!seen[id.producer]!.set(id.sequence)) {
        duplicatesConsumed++;
        return;
      }
      if (acks[id.producer]!.has(id.sequence)) consumedAcked++;
      if (inWindow(id.stampNs) && now >= id.stampNs) e2eHist.record(Number(now - id.stampNs));
    });
  }
  const producers: TargetProducer[] = [];
  try {
    for (let i = 0; i < spec.producers; i++)
      producers.push(await target.openProducer({ batching: spec.batching, inFlightMax: spec.inFlight }));
  } catch (err) {
    for (const p of producers) await p.close().catch(() => {});
    await consumer?.close().catch(() => {});
    throw err;
  }

  const sampler = new ProcessSampler([...target.processes(), { name: 'bench', pid: process.pid }]);
  t0 = process.hrtime.bigint();
  warmupEnd = t0 + BigInt(spec.warmupSec) * 1_000_000_000n;
  deadline = t0 + BigInt(spec.durationSec) * 1_000_000_000n;

  const partitionsOf = spec.partitions;
  const sequences = new Array<number>(spec.producers).fill(0);
  const nextPartition = Array.from({ length: spec.producers }, (_, i) => i % partitionsOf);
  let stopped = false;

  const fire = (p: number): void => {
    if (stopped) return;
    const now = process.hrtime.bigint();
    if (now >= deadline || sequences[p]! >= limits.sendsPerProducerMax) {
      stopped = now >= deadline || stopped;
      return;
    }
    const seq = sequences[p]!;
    sequences[p] = seq + 1;
    const partition = nextPartition[p]!;
    nextPartition[p] = (partition + 1) % partitionsOf;
    requested++;
    outstanding++;
    let sent: Promise<void>;
    try {
      sent = producers[p]!.send(partition, makeValue(template, now, p, seq));
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => {
        const at = process.hrtime.bigint();
        outstanding--;
        acked++;
        acks[p]!.set(seq);
        if (seen[p]!.has(seq)) consumedAcked++;
        const sec = Number((at - t0) / 1_000_000_000n);
        if (sec < spec.durationSec + 1) timeline[sec] = (timeline[sec] ?? 0) + 1;
        if (inWindow(at)) ackedInWindow++;
        if (inWindow(now)) ackHist.record(Number(at - now));
        fire(p);
      },
      (err: unknown) => {
        outstanding--;
        failed++;
        noteError(err);
        // Not synchronously: a target that fails every send at once must not starve the timers.
        setImmediate(() => fire(p));
      },
    );
  };

  let phase: Progress['phase'] = spec.warmupSec > 0 ? 'warmup' : 'measure';
  let lastAcked = 0;
  const ticker = setInterval(() => {
    sampler.sample();
    const elapsedSec = Number(process.hrtime.bigint() - t0) / 1e9;
    o.onProgress?.({
      elapsedSec,
      durationSec: spec.durationSec,
      recordsPerSec: acked - lastAcked,
      acked,
      failed,
      phase,
    });
    lastAcked = acked;
  }, 1_000);
  let processes: ProcessFigures[] = [];
  let warmupTimer: NodeJS.Timeout | undefined;
  if (spec.warmupSec === 0) sampler.begin();
  else
    warmupTimer = setTimeout(() => {
      phase = 'measure';
      sampler.begin();
    }, spec.warmupSec * 1_000);

  let unsettled = 0;
  try {
    for (let p = 0; p < spec.producers; p++) for (let k = 0; k < spec.inFlight; k++) fire(p);
    await new Promise<void>((resolve) => setTimeout(resolve, spec.durationSec * 1_000));
    stopped = true;
    processes = sampler.end();
    phase = 'settle';
    if (!(await waitFor(() => outstanding === 0, limits.settleTimeoutMs))) unsettled = outstanding;
    phase = 'drain';
    if (consumer) await waitFor(() => consumedAcked >= acked, limits.drainTimeoutMs);
  } finally {
    stopped = true;
    clearInterval(ticker);
    clearTimeout(warmupTimer);
    for (const p of producers) await p.close().catch(noteError);
    await consumer?.close().catch(noteError);
  }
  const producerStats: Record<string, number> = {};
  for (const p of producers)
    for (const [k, v] of Object.entries(p.stats?.() ?? {})) producerStats[k] = (producerStats[k] ?? 0) + v;

  const invalidReasons = checkRun({
    requested,
    acked,
    failed,
    unsettled,
    consumers: spec.consumers,
    consumedAcked,
    duplicatesConsumed,
    unexpectedConsumed,
  });
  const windowSec = spec.durationSec - spec.warmupSec;
  const cpuUsPerRecord = (ps: ProcessFigures[]): number =>
    ackedInWindow > 0 && ps.length > 0
      ? ((ps.reduce((a, p) => a + p.cpuPercent, 0) / 100) * windowSec * 1e6) / ackedInWindow
      : Number.NaN;
  return {
    valid: invalidReasons.length === 0,
    invalidReasons,
    requested,
    acked,
    failed,
    unsettled,
    consumed,
    consumedAcked,
    duplicatesConsumed,
    unexpectedConsumed,
    errors,
    windowSec,
    recordsPerSec: ackedInWindow / windowSec,
    payloadMBPerSec: (ackedInWindow * spec.sizeBytes) / windowSec / 1e6,
    ackLatency: summarize(ackHist),
    endToEndLatency: spec.consumers ? summarize(e2eHist) : null,
    producerStats,
    nodeCpuUsPerRecord: cpuUsPerRecord(processes.filter((p) => p.name !== 'bench')),
    benchCpuUsPerRecord: cpuUsPerRecord(processes.filter((p) => p.name === 'bench')),
    consumerStats: consumer?.stats?.() ?? {},
    timeline: Array.from({ length: Math.min(timeline.length, spec.durationSec) }, (_, i) => timeline[i] ?? 0),
    processes,
  };
}

export interface RunCounts {
  requested: number;
  acked: number;
  failed: number;
  unsettled: number;
  consumers: boolean;
  consumedAcked: number;
  duplicatesConsumed: number;
  unexpectedConsumed: number;
}

/** The checks before a rate is reported; every reason the figures cannot be trusted. */
export function checkRun(c: RunCounts): string[] {
  const reasons: string[] = [];
  if (c.unsettled > 0) reasons.push(`${c.unsettled} sends never settled (no acknowledgement and no failure)`);
  if (c.acked + c.failed !== c.requested)
    reasons.push(`acked ${c.acked} + failed ${c.failed} != requested ${c.requested}`);
  if (c.failed > 0) reasons.push(`${c.failed} sends failed`);
  if (c.requested === 0) reasons.push('nothing was sent');
  if (c.consumers) {
    if (c.consumedAcked !== c.acked)
      reasons.push(`the consumer received ${c.consumedAcked} of ${c.acked} acknowledged values`);
    if (c.unexpectedConsumed > 0) reasons.push(`the consumer received ${c.unexpectedConsumed} values never sent`);
  }
  return reasons;
}
