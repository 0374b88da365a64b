/**
 * Probes for the nemesis and the runner: who is the controller leader and who
 * leads each partition (one Metadata request), and whether every partition
 * has a leader that accepts a produce (recovery after the final heal).
 */

import { Producer, type RaftbusClient } from '../../client/index.ts';
import { ApiKey, type MetadataResponse } from '../../node/protocol/api.ts';
import { type SentValue, valueText } from '../history.ts';
import { classifySendError, errorText } from './classify.ts';
import type { HistoryFile } from './history-file.ts';
import type { ProbeResult, RecoverResult } from './protocol.ts';

export async function probeLeaders(
  client: RaftbusClient,
  topic: string,
  partitions: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  const res = await client.callAny<MetadataResponse>(ApiKey.Metadata, { topics: [topic] }, [], {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const leaders = new Array<number>(partitions).fill(-1);
  const t = res.body.topics?.find((x) => x.name === topic);
  for (const p of t?.partitions ?? []) {
    if (p.partition >= 0 && p.partition < partitions) leaders[p.partition] = p.leader ?? -1;
  }
  const controllerId = Number.isInteger(res.body.controllerId) ? res.body.controllerId : -1;
  return { controllerId, leaders };
}

/** Attempts per partition at most while recovering (each bounded by its own send bound). */
const recoverAttemptsMax = 1_000;
const recoverSendBoundMs = 8_000;

/**
 * Sends one recorded value to each partition, retrying with a fresh producer
 * until one is acknowledged or the time bound passes. The values are part of
 * the history (family `rP.A`: partition P, attempt A), so the checker knows them.
 */
export async function recoverAll(
  client: RaftbusClient,
  topic: string,
  partitions: number,
  history: HistoryFile,
  timeoutMs: number,
): Promise<RecoverResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(timeoutMs);
  const ok = await Promise.all(
    [...Array(partitions).keys()].map((p) => recoverPartition(client, topic, p, history, deadline)),
  );
  const result: RecoverResult = { recovered: [], unrecovered: [], tookMs: Math.round(performance.now() - started) };
  ok.forEach((good, p) => {
    (good ? result.recovered : result.unrecovered).push(p);
  });
  return result;
}

async function recoverPartition(
  client: RaftbusClient,
  topic: string,
  partition: number,
  history: HistoryFile,
  deadline: AbortSignal,
): Promise<boolean> {
  const proc = `recover.${partition}`;
  for (let attempt = 0; attempt < recoverAttemptsMax && !deadline.aborted; attempt++) {
    const family = `r${partition}a${attempt}`;
    const value: SentValue = { producer: family, seq: 0, partition, value: valueText(family, 0) };
    const producer = new Producer(client, {
      acks: 'quorum',
      idempotent: true,
      lingerMs: 0,
      deliveryTimeoutMs: recoverSendBoundMs - 2_000,
      requestTimeoutMs: 2_000,
      maxBlockMs: 2_000,
    });
    history.append({ type: 'invoke', f: 'send', process: proc, timeMs: history.nowMs(), value });
    const submit = new AbortController();
    const submitTimer = setTimeout(() => submit.abort(new Error('recovery submit bound')), 3_000);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'bound'>((resolve) => {
      timer = setTimeout(() => resolve('bound'), recoverSendBoundMs);
    });
    const sent = producer.send(topic, { partition, value: value.value }, { signal: submit.signal });
    sent.catch(() => {});
    try {
      const r = await Promise.race([sent, bound]);
      if (r === 'bound') {
        history.append({ type: 'info', f: 'send', process: proc, timeMs: history.nowMs(), value, error: 'no answer' });
      } else if (r.partition === partition && Number.isSafeInteger(r.offset) && r.offset >= 0) {
        history.append({ type: 'ok', f: 'send', process: proc, timeMs: history.nowMs(), value, offset: r.offset });
        return true;
      } else {
        history.append({ type: 'info', f: 'send', process: proc, timeMs: history.nowMs(), value, error: 'bad ack' });
      }
    } catch (err) {
      const type = classifySendError(err);
      history.append({ type, f: 'send', process: proc, timeMs: history.nowMs(), value, error: errorText(err) });
    } finally {
      clearTimeout(timer);
      clearTimeout(submitTimer);
      void producer.close({ signal: AbortSignal.timeout(recoverSendBoundMs) }).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}
