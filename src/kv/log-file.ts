/**
 * Log files of a store directory: naming (log-000001.wal, numbered in order), and creating a
 * new log durably before any commit is acknowledged in it. A log is created the way a file is
 * replaced atomically: header into an exclusive temp, fsync, rename into its name, fsync of the
 * directory. So a file under a log name always has a whole header, and a crash mid-creation
 * leaves only a temp that recovery sweeps away.
 */
import { renameIntoPlace } from '../durable/replace.js';
import { joinPath } from '../storage/paths.js';
import type { FileHandle, Storage } from '../storage/storage.js';
import { encodeLogHeader, logHeaderBytes } from './log-format.js';

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

/** The log being appended to. `endOffsetBytes` is where the next group goes. */
export interface ActiveLog {
  readonly handle: FileHandle;
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

export async function createLog(
  storage: Storage,
  directory: string,
  logNumber: number,
  random: () => number,
  previous: { durableBytes: number; writtenBytes: number },
): Promise<ActiveLog> {
  const path = joinPath(directory, logFileName(logNumber));
  const salt = 1 + Math.floor(random() * (2 ** 32 - 2));
  const tempPath = `${path}${logTempSuffix}`;
  const handle = await storage.open(tempPath, 'wx');
  try {
    const header = { logNumber, salt, previousLogDurableBytes: previous.durableBytes, previousLogWrittenBytes: previous.writtenBytes };
    await handle.write(encodeLogHeader(header), 0);
    await handle.sync();
    await renameIntoPlace(storage, tempPath, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await storage.unlink(tempPath).catch(() => undefined);
    throw error;
  }
  // The handle still names the same inode, now under the log's own name.
  return { handle, path, logNumber, salt, endOffsetBytes: logHeaderBytes, durableOffsetBytes: logHeaderBytes };
}
