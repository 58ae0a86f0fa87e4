/**
 * Typed errors. Every error Carve raises on purpose is a CarveError with a stable `code`,
 * the path it concerns and, where there is one, the byte offset. File-system codes keep
 * their POSIX names so that the real disk and the simulator report the same failure alike.
 */

export const ErrorCodes = {
  // File-system conditions, named as POSIX names them.
  ENOENT: 'ENOENT',
  EEXIST: 'EEXIST',
  EISDIR: 'EISDIR',
  ENOTDIR: 'ENOTDIR',
  ENOTEMPTY: 'ENOTEMPTY',
  EBADF: 'EBADF',
  EINVAL: 'EINVAL',
  EIO: 'EIO',
  ENOSPC: 'ENOSPC',
  EBUSY: 'EBUSY',
  EACCES: 'EACCES',
  EPERM: 'EPERM',
  EROFS: 'EROFS',
  EXDEV: 'EXDEV',
  EMFILE: 'EMFILE',
  ENAMETOOLONG: 'ENAMETOOLONG',
  ELOOP: 'ELOOP',
  // Carve's own conditions.
  PATH_OUTSIDE_ROOT: 'E_PATH_OUTSIDE_ROOT',
  INVALID_PATH: 'E_INVALID_PATH',
  INVALID_MODE: 'E_INVALID_MODE',
  INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  HANDLE_CLOSED: 'E_HANDLE_CLOSED',
  UNKNOWN_SCENARIO: 'E_UNKNOWN_SCENARIO',
  UNKNOWN_VARIANT: 'E_UNKNOWN_VARIANT',
  UNKNOWN_PROFILE: 'E_UNKNOWN_PROFILE',
  UNKNOWN_DEVICE: 'E_UNKNOWN_DEVICE',
  BAD_REPLAY_ID: 'E_BAD_REPLAY_ID',
  REPLAY_MISMATCH: 'E_REPLAY_MISMATCH',
  CORRUPT: 'E_CORRUPT',
  FOREIGN_FILE: 'E_FOREIGN_FILE',
  KV_LIMIT: 'E_KV_LIMIT',
  DB_LOCKED: 'E_DB_LOCKED',
  DB_FAILED: 'E_DB_FAILED',
  DB_CLOSED: 'E_DB_CLOSED',
  /** NodeStorage's file locks (FileHandle.tryLock) have no build for this platform (storage/node.ts). */
  LOCKS_UNSUPPORTED: 'E_LOCKS_UNSUPPORTED',
  // Checkpoints (src/checkpoint); E_CORRUPT and E_FOREIGN_FILE above serve them too.
  TRUNCATED: 'E_TRUNCATED',
  UNSUPPORTED_FORMAT: 'E_UNSUPPORTED_FORMAT',
  CHECKPOINT_RUNNING: 'E_CHECKPOINT_RUNNING',
  CHECKPOINTER_CLOSED: 'E_CHECKPOINTER_CLOSED',
  PAGE_OUT_OF_RANGE: 'E_PAGE_OUT_OF_RANGE',
  WORKER_FAILED: 'E_WORKER_FAILED',
  // The shared journal (src/journal); E_CORRUPT, E_FOREIGN_FILE, E_TRUNCATED and E_UNSUPPORTED_FORMAT above serve it too.
  JOURNAL_FAILED: 'E_JOURNAL_FAILED',
  QUEUE_FULL: 'E_QUEUE_FULL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** File-system error codes that NodeStorage passes through from the operating system. */
const passThroughCodes = new Set<string>([
  ErrorCodes.ENOENT,
  ErrorCodes.EEXIST,
  ErrorCodes.EISDIR,
  ErrorCodes.ENOTDIR,
  ErrorCodes.ENOTEMPTY,
  ErrorCodes.EBADF,
  ErrorCodes.EINVAL,
  ErrorCodes.EIO,
  ErrorCodes.ENOSPC,
  ErrorCodes.EBUSY,
  ErrorCodes.EACCES,
  ErrorCodes.EPERM,
  ErrorCodes.EROFS,
  ErrorCodes.EXDEV,
  ErrorCodes.EMFILE,
  ErrorCodes.ENAMETOOLONG,
  ErrorCodes.ELOOP,
]);

export interface CarveErrorDetails {
  path?: string;
  offset?: number;
  cause?: unknown;
}

export class CarveError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly offset: number | undefined;
  /** The message without the code and the place. */
  readonly detail: string;

  constructor(code: ErrorCode, message: string, details: CarveErrorDetails = {}) {
    const places = [
      details.path === undefined ? undefined : `path: ${details.path}`,
      details.offset === undefined ? undefined : `offset: ${details.offset}`,
    ].filter((place) => place !== undefined);
    const where = places.length === 0 ? '' : ` (${places.join(', ')})`;
    super(`${code}: ${message}${where}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CarveError';
    this.code = code;
    this.path = details.path;
    this.offset = details.offset;
    this.detail = message;
  }
}

/** An error's message, or the thrown value as text when it is not an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isCarveError(error: unknown, code?: ErrorCode): error is CarveError {
  return error instanceof CarveError && (code === undefined || error.code === code);
}

/** Converts an error thrown by node:fs into a CarveError that names the storage-relative path. */
export function fromSystemError(error: unknown, path: string): CarveError {
  if (error instanceof CarveError) return error;
  const systemCode = (error as { code?: unknown } | null)?.code;
  if (typeof systemCode === 'string' && passThroughCodes.has(systemCode)) {
    const message = (error as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return new CarveError(systemCode as ErrorCode, message, { path, cause: error });
  }
  const message = messageOf(error);
  return new CarveError(ErrorCodes.EIO, `unexpected system error: ${message}`, { path, cause: error });
}

/** Asserts an invariant. A failure is a bug in Carve, never a control path. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}

export class AssertionFailure extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'AssertionFailure';
  }
}
