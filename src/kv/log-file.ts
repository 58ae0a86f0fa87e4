/**
 * Log files of a store directory: naming (log-000001.wal, numbered in order), and creating a
 * new log durably before any commit is acknowledged in it. A log is created the way a file is
 * replaced atomically: header into a temp (created exclusively, or the spare renamed to the
 * temp's name), fsync, rename into its name, fsync of the directory. So a file under a log name
 * always has a whole header, and a crash mid-creation leaves only a temp that recovery sweeps
 * away (or the spare, log-recycling.ts).
 *
 * With durability 'sync' a log is written through an O_DSYNC handle (each group's write is
 * durable when it returns: one call, not a write and then an fdatasync), and its space is
 * preallocated with zeros ahead of the records (log-space.ts); a new log starts with its first
 * fill already written, or is made from the directory's spare, a retired log whose whole size
 * is then its preallocated space (log-recycling.ts).
 */
import { CarveError, ErrorCodes, isCarveError, messageOf } from '../errors.js';
import { joinPath } from '../storage/paths.js';
import type { FileHandle, Storage } from '../storage/storage.js';
import type { Durability } from './group-commit.js';
import { defaultLogPreallocationBytes } from './limits.js';
import { encodeLogHeader, logHeaderBytes } from './log-format.js';
import { LogSpace, firstFillBytes } from './log-space.js';
import { recycledSalt, takeSpare } from './log-recycling.js';

const logNamePattern = /^log-(\d{6,})\.wal$/;
export const logTempSuffix = '.tmp';

export function isLogTempName(name: string): boolean {
  return name.startsWith('log-') && name.endsWith(`.wal${logTempSuffix}`);
}

export function logFileName(logNumber: number): string {
  return `log-${String(logNumber).padStart(6, '0')}.wal`;
}

