/**
 * An error that stops start-up for a reason the user can fix: a bad setting,
 * a port in use, a migration that does not apply. Its message is the whole
 * story (what is wrong and what to do), so `npm start`, the worker and the
 * db:* commands print it as it is, without a stack trace; any other error is
 * a bug and is printed with its stack.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The text to show for a failed start: the message of a StartupError, the stack of anything else. */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof StartupError) return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
