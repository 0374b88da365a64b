/**
 * One client connection: frames in, responses out, in any order, matched by
 * correlation id. Bounded everywhere: one partial frame (frameBytesMax),
 * inFlightRequestsMax requests being processed (more get TOO_MANY_REQUESTS),
 * and reading stops while unsent responses or in-flight request bytes pass
 * socketWriteBufferBytesMax. An unparsable stream closes this connection only;
 * a handler that throws answers that one request with an error.
 */
import type { Socket } from 'node:net';
import { apiLabel, type NodeMetrics } from '../metrics.ts';
import { API_VERSIONS, ApiKey } from '../protocol/api.ts';
import { ErrorCode, errorSpecByCode, RaftbusError } from '../protocol/errors.ts';
import { encodeFrame, type Frame, FrameDecoder, FrameError, type FrameHeader, FrameType } from '../protocol/frame.ts';
import type { Dispatcher, Reply, ReplyOrNone, RequestContext } from './dispatch.ts';
import type { Logger } from './logger.ts';
import type { RequestBudget } from './request-budget.ts';

export interface ConnectionLimits {
  frameBytesMax: number;
  inFlightRequestsMax: number;
  socketWriteBufferBytesMax: number;
  stalledConnectionTimeoutMs: number;
}

/** What every connection shares. */
export interface SharedLimits {
  budget: RequestBudget;
}

/** After end(), how long the peer gets to read the last responses before the socket is destroyed. */
const CLOSE_LINGER_MS = 2_000;

export class ClientConnection {
  readonly id: number;
  readonly remote: string;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly limits: ConnectionLimits;
  private readonly dispatcher: Dispatcher;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly ctx: RequestContext;
  private handshaken = false;
  private clientId = '';
  private inFlight = 0;
  private inFlightBytes = 0;
  private draining = false;
  private closed = false;
  private paused = false;
  private corked = false;
  private idleWaiters: (() => void)[] = [];
  private readonly closeWaiters: (() => void)[] = [];
  private readonly metrics: NodeMetrics | null;
  private readonly budget: RequestBudget;
  /** The decoder's partial-frame bytes as last charged to the budget. */
  private partialBytesCharged = 0;
  private readonly stopWatchingBudget: () => void;

