/**
 * One TCP connection to one broker: the handshake, then pipelined requests.
 * Each request gets a correlation id; responses may come back in any order
 * and are matched by id. At most `inFlightMax` requests await a response at
 * once; up to `pendingMax` more wait for a slot, beyond that a request fails
 * fast (TooManyPendingError). Every request has a timeout (an
 * AbortSignal.timeout) and honours the caller's AbortSignal.
 *
 * A Connection never reconnects: once closed it stays closed and every
 * request fails with ConnectionClosedError. BrokerConnection (broker-connection.ts)
 * owns reconnecting with backoff.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ApiKey, type HandshakeRequest, type HandshakeResponse } from '../node/protocol/api.ts';
import { RaftbusError, type WireError } from '../node/protocol/errors.ts';
import {
  DEFAULT_FRAME_BYTES_MAX,
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameError,
  FrameType,
} from '../node/protocol/frame.ts';
import { RAFTBUS_VERSION } from '../node/version.ts';
import { abortReason, ClientClosedError, ConnectionClosedError, ProtocolError, TooManyPendingError } from './errors.ts';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs?: number;
  /** Default timeout of each request, unless the request gives its own. */
  requestTimeoutMs?: number;
  /** Requests awaiting a response at once (pipelining depth). */
  inFlightMax?: number;
  /** Requests allowed to wait for an in-flight slot; more fail with TooManyPendingError. */
  pendingMax?: number;
  /** Largest frame this side sends or accepts; lowered to the server's limit after the handshake. */
  frameBytesMax?: number;
  auth?: HandshakeRequest['auth'];
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Response<B> {
  body: B;
  /** The raw section of the response frame (record batches), a view into the received bytes. */
  raw: Uint8Array;
  apiVersion: number;
}

export const connectionDefaults = {
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  inFlightMax: 64,
  pendingMax: 10_000,
  frameBytesMax: DEFAULT_FRAME_BYTES_MAX,
} as const;

interface Pending {
  resolve(frame: Frame): void;
  reject(err: Error): void;
}

