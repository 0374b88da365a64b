/**
 * One bounded HTTP GET: a timeout on the whole exchange and a cap on the body
 * (a /metrics page of thousands of partitions stays well below it). Used
 * directly in loopback mode and by the client-host agent in netns mode, so
 * both modes answer alike.
 */
import { HttpGetError } from './errors.ts';

export const httpGetDefaults = {
  timeoutMs: 5_000,
  /** Largest body read; a larger one is an error, not a truncated page. */
  bodyBytesMax: 32 * 1024 * 1024,
} as const;

export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET `url`; resolves with status and body for any HTTP answer, rejects with HttpGetError when there is none. */
export async function httpFetch(
  url: string,
  timeoutMs: number = httpGetDefaults.timeoutMs,
  bodyBytesMax: number = httpGetDefaults.bodyBytesMax,
): Promise<HttpAnswer> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    throw new HttpGetError(url, null, '', describe(err, timeoutMs));
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    const reader = res.body?.getReader();
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > bodyBytesMax) {
        await reader.cancel();
        throw new HttpGetError(url, res.status, '', `body larger than ${bodyBytesMax} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof HttpGetError) throw err;
    throw new HttpGetError(url, res.status, '', describe(err, timeoutMs));
  }
  return { status: res.status, body: Buffer.concat(chunks).toString('utf8') };
}

/** The body of a 2xx answer; a non-2xx answer rejects with HttpGetError carrying status and body. */
export function okBody(url: string, a: HttpAnswer): string {
  if (a.status < 200 || a.status > 299) throw new HttpGetError(url, a.status, a.body, `HTTP ${a.status}`);
  return a.body;
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