  constructor(
    id: number,
    socket: Socket,
    dispatcher: Dispatcher,
    limits: ConnectionLimits,
    shared: SharedLimits,
    logger: Logger,
    metrics: NodeMetrics | null = null,
  ) {
    this.id = id;
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.limits = limits;
    this.dispatcher = dispatcher;
    this.logger = logger;
    this.metrics = metrics;
    this.budget = shared.budget;
    this.stopWatchingBudget = this.budget.onAvailable(() => this.updateReading());
    this.decoder = new FrameDecoder(limits.frameBytesMax);
    const conn = this;
    this.ctx = {
      signal: this.abort.signal,
      markHandshaken(clientId: string) {
        conn.handshaken = true;
        conn.clientId = clientId;
      },
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateReading());
    socket.on('error', (err) => this.logger.debug('client socket error', { conn: this.id, err: err.message }));
    socket.on('close', () => this.onClose());
    // Fires after this long without a byte either way. An idle client that finished its handshake and
    // sits between frames is fine; one that never handshakes or stops mid-frame holds a slot for nothing.
    socket.setTimeout(limits.stalledConnectionTimeoutMs);
    socket.on('timeout', () => {
      if (!this.handshaken || this.decoder.bufferedBytes > 0) {
        this.logger.info('closing stalled connection', {
          conn: this.id,
          remote: this.remote,
          handshaken: this.handshaken,
          partialFrameBytes: this.decoder.bufferedBytes,
        });
        this.metrics?.connectionsClosed.inc({ reason: 'stalled' });
        this.destroy();
      }
    });
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  /** True while reading is stopped for backpressure. */
  get isPaused(): boolean {
    return this.paused;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) {
        this.logger.info('closing connection: unparsable stream', {
          conn: this.id,
          remote: this.remote,
          err: err.message,
        });
      } else {
        this.logger.error('closing connection: frame decoder failed', { conn: this.id, err });
      }
      this.metrics?.connectionsClosed.inc({ reason: 'unparsable' });
      this.destroy();
      return;
    }
    this.chargePartialFrame();
    for (const frame of frames) {
      if (this.closed) return;
      this.onFrame(frame);
    }
    this.updateReading();
  }

  /** A partial frame is request memory too: charge what the decoder holds to the node's budget. */
  private chargePartialFrame(): void {
    const now = this.closed ? 0 : this.decoder.bufferedBytes;
    const delta = now - this.partialBytesCharged;
    if (delta > 0) this.budget.take(delta);
    else if (delta < 0) this.budget.give(-delta);
    this.partialBytesCharged = now;
  }

  private onFrame(frame: Frame): void {
    const startedMs = this.metrics ? performance.now() : 0;
    const header: FrameHeader = {
      frameType: FrameType.Response,
      apiKey: frame.apiKey,
      apiVersion: frame.apiVersion,
      correlationId: frame.correlationId,
    };
    try {
      this.admit(frame);
    } catch (err) {
      this.send(header, this.errorReply(err, frame), startedMs);
      return;
    }
    // Counted by its raw bytes plus a body allowance: what this request pins in memory until answered.
    const frameBytes = frame.raw.byteLength + 64;
    this.inFlight++;
    this.inFlightBytes += frameBytes;
    this.budget.take(frameBytes);
    let reply: ReplyOrNone | Promise<ReplyOrNone>;
    try {
      reply = this.dispatcher.handle(frame, this.ctx);
    } catch (err) {
      this.release(frameBytes);
      this.send(header, this.errorReply(err, frame), startedMs);
      return;
    }
    if (!(reply instanceof Promise)) {
      this.release(frameBytes);
      this.answer(header, reply, startedMs);
      return;
    }
    reply.then(
      (r) => {
        this.release(frameBytes);
        this.answer(header, r, startedMs);
      },
      (err: unknown) => {
        this.release(frameBytes);
        this.send(header, this.errorReply(err, frame), startedMs);
      },
    );
  }

  /** Throws the typed error a request gets before it reaches a handler. */
  private admit(frame: Frame): void {
    if (frame.frameType !== FrameType.Request) {
      throw new RaftbusError(ErrorCode.INVALID_REQUEST, { detail: 'a client sends request frames only' });
    }
    const versions = API_VERSIONS[frame.apiKey];
    if (!versions) throw new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: frame.apiKey });
    if (frame.apiVersion < versions[0] || frame.apiVersion > versions[1]) {
      throw new RaftbusError(ErrorCode.UNSUPPORTED_VERSION, {
        api: frame.apiKey,
        version: frame.apiVersion,
        min: versions[0],
        max: versions[1],
      });
    }
    if (!this.handshaken && frame.apiKey !== ApiKey.Handshake) throw new RaftbusError(ErrorCode.HANDSHAKE_REQUIRED);
    if (this.draining) throw new RaftbusError(ErrorCode.SHUTTING_DOWN);
    if (this.inFlight >= this.limits.inFlightRequestsMax) {
      throw new RaftbusError(ErrorCode.TOO_MANY_REQUESTS, { limit: this.limits.inFlightRequestsMax });
    }
  }

  private release(frameBytes: number): void {
    this.inFlight--;
    this.inFlightBytes -= frameBytes;
    this.budget.give(frameBytes);
    if (this.inFlight < 0 || this.inFlightBytes < 0) {
      throw new Error(`in-flight accounting went negative: ${this.inFlight} / ${this.inFlightBytes}`);
    }
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.updateReading();
  }

  private errorReply(err: unknown, frame: Frame): Reply {
    if (err instanceof RaftbusError) return { body: { error: err.toWire() } };
    this.logger.error('request handler failed', { conn: this.id, apiKey: frame.apiKey, err });
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { body: { error: new RaftbusError(ErrorCode.UNKNOWN_SERVER_ERROR, { detail }).toWire() } };
  }

  /** Sends a reply, or for acks=none (null) only counts the request. */
  private answer(header: FrameHeader, reply: ReplyOrNone, startedMs: number): void {
    if (reply) this.send(header, reply, startedMs);
    else this.count(header.apiKey, 'ok', startedMs);
  }

  private count(apiKey: number, outcome: string, startedMs: number): void {
    if (!this.metrics) return;
    const api = apiLabel(apiKey);
    this.metrics.requests.inc({ api, outcome });
    this.metrics.requestSeconds.observe({ api }, (performance.now() - startedMs) / 1000);
  }

  private send(header: FrameHeader, reply: Reply, startedMs: number): void {
    if (this.metrics) {
      const err = (reply.body as { error?: { code?: unknown } } | null)?.error;
      const outcome = err && typeof err.code === 'number' ? errorSpecByCode(err.code).name : 'ok';
      this.count(header.apiKey, outcome, startedMs);
    }
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    let buffers: Buffer[];
    try {
      buffers = encodeFrame(header, reply.body, reply.raw ?? [], this.limits.frameBytesMax);
    } catch (err) {
      // A response that cannot be framed (too large, unencodable) still answers its request.
      this.logger.error('response could not be encoded', { conn: this.id, apiKey: header.apiKey, err });
      const wire =
        err instanceof RaftbusError
          ? err.toWire()
          : new RaftbusError(ErrorCode.UNKNOWN_SERVER_ERROR, { detail: String(err) }).toWire();
      buffers = encodeFrame(header, { error: wire }, [], this.limits.frameBytesMax);
    }
    // Cork for the rest of this tick so responses finishing together leave in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    for (const b of buffers) this.socket.write(b);
    this.updateReading();
  }

  /** Reads only while unsent responses and in-flight requests stay under their bound. */
  private updateReading(): void {
    if (this.closed) return;
    const over =
      this.socket.writableLength > this.limits.socketWriteBufferBytesMax ||
      this.inFlightBytes > this.limits.socketWriteBufferBytesMax ||
      // Over the node's budget, no connection starts a new frame; one already mid-frame may finish it
      // (at most frameBytesMax more), or frames that would free the budget could never complete.
      (this.budget.exhausted && this.decoder.bufferedBytes === 0);
    if (over && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!over && this.paused && !this.draining) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Stops taking new requests: later frames get SHUTTING_DOWN. Resolves when none is in flight. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ends the connection after the pending responses are written. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.socket.end();
    const timer = setTimeout(() => this.destroy(), CLOSE_LINGER_MS);
    timer.unref();
    return done;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.chargePartialFrame();
    this.stopWatchingBudget();
    this.abort.abort();
    const waiters = [...this.closeWaiters, ...this.idleWaiters];
    this.idleWaiters = [];
    for (const w of waiters) w();
    this.logger.debug('connection closed', { conn: this.id, clientId: this.clientId });
  }
}
