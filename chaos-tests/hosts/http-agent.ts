/**
 * The client host's HTTP prober: a small long-lived process (spawned inside
 * the client namespace) that reads `{"id":1,"url":"http://...","timeoutMs":2000}`
 * lines on stdin and answers `{"id":1,"status":200,"body":"..."}` or
 * `{"id":1,"error":"..."}` lines on stdout (after a first `{"id":0,"ready":true}`), so a probe of /health or /metrics
 * does not pay a process start. Bodies and request lines are bounded; it exits
 * when stdin closes (its parent went away).
 *
 *   node chaos-tests/hosts/http-agent.ts
 */
import { createInterface } from 'node:readline';
import { httpFetch, httpGetDefaults } from './http-get.ts';

/** Requests in progress at once; more are answered with an error at once. */
export const agentInFlightMax = 256;
/** Longest request line accepted. */
export const agentRequestBytesMax = 16 * 1024;
/** Upper bound on a request's own timeout. */
const agentTimeoutMsMax = 120_000;

export interface AgentRequest {
  id: number;
  url: string;
  timeoutMs?: number;
}

export type AgentAnswer =
  | { id: number; status: number; body: string }
  | { id: number; error: string }
  /** The first line: the agent reads requests now (id 0, never a request's). */
  | { id: 0; ready: true };

function runAgent(): void {
  let inFlight = 0;
  const answer = (a: AgentAnswer): void => {
    process.stdout.write(`${JSON.stringify(a)}\n`);
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  rl.on('line', (line) => {
    let req: AgentRequest;
    try {
      if (line.length > agentRequestBytesMax) throw new Error(`request line longer than ${agentRequestBytesMax}`);
      req = JSON.parse(line) as AgentRequest;
      if (!Number.isInteger(req.id) || typeof req.url !== 'string') throw new Error('want {id, url}');
    } catch (err) {
      answer({ id: -1, error: `bad request: ${(err as Error).message}` });
      return;
    }
    if (inFlight >= agentInFlightMax) {
      answer({ id: req.id, error: `more than ${agentInFlightMax} requests in flight` });
      return;
    }
    inFlight++;
    const timeoutMs = Math.min(Math.max(1, req.timeoutMs ?? httpGetDefaults.timeoutMs), agentTimeoutMsMax);
    httpFetch(req.url, timeoutMs)
      .then(
        (a) => answer({ id: req.id, status: a.status, body: a.body }),
        (err: Error) => answer({ id: req.id, error: err.message }),
      )
      .finally(() => {
        inFlight--;
      });
  });
  rl.on('close', () => process.exit(0));
  answer({ id: 0, ready: true });
}

if (import.meta.main) runAgent();
