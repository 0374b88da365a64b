/**
 * The final drain: for each partition, ask the end offset (ListOffsets latest,
 * retried until the cluster answers) and read every record from the log start
 * up to it. One 'drain' op per partition, ok with the records, or fail when the
 * partition could not be read to its end within the time bound.
 *
 * The read uses plain Fetch requests (raw-fetch.ts), not the client
 * Consumer: control batches (Raft no-ops, membership changes) take offsets but
 * hold no records, and the drain names their offsets (`controlRanges` on the
 * ok event) so that a checker can tell them from holes in the log.
 */
import { Admin, type RaftbusClient } from '../../client/index.ts';
import type { DrainEvent, ReadRecord } from '../history.ts';
import { errorText } from './classify.ts';
import type { HistoryFile } from './history-file.ts';
import type { DrainResult } from './protocol.ts';
import { fetchOnce } from './raw-fetch.ts';

/** Records one partition's drain may hold; a bigger log is a run we did not size for. */
const drainRecordsMax = 5_000_000;
/** Fetch requests per partition at most (each returns up to 4 MiB or fails). */
const fetchesMax = 100_000;

export async function drainAll(
  client: RaftbusClient,
  topic: string,
  partitions: number,
  history: HistoryFile,
  timeoutMs: number,
): Promise<DrainResult> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const results = await Promise.all(
    [...Array(partitions).keys()].map((p) => drainPartition(client, topic, p, history, deadline)),
  );
  const out: DrainResult = { drained: [], failed: [], records: 0 };
  results.forEach((r, p) => {
    if (r.ok) {
      out.drained.push(p);
      out.records += r.records;
    } else {
      out.failed.push({ partition: p, error: r.error });
    }
  });
  return out;
}

async function drainPartition(
  client: RaftbusClient,
  topic: string,
  partition: number,
  history: HistoryFile,
  deadline: AbortSignal,
): Promise<{ ok: true; records: number } | { ok: false; error: string }> {
  const process = 'drain';
  history.append({
    type: 'invoke',
    f: 'drain',
    process: `${process}.${partition}`,
    timeMs: history.nowMs(),
    partition,
  });
  try {
    const endOffset = await endOffsetOf(client, topic, partition, deadline);
    const { records, controlRanges } = await readRange(client, topic, partition, endOffset, deadline);
    const ok: DrainEvent = {
      type: 'ok',
      f: 'drain',
      process: `${process}.${partition}`,
      timeMs: history.nowMs(),
      partition,
      records,
      endOffset,
      controlRanges,
    };
    history.append(ok);
    return { ok: true, records: records.length };
  } catch (err) {
    const error = errorText(err);
    history.append({
      type: 'fail',
      f: 'drain',
      process: `${process}.${partition}`,
      timeMs: history.nowMs(),
      partition,
      error,
    });
    return { ok: false, error };
  }
}

/** ListOffsets latest, retried (each try bounded by the client's own retries) until answered or the deadline. */
async function endOffsetOf(
  client: RaftbusClient,
  topic: string,
  partition: number,
  deadline: AbortSignal,
): Promise<number> {
  const admin = new Admin(client);
  let last: unknown = null;
  while (!deadline.aborted) {
    try {
      const [o] = await admin.listOffsets(topic, 'latest', { partitions: [partition], signal: deadline });
      if (o && Number.isSafeInteger(o.offset) && o.offset >= 0) return o.offset;
      last = new Error(`ListOffsets answered ${JSON.stringify(o)}`);
    } catch (err) {
      last = err;
    }
    await sleepUnless(200, deadline);
  }
  throw new Error(`no end offset before the deadline (last error: ${errorText(last)})`);
}

async function readRange(
  client: RaftbusClient,
  topic: string,
  partition: number,
  endOffset: number,
  deadline: AbortSignal,
): Promise<{ records: ReadRecord[]; controlRanges: [number, number][] }> {
  const records: ReadRecord[] = [];
  const controlRanges: [number, number][] = [];
  let position = 0;
  let lastError: unknown = null;
  for (let fetches = 0; position < endOffset && !deadline.aborted && fetches < fetchesMax; fetches++) {
    try {
      const got = await fetchOnce(client, topic, partition, position, endOffset, deadline);
      if (got.nextOffset <= position) {
        // Nothing came back below the end offset yet (a new leader catching up its commit index): ask again.
        await sleepUnless(100, deadline);
        continue;
      }
      for (const r of got.records) records.push(r);
      for (const c of got.controlRanges) controlRanges.push(c);
      if (records.length > drainRecordsMax) throw new Error(`partition holds more than ${drainRecordsMax} records`);
      position = got.nextOffset;
    } catch (err) {
      lastError = err;
      await sleepUnless(200, deadline);
    }
  }
  if (position < endOffset) {
    throw new Error(`read reached offset ${position} of ${endOffset} before the deadline (${errorText(lastError)})`);
  }
  return { records, controlRanges };
}

function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
