/** Bad command-line usage: the CLI prints the message (and the command's help) and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
  /** The command whose help to show. */
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.command = command;
  }
}