interface SlotWaiter {
  resolve(): void;
  reject(err: Error): void;
}

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly requestTimeoutMs: number;
  readonly inFlightMax: number;
  readonly pendingMax: number;
  /** Filled by the handshake. */
  server: HandshakeResponse | null = null;
  private frameBytesMax: number;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly slotWaiters: SlotWaiter[] = [];
  private inFlight = 0;
  private nextCorrelationId = 1;
  private closedError: Error | null = null;
  private readonly closeListeners: ((err: Error) => void)[] = [];

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.host = options.host;
    this.port = options.port;
    this.requestTimeoutMs = options.requestTimeoutMs ?? connectionDefaults.requestTimeoutMs;
    this.inFlightMax = options.inFlightMax ?? connectionDefaults.inFlightMax;
    this.pendingMax = options.pendingMax ?? connectionDefaults.pendingMax;
    this.frameBytesMax = options.frameBytesMax ?? connectionDefaults.frameBytesMax;
    if (!(this.inFlightMax >= 1)) throw new RangeError('inFlightMax must be >= 1');
    this.decoder = new FrameDecoder(this.frameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) =>
      this.fail(new ConnectionClosedError(`connection to ${this.address} failed: ${err.message}`, { cause: err })),
    );
    socket.on('close', () => this.fail(new ConnectionClosedError(`connection to ${this.address} closed`)));
  }

  /** Opens a TCP connection and performs the handshake. */
  static async open(options: ConnectionOptions, { signal }: { signal?: AbortSignal } = {}): Promise<Connection> {
    const connectTimeoutMs = options.connectTimeoutMs ?? connectionDefaults.connectTimeoutMs;
    const timeout = AbortSignal.timeout(connectTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    if (combined.aborted) throw abortReason(combined, `connect to ${options.host}:${options.port}`, connectTimeoutMs);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: options.host, port: options.port });
      const onAbort = (): void => {
        s.destroy();
        reject(abortReason(combined, `connect to ${options.host}:${options.port}`, connectTimeoutMs));
      };
      combined.addEventListener('abort', onAbort, { once: true });
      s.once('connect', () => {
        combined.removeEventListener('abort', onAbort);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        combined.removeEventListener('abort', onAbort);
        reject(
          new ConnectionClosedError(`connect to ${options.host}:${options.port} failed: ${err.message}`, {
            cause: err,
          }),
        );
      });
    });
    const conn = new Connection(socket, options);
    try {
      const request: HandshakeRequest = { clientId: options.clientId, clientVersion: RAFTBUS_VERSION };
      if (options.auth) request.auth = options.auth;
      const res = await conn.request<HandshakeResponse>(ApiKey.Handshake, request, [], {
        signal: combined,
        timeoutMs: connectTimeoutMs,
      });
      conn.server = res.body;
      if (typeof res.body?.frameBytesMax === 'number' && res.body.frameBytesMax > 0) {
        conn.frameBytesMax = Math.min(conn.frameBytesMax, res.body.frameBytesMax);
      }
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get isClosed(): boolean {
    return this.closedError !== null;
  }

  /** Largest frame the peer accepts (after the handshake). */
  get frameBytesLimit(): number {
    return this.frameBytesMax;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Called once, with the reason, when the connection closes. */
  onClose(listener: (err: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /**
   * Sends one request and resolves with its response. A response whose body
   * is `{ error }` (the whole request failed) rejects with RaftbusError.
   */
  async request<B>(
    apiKey: number,
    body: unknown,
    raw: readonly Uint8Array[] = [],
    options: RequestOptions = {},
  ): Promise<Response<B>> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const what = `request ${apiKeyName(apiKey)} to ${this.address}`;
    await this.acquireSlot(signal, what, timeoutMs);
    let frame: Frame;
    try {
      frame = await new Promise<Frame>((resolve, reject) => {
        if (this.closedError) {
          reject(this.closedError);
          return;
        }
        if (signal.aborted) {
          reject(abortReason(signal, what, timeoutMs));
          return;
        }
        const correlationId = this.takeCorrelationId();
        let bufs: Buffer[];
        try {
          bufs = encodeFrame(
            { frameType: FrameType.Request, apiKey, apiVersion: 0, correlationId },
            body,
            raw,
            this.frameBytesMax,
          );
        } catch (err) {
          reject(err as Error);
          return;
        }
        const onAbort = (): void => {
          // The answer may still arrive; it is then dropped as unknown.
          if (this.pending.delete(correlationId)) reject(abortReason(signal, what, timeoutMs));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.pending.set(correlationId, {
          resolve: (f) => {
            signal.removeEventListener('abort', onAbort);
            resolve(f);
          },
          reject: (e) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        });
        this.writeFrame(bufs);
      });
    } finally {
      this.releaseSlot();
    }
    const resBody = frame.body as { error?: WireError | null } | null;
    if (resBody !== null && typeof resBody === 'object' && resBody.error) {
      throw RaftbusError.fromWire(resBody.error);
    }
    return { body: frame.body as B, raw: frame.raw, apiVersion: frame.apiVersion };
  }

  /**
   * Sends a request that gets no response (a produce with acks=none). Resolves
   * once the bytes are handed to the socket; waits for 'drain' first when the
   * socket's buffer is full, so a fast sender cannot grow it without bound.
   */
  async sendOnly(
    apiKey: number,
    body: unknown,
    raw: readonly Uint8Array[] = [],
    options: RequestOptions = {},
  ): Promise<void> {
    if (this.closedError) throw this.closedError;
    if (this.socket.writableNeedDrain) {
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          this.socket.off('drain', onDrain);
          this.socket.off('close', onClose);
          signal.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = (): void => done();
        const onClose = (): void => done(this.closedError ?? new ConnectionClosedError('connection closed'));
        const onAbort = (): void => done(abortReason(signal, `send to ${this.address}`, timeoutMs));
        this.socket.on('drain', onDrain);
        this.socket.on('close', onClose);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    const bufs = encodeFrame(
      { frameType: FrameType.Request, apiKey, apiVersion: 0, correlationId: this.takeCorrelationId() },
      body,
      raw,
      this.frameBytesMax,
    );
    this.writeFrame(bufs);
  }

  /** Closes the socket; pending requests fail with ClientClosedError. */
  close(): void {
    this.fail(new ClientClosedError(`connection to ${this.address} was closed by the client`));
  }

  private takeCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id >= 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  private writeFrame(bufs: Buffer[]): void {
    // cork/uncork turns the header+body and raw batches into one writev.
    this.socket.cork();
    for (const b of bufs) this.socket.write(b);
    this.socket.uncork();
  }

  private acquireSlot(signal: AbortSignal, what: string, timeoutMs: number): Promise<void> | undefined {
    if (this.closedError) return Promise.reject(this.closedError);
    if (signal.aborted) return Promise.reject(abortReason(signal, what, timeoutMs));
    if (this.inFlight < this.inFlightMax && this.slotWaiters.length === 0) {
      this.inFlight++;
      return undefined;
    }
    if (this.slotWaiters.length >= this.pendingMax) return Promise.reject(new TooManyPendingError(this.pendingMax));
    return new Promise<void>((resolve, reject) => {
      const waiter: SlotWaiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        const i = this.slotWaiters.indexOf(waiter);
        if (i >= 0) this.slotWaiters.splice(i, 1);
        reject(abortReason(signal, what, timeoutMs));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.slotWaiters.push(waiter);
    });
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    // Hand the slot over directly so a burst of new requests cannot overtake the waiters.
    if (next) next.resolve();
    else this.inFlight--;
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const msg = err instanceof FrameError ? err.message : String(err);
      this.fail(new ProtocolError(`bad frame from ${this.address}: ${msg}`, { cause: err }));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.frameType !== FrameType.Response) {
        this.fail(new ProtocolError(`${this.address} sent a frame of type ${frame.frameType}, expected a response`));
        this.socket.destroy();
        return;
      }
      const p = this.pending.get(frame.correlationId);
      if (!p) continue; // timed out or aborted earlier: the late answer has nobody to go to
      this.pending.delete(frame.correlationId);
      p.resolve(frame);
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.socket.destroy();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
    const waiters = this.slotWaiters.splice(0);
    for (const w of waiters) w.reject(err);
    for (const l of this.closeListeners.splice(0)) l(err);
  }
}

const apiNames = new Map<number, string>(Object.entries(ApiKey).map(([k, v]) => [v, k]));
function apiKeyName(apiKey: number): string {
  return apiNames.get(apiKey) ?? `api#${apiKey}`;
}
