/**
 * Log recycling (durability 'sync'): a log that a checkpoint retires is kept as the directory's
 * spare (`spare.wal`) instead of being deleted, and the next log is made from it. Its blocks are
 * already written and synced, so records go into it as into preallocated space: no zero fill
 * and no journal commit until they pass its old size. In a store whose size holds steady, that
 * halves the bytes written to its logs (bench/README, "Log recycling").
 *
 * Guarantees:
 * - A recycled log never replays its old records. They stay in the file past the new records,
 *   but a record must carry the log's salt (log-format.ts), and a recycled log's salt is the
 *   previous one plus 1 (never 0, wrapping from 2^32 - 1 to 1): up to 2^32 - 1 generations of a
 *   file each have a salt of their own, so the first stale byte after the new records ends the
 *   log. (With the old salt kept, a crash right
 *   after the log was recycled would replay every old record: the lab's `bank/recycle-same-salt`
 *   shows it.)
 * - Taking the spare is a rename into the new log's temp name, then the log is made as a new one
 *   is (log-file.ts): header written and synced, renamed into its name, directory synced. After
 *   a crash at any step the file is the spare, a temp that recovery sweeps away, or the new log;
 *   while renames are not yet durable it may also be the spare or the retired log under its old
 *   name, carrying the new header. Either is harmless: a retired log's number is below the first
 *   log the data file names (recovery removes it), and a spare's salt differs from every earlier
 *   one of its file.
 * - Retiring is a rename of a log the data file already covers (the data file's rename into
 *   place is synced first), cut to at most a cap (store.ts: twice the checkpoint threshold or the
 *   data file, whichever is larger), so that a log that once grew large does not keep every later
 *   log, and the reading of each at recovery, that large.
 * - A spare that is not a usable log (a foreign or damaged file under the name, or one that fails
 *   to open or read) is removed, and the new log is made from scratch. Nothing in a spare is
 *   needed (the data file covers its records), so a storage error opening or reading one never
 *   fails a checkpoint or an open (a bug is rethrown). Anything under the name that is not a
 *   file is left alone. A store that does not recycle removes the spare at open.
 */
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import { joinPath } from '../storage/paths.js';
import type { FileHandle, Storage } from '../storage/storage.js';
import { decodeLogHeader, logHeaderBytes } from './log-format.js';

export const spareLogName = 'spare.wal';

/** What a spare brings to the log made from it. */
interface TakenSpare {
  /** The salt of the log it was: the new log's salt must differ from it (see recycledSalt). */
  readonly previousSalt: number;
  /** Its size: written and synced up to here. */
  readonly fileBytes: number;
  /** The file, now under the temp name, open for reading and writing; the caller closes it. */
  readonly handle: FileHandle;
}

/** Keeps the retired log at `logPath` as the spare (replacing any older spare), cut to `capBytes` at most. */
export async function retireToSpare(storage: Storage, directory: string, logPath: string, capBytes: number): Promise<void> {
  if ((await storage.stat(logPath)).sizeBytes > capBytes) {
    const handle = await storage.open(logPath, 'r+');
    try {
      await handle.truncate(capBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  await storage.rename(logPath, joinPath(directory, spareLogName));
}

/** Removes the spare, if there is one and it is a file (a store that does not recycle its logs). */
export async function removeSpare(storage: Storage, directory: string): Promise<void> {
  const sparePath = joinPath(directory, spareLogName);
  try {
    if ((await storage.stat(sparePath)).kind === 'file') await storage.unlink(sparePath);
  } catch (error) {
    if (!isCarveError(error, ErrorCodes.ENOENT)) throw error;
  }
}

/**
 * Moves the spare to `tempPath` and opens it there, if there is a usable one. One that is not
 * (foreign, damaged, or failing to open or read) is removed: undefined.
 */
export async function takeSpare(storage: Storage, directory: string, tempPath: string): Promise<TakenSpare | undefined> {
  const sparePath = joinPath(directory, spareLogName);
  let fileBytes: number;
  try {
    const stat = await storage.stat(sparePath);
    if (stat.kind !== 'file') return undefined;
    fileBytes = stat.sizeBytes;
    await storage.rename(sparePath, tempPath);
  } catch (error) {
    if (isCarveError(error, ErrorCodes.ENOENT)) return undefined;
    throw error;
  }
  try {
    const handle = await storage.open(tempPath, 'r+');
    try {
      const header = decodeLogHeader(await handle.read(logHeaderBytes, 0), tempPath);
      return { previousSalt: header.salt, fileBytes, handle };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  } catch (error) {
    if (!(error instanceof CarveError)) throw error; // a bug, not a bad spare
    // Should the unlink fail too, the fresh log's open truncates the file (log-file.ts).
    await storage.unlink(tempPath).catch(() => undefined);
    return undefined;
  }
}

/** The salt of a log recycled from one salted `previousSalt`: the next one, skipping 0 (no record has it). */
export function recycledSalt(previousSalt: number): number {
  return (previousSalt % (2 ** 32 - 1)) + 1;
}
