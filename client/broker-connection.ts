/**
 * The client's link to one broker address: hands out a live Connection and
 * opens a new one when the last one closed, retrying with exponential backoff
 * and full jitter (bounded in attempts and delay). Callers that find the
 * connection broken just ask again; concurrent callers share one attempt.
 */
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { Connection, type ConnectionOptions, type RequestOptions, type Response } from './connection.ts';
import { abortReason, ClientClosedError, isRetriable } from './errors.ts';

export const reconnectDefaults: BackoffOptions = { delayMsMin: 50, delayMsMax: 2_000, attemptsMax: 6 };

export class BrokerConnection {
  readonly options: ConnectionOptions;
  private readonly reconnect: BackoffOptions;
  private current: Connection | null = null;
  private connecting: Promise<Connection> | null = null;
  private closed = false;

  constructor(options: ConnectionOptions, reconnect: BackoffOptions = reconnectDefaults) {
    this.options = options;
    this.reconnect = reconnect;
  }

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** The live connection, if one is open now (no connecting). */
  get live(): Connection | null {
    return this.current && !this.current.isClosed ? this.current : null;
  }

  /** A live connection: the current one, or a new one (with retries). */
  get(options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClientClosedError(`link to ${this.address} is closed`));
    const live = this.live;
    if (live) return Promise.resolve(live);
    if (!this.connecting) {
      // The shared attempt is not tied to one caller's signal; each caller races its own below.
      this.connecting = this.connectWithRetry().finally(() => {
        this.connecting = null;
      });
    }
    const signal = options.signal;
    if (!signal) return this.connecting;
    return raceSignal(this.connecting, signal, `connect to ${this.address}`);
  }

  async request<B>(
    apiKey: number,
    body: unknown,
    raw?: readonly Uint8Array[],
    options?: RequestOptions,
  ): Promise<Response<B>> {
    const conn = await this.get({ signal: options?.signal });
    return conn.request<B>(apiKey, body, raw, options);
  }

  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = null;
  }

  private async connectWithRetry(): Promise<Connection> {
    const backoff = new Backoff(this.reconnect);
    for (;;) {
      try {
        const conn = await Connection.open(this.options);
        if (this.closed) {
          conn.close();
          throw new ClientClosedError(`link to ${this.address} is closed`);
        }
        this.current = conn;
        return conn;
      } catch (err) {
        if (this.closed || !isRetriable(err)) throw err;
        const delayMs = backoff.next();
        if (delayMs < 0) throw err;
        await sleep(delayMs);
      }
    }
  }
}

function raceSignal<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
