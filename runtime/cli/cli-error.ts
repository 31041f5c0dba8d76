/** An error meant for the user: printed as one line, exits with `exitCode`. Never a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly code?: string) {
    super(message);
  }
}
