/** Helpers shared by the transport tests: wait for a condition, build messages. */
import { type Message, MessageType } from '../types.ts';

export async function eventually(
  check: () => boolean,
  { timeoutMs = 5000, stepMs = 5 }: { timeoutMs?: number; stepMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function appMessage(from: number, to: number, data: string): Message {
  return {
    type: MessageType.App,
    from,
    to,
    term: 3,
    logTerm: 2,
    index: 7,
    entries: [{ term: 3, index: 8, type: 0, data: new TextEncoder().encode(data) }],
    commit: 6,
    reject: false,
    rejectHint: 0,
    rejectHintTerm: 0,
  };
}