export function logNumberOf(name: string): number | undefined {
  const match = logNamePattern.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** How a log is written: O_DSYNC or not, the preallocation chunk (0: none), recycled or not. */
export interface LogWriting {
  readonly dsync: boolean;
  readonly preallocationBytes: number;
  /** New logs are made from the directory's spare when there is one (log-recycling.ts). */
  readonly recycle: boolean;
  /** Unsafe, for the crash lab only: a recycled log keeps its old salt. */
  readonly recycledLogKeepsSalt: boolean;
}

/**
 * How a store with this durability writes its log: with 'sync', through an O_DSYNC handle into
 * space preallocated `preallocationBytes` at a time (log-space.ts), and recycled unless
 * preallocation is off; with 'none', plainly.
 */
export function logWritingFor(
  durability: Durability,
  preallocationBytes = defaultLogPreallocationBytes,
  recycling: { recycle?: boolean; recycledLogKeepsSalt?: boolean } = {},
): LogWriting {
  const sync = durability === 'sync';
  const chunk = sync ? preallocationBytes : 0;
  const recycle = chunk > 0 && (recycling.recycle ?? true);
  return { dsync: sync, preallocationBytes: chunk, recycle, recycledLogKeepsSalt: recycle && recycling.recycledLogKeepsSalt === true };
}

/** The log being appended to. `endOffsetBytes` is where the next group goes. */
export interface ActiveLog {
  readonly handle: FileHandle;
  /** Preallocated space ahead of the records, when preallocating. */
  readonly space: LogSpace | undefined;
  readonly path: string;
  readonly logNumber: number;
  readonly salt: number;
  endOffsetBytes: number;
  /** The log is known durable up to here (synced). */
  durableOffsetBytes: number;
}

/**
 * Logs whose sync failed in this process, with how far they were durable. The page cache may
 * still hold the failed group's bytes (Linux marks them clean), so a reopen in this process
 * cuts the log back to its durable length instead of replaying commits that were refused.
 */
export const failedLogs = new Map<string, number>();

/**
 * createLog failed after the new log took its name. The new log's header says where the previous
 * one ended, and recovery refuses a log with records past that point: the previous log must take
 * no more records, so the store fails, as on a failed sync, until it is reopened.
 */
export class NewLogInPlaceError extends CarveError {
  constructor(path: string, cause: unknown) {
    super(
      ErrorCodes.DB_FAILED,
      `the new log took its name but could not be made ready (${messageOf(cause)}); the log before it takes no more records, and the database must be reopened to recover from disk`,
      { path, cause },
    );
  }
}

/**
 * Makes log `logNumber`, durably: from the spare when logs are recycled and one is usable (its
 * handle, from takeSpare, is the one written, synced and closed here), fresh otherwise (zeros
 * written up to its first fill, when preallocating). The header is written and synced under a
 * temp name, renamed into place, and the directory synced. A failure before the rename removes
 * the temp, best effort (one left behind is truncated by the next try); a failure after it is a
 * NewLogInPlaceError.
 */
export async function createLog(
  storage: Storage,
  directory: string,
  logNumber: number,
  random: () => number,
  previous: { durableBytes: number; writtenBytes: number },
  writing: LogWriting,
): Promise<ActiveLog> {
  const path = joinPath(directory, logFileName(logNumber));
  const tempPath = `${path}${logTempSuffix}`;
  const spare = writing.recycle ? await takeSpare(storage, directory, tempPath) : undefined;
  const salt =
    spare === undefined
      ? 1 + Math.floor(random() * (2 ** 32 - 2))
      : writing.recycledLogKeepsSalt
        ? spare.previousSalt
        : recycledSalt(spare.previousSalt);
  // 'w', not 'wx': a temp under this name is stale (left by a failed try in this process; the
  // directory lock keeps other processes out), and must not block the log.
  const handle = spare?.handle ?? (await storage.open(tempPath, 'w'));
  let preallocatedBytes = logHeaderBytes;
  try {
    const header = encodeLogHeader({ logNumber, salt, previousLogDurableBytes: previous.durableBytes, previousLogWrittenBytes: previous.writtenBytes });
    await handle.write(header, 0);
    preallocatedBytes = spare === undefined ? await preallocateFirstChunk(handle, writing.preallocationBytes) : spare.fileBytes;
    await handle.sync();
    // Not renameIntoPlace (durable/replace.ts): a failure after the rename must be told apart.
    await storage.rename(tempPath, path);
  } catch (error) {
    await storage.unlink(tempPath).catch(() => undefined);
    throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
  try {
    await storage.syncDir(directory);
    const log = { path, logNumber, salt, endOffsetBytes: logHeaderBytes, durableOffsetBytes: logHeaderBytes };
    return await openLogForAppend(storage, log, writing, preallocatedBytes);
  } catch (error) {
    throw new NewLogInPlaceError(path, error);
  }
}

/**
 * Zeros after the header, up to the first fill's size (log-space.ts); returns how far the file
 * is then written. A full disk only means no preallocation: the log starts anyway, and grows as
 * it is written.
 */
async function preallocateFirstChunk(handle: FileHandle, chunkBytes: number): Promise<number> {
  const firstBytes = Math.min(chunkBytes, firstFillBytes);
  if (firstBytes <= logHeaderBytes) return logHeaderBytes;
  try {
    await handle.write(Buffer.alloc(firstBytes - logHeaderBytes), logHeaderBytes);
    return firstBytes;
  } catch (error) {
    if (isCarveError(error, ErrorCodes.ENOSPC)) return logHeaderBytes;
    throw error;
  }
}

/**
 * Opens an existing log (whole and synced up to `endOffsetBytes`, and written and synced up to
 * `preallocatedBytes`) to append to it.
 */
export async function openLogForAppend(
  storage: Storage,
  log: Omit<ActiveLog, 'handle' | 'space'>,
  writing: LogWriting,
  preallocatedBytes = log.endOffsetBytes,
): Promise<ActiveLog> {
  const handle = await storage.open(log.path, 'r+', undefined, { dsync: writing.dsync });
  if (writing.preallocationBytes === 0) return { ...log, handle, space: undefined };
  let fillHandle: FileHandle | undefined;
  try {
    fillHandle = await storage.open(log.path, 'r+', undefined, { dsync: true });
    return { ...log, handle, space: new LogSpace(fillHandle, preallocatedBytes, writing.preallocationBytes) };
  } catch (error) {
    await fillHandle?.close().catch(() => undefined);
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Ends preallocation (waiting for a fill in flight) and closes the log's handles. With
 * `trimSpare` (a clean close of a log that never failed), the zeros after the records are cut
 * off first: the records are durable already, and a crash during the cut leaves either size.
 */
export async function closeLog(log: ActiveLog, options: { trimSpare?: boolean } = {}): Promise<void> {
  try {
    await log.space?.finish();
    if (options.trimSpare === true && log.space !== undefined) await log.handle.truncate(log.endOffsetBytes);
  } finally {
    await log.handle.close();
  }
}
