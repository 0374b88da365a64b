/**
 * The client's link to one broker address: hands out a live Connection and
 * opens a new one when the last one closed, retrying with exponential backoff
 * and full jitter (bounded in attempts and delay). Callers that find the
 * connection broken just ask again; concurrent callers share one attempt.
 */
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { Connection, type ConnectionOptions, type RequestOptions, type Response } from './connection.ts';
import { abortReason, ClientClosedError, ConnectionClosedError, isRetriable, raceAbort } from './errors.ts';

/**
 * Kafka's reconnect.backoff.ms=50 growing to reconnect.backoff.max.ms=1000.
 * `attemptsMax` bounds only the first connect of a link; once a link has been
 * connected, a broken connection is retried once per request and then gated
 * per node (see `get`), so callers fail fast and go elsewhere.
 */
export const reconnectDefaults: BackoffOptions = { delayMsMin: 50, delayMsMax: 1_000, attemptsMax: 6 };

export class BrokerConnection {
  readonly options: ConnectionOptions;
  private readonly reconnect: BackoffOptions;
  private current: Connection | null = null;
  private connecting: Promise<Connection> | null = null;
  private closed = false;
  /** True once a connection was open: from then on a lost connection fails callers fast. */
  private everConnected = false;
  /** Per-node reconnect gate after a failed reconnect: no attempt before this time (ms). */
  private nextAttemptAtMs = 0;
  private readonly gate: Backoff;

  constructor(options: ConnectionOptions, reconnect: BackoffOptions = reconnectDefaults) {
    this.options = options;
    this.reconnect = reconnect;
    // The gate's delays grow to delayMsMax and stay there; it never gives up (the callers' retry budgets do).
    this.gate = new Backoff({ ...reconnect, attemptsMax: Number.MAX_SAFE_INTEGER });
  }

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** The live connection, if one is open now (no connecting). */
  get live(): Connection | null {
    return this.current && !this.current.isClosed ? this.current : null;
  }

  /** True while a connect attempt is under way. */
  get isConnecting(): boolean {
    return this.connecting !== null;
  }

  /** A live connection: the current one, or a new one (with retries). */
  get(options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClientClosedError(`link to ${this.address} is closed`));
    const live = this.live;
    if (live) return Promise.resolve(live);
    const signal = options.signal;
    // A caller that already gave up starts no attempt: nobody would observe its outcome.
    if (signal?.aborted) return Promise.reject(abortReason(signal, `connect to ${this.address}`));
    if (!this.connecting) {
      if (this.everConnected && Date.now() < this.nextAttemptAtMs) {
        // This node's connection broke and a reconnect failed: callers do not wait out its
        // growing backoff, they fail now (retriable) and may route elsewhere (a new leader).
        return Promise.reject(
          new ConnectionClosedError(
            `${this.address} is unreachable; next reconnect in ${this.nextAttemptAtMs - Date.now()} ms`,
          ),
        );
      }
      // The shared attempt is not tied to one caller's signal; each caller races its own below.
      const attempt = this.everConnected ? this.reconnectOnce() : this.connectWithRetry();
      this.connecting = attempt.finally(() => {
        this.connecting = null;
      });
      // Every caller may give up (an aborted signal) before it settles: its rejection must
      // never surface as an unhandled rejection in the host process.
      this.connecting.catch(() => {});
    }
    if (!signal) return this.connecting;
    return raceAbort(this.connecting, signal, `connect to ${this.address}`);
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

  /** One attempt to reopen a connection that was open before; a failure arms the per-node gate. */
  private async reconnectOnce(): Promise<Connection> {
    try {
      const conn = await Connection.open(this.options);
      if (this.closed) {
        conn.close();
        throw new ClientClosedError(`link to ${this.address} is closed`);
      }
      this.current = conn;
      this.gate.reset();
      this.nextAttemptAtMs = 0;
      return conn;
    } catch (err) {
      if (!this.closed) this.nextAttemptAtMs = Date.now() + this.gate.next();
      throw err;
    }
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
        this.everConnected = true;
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
