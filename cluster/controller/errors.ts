/** Typed errors of the controller. One class per condition, stable name and code. */

/** A command's bytes are not a well-formed command of a known version and opcode. */
export class CommandDecodeError extends Error {
  override readonly name = 'CommandDecodeError';
  readonly code = 'CONTROLLER_COMMAND_MALFORMED';
}

export class CommandTooLargeError extends Error {
  override readonly name = 'CommandTooLargeError';
  readonly code = 'CONTROLLER_COMMAND_TOO_LARGE';
  constructor(bytes: number, bytesMax: number) {
    super(`controller: command of ${bytes} bytes exceeds ${bytesMax}`);
  }
}

export class SnapshotDecodeError extends Error {
  override readonly name = 'SnapshotDecodeError';
  readonly code = 'CONTROLLER_SNAPSHOT_MALFORMED';
}

export class ControllerStoppedError extends Error {
  override readonly name = 'ControllerStoppedError';
  readonly code = 'CONTROLLER_STOPPED';
  constructor() {
    super('controller: not running');
  }
}
