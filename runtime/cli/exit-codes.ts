// Exit codes of the `bulkhead` command. A guest's own exit code passes through unchanged (0-255,
// as its proc_exit gave it, truncated to 8 bits like any Unix process); the codes below are what
// bulkhead itself uses when the guest did not get to choose. Documented in README.md.
export const ExitCode = {
  OK: 0,
  /** Generic failure of a bulkhead command (verification failed, not found, ...). */
  FAILURE: 1,
  /** The guest ran past --timeout and was terminated. Same as coreutils `timeout`. */
  TIMEOUT: 124,
  /** Bad input: usage error, unreadable/invalid module, bad flag value. Same as `docker run`. */
  BAD_INPUT: 125,
  /** The sandbox could not be set up (a preopen is missing, the host failed). */
  SANDBOX_ERROR: 126,
  /** The guest trapped (unreachable, out-of-bounds access, stack overflow...). 128+SIGABRT, as wasmtime. */
  TRAP: 134,
  /** The guest hit its memory cap. 128+SIGKILL, the code an OOM kill gives. */
  MEMORY_LIMIT: 137,
} as const;
