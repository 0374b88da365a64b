/** Typed transport errors: one class per condition, stable `name` and `code`. */

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  readonly code = 'TRANSPORT_FRAME_TOO_LARGE';
  constructor(frameBytes: number, frameBytesMax: number) {
    super(`transport: frame of ${frameBytes} bytes exceeds the limit of ${frameBytesMax}`);
  }
}

export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
  readonly code = 'TRANSPORT_FRAME_INVALID';
}

export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  readonly code = 'TRANSPORT_HANDSHAKE_FAILED';
}

export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
  readonly code = 'TRANSPORT_CONFIG_INVALID';
}
