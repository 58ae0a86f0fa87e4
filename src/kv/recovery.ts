/**
 * Recovery of a store directory: load the data file (if any), then replay, in order, every log
 * numbered from the one the data file names.
 *
 * - A torn tail (unsynced bytes after a crash) is cut off. So is the part of a log past what a
 *   failed sync in this process left durable: those commits were refused. Trailing zeros are
 *   preallocated space, and the bytes after a recycled log's records are its old records
 *   (log-recycling.ts): both harmless in an earlier log, cut off the last one with its torn tail.
 * - A spare log (`spare.wal`) is left as it is (only a new log is ever made from it), or removed
 *   for a store that does not recycle its logs (`keepSpare` false).
 * - Each log's header says how far its predecessor was durable, and written, when it began. A
 *   predecessor shorter than its durable length is corruption. One that lost or tore bytes past
 *   that point (durability 'none') ends the replay there: later logs are dropped, so what
 *   survives is a prefix of the commits.
 * - Corruption in synced data, a foreign file under a store name, or a missing log is a typed
 *   error naming the file; nothing is modified before every file has been read and judged. So
 *   is an earlier log with records past where it had been written when the next log began.
 * - The last log's valid bytes are rewritten and synced. Recovery may have read them from a
 *   page cache that a failed sync had marked clean, and a later log will claim them durable.
 * - Leftover temp files, and logs the data file already covers, are removed.
 */
import { isTempName } from '../durable/temp-names.js';
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import { readFileIfExists } from '../storage/files.js';
import { joinPath, parentPath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';
import { appendBatchChanges } from './batch-codec.js';
import { dataFileName, parseDataFileLatin1 } from './data-file.js';
import { type ActiveLog, failedLogs, isLogTempName, logNumberOf } from './log-file.js';
import { type ReadLog, logHeaderBytes, parseLog } from './log-format.js';
import { removeSpare, spareLogName } from './log-recycling.js';

/** A log before the active one that the data file does not cover yet. */
export interface RetiredLog {
  readonly logNumber: number;
  readonly bytes: number;
}

export interface Recovered {
  /** The data file's keys and values (latin1 strings), in its (ascending) order; empty without one. */
  readonly checkpointKeys: string[];
  readonly checkpointValues: string[];
  /**
   * Then the logs' changes, in commit order, to apply on top: key, new value (undefined for a
   * delete), key, new value, and so on (latin1 strings).
   */
  readonly replayed: Array<string | undefined>;
  readonly sequence: number;
  /** The number the next new log gets. */
  readonly nextLogNumber: number;
  /** Logs replayed, still needed until the next checkpoint, with their bytes (each up to the end of its records). */
  readonly liveLogs: RetiredLog[];
  /** The last log, when it holds no record: reused for new commits instead of a new one. */
  readonly emptyLastLog: Omit<ActiveLog, 'handle' | 'space'> | undefined;
  /** How far the last replayed log is durable (for the next log's header). */
  readonly lastLogDurableBytes: number;
  /** The data file's size (0 if there is none). */
  readonly dataFileBytes: number;
}

/**
 * Creates the store's directory durably if it is missing and allowed to be created. When it may
 * not be, a directory that holds no store is refused here, before the lock leaves a LOCK file in
 * it (recoverDirectory checks again, under the lock).
 */
export async function ensureStoreDirectory(storage: Storage, directory: string, createIfMissing: boolean): Promise<void> {
  let kind: 'file' | 'directory' | undefined;
  try {
    kind = (await storage.stat(directory)).kind;
  } catch (error) {
    if (!isCarveError(error, ErrorCodes.ENOENT)) throw error;
  }
  if (kind === 'file') throw new CarveError(ErrorCodes.ENOTDIR, 'the database path is not a directory', { path: directory });
  if (kind === 'directory') {
    if (!createIfMissing && !holdsAStore(await storage.readdir(directory))) throw noStoreError(directory);
    return;
  }
  if (!createIfMissing) throw noStoreError(directory);
  await storage.mkdir(directory);
  await storage.syncDir(parentPath(directory));
}

/** A directory holds a store once it has a data file or a log. */
function holdsAStore(names: readonly string[]): boolean {
  return names.some((name) => name === dataFileName || logNumberOf(name) !== undefined);
}

function noStoreError(directory: string): CarveError {
  return new CarveError(ErrorCodes.ENOENT, 'the database does not exist (createIfMissing is off)', { path: directory });
}

interface LogToReplay {
  readonly name: string;
  readonly number: number;
  readonly path: string;
  readonly parsed: ReadLog;
  /** Replay and keep bytes up to here. */
  keepBytes: number;
}

export async function recoverDirectory(
  storage: Storage,
  directory: string,
  createIfMissing: boolean,
  options: { keepSpare: boolean },
): Promise<Recovered> {
  const names = await storage.readdir(directory);
  let firstLogNumber = 1;
  let checkpointKeys: string[] = [];
  let checkpointValues: string[] = [];
  const dataPath = joinPath(directory, dataFileName);
  const dataBytes = names.includes(dataFileName) ? await readFileIfExists(storage, dataPath) : undefined;
  if (dataBytes !== undefined) {
    ({ firstLogNumber, keys: checkpointKeys, values: checkpointValues } = parseDataFileLatin1(dataBytes, dataPath));
  }
  const logs = names
    .map((name) => ({ name, number: logNumberOf(name) }))
    .filter((log): log is { name: string; number: number } => log.number !== undefined)
    .sort((a, b) => a.number - b.number);
  if (!createIfMissing && !holdsAStore(names)) throw noStoreError(directory);
  const stale = logs.filter((log) => log.number < firstLogNumber);
  const live = logs.filter((log) => log.number >= firstLogNumber);
  if (dataBytes !== undefined && live.length === 0) {
    throw new CarveError(ErrorCodes.CORRUPT, `log number ${firstLogNumber} is missing (the data file names it as the first to replay)`, {
      path: dataPath,
    });
  }
  // Read and judge every log before changing anything.
  const toReplay: LogToReplay[] = [];
  for (const log of live) {
    const path = joinPath(directory, log.name);
    const parsed = parseLog((await readFileIfExists(storage, path)) ?? new Uint8Array(0), path);
    if (parsed.header.logNumber !== log.number) {
      throw new CarveError(ErrorCodes.CORRUPT, `log header says number ${parsed.header.logNumber}`, { path, offset: 12 });
    }
    const refusedFrom = failedLogs.get(storage.locationOf(path));
    const keepBytes = Math.min(parsed.validEndOffset, refusedFrom ?? Infinity);
    toReplay.push({ name: log.name, number: log.number, path, parsed, keepBytes });
  }
  live.forEach((log, i) => {
    if (log.number !== firstLogNumber + i) {
      const why = i === 0 && dataBytes !== undefined ? 'the data file names it as the first to replay' : 'the sequence has a gap';
      throw new CarveError(ErrorCodes.CORRUPT, `log number ${firstLogNumber + i} is missing (${why})`, {
        path: joinPath(directory, log.name),
      });
    }
  });

  let replayCount = toReplay.length;
  for (let i = 0; i + 1 < toReplay.length; i++) {
    const log = toReplay[i]!;
    const { previousLogDurableBytes: durableBytes, previousLogWrittenBytes: writtenBytes } = toReplay[i + 1]!.parsed.header;
    if (log.parsed.validEndOffset < durableBytes) {
      throw new CarveError(ErrorCodes.CORRUPT, `log ends at ${log.parsed.validEndOffset} B but was durable up to ${durableBytes} B`, {
        path: log.path,
        offset: log.parsed.validEndOffset,
      });
    }
    // Nothing is written to a log once the next one has begun: a record past that point is not
    // its own (a second defence, after the salt, against a recycled log's old records).
    if (writtenBytes >= logHeaderBytes && log.parsed.validEndOffset > writtenBytes) {
      throw new CarveError(ErrorCodes.CORRUPT, `log has records up to ${log.parsed.validEndOffset} B, past the ${writtenBytes} B it had when the next log began`, {
        path: log.path,
        offset: writtenBytes,
      });
    }
    // Past what it had written when the next log began, a log holds only zeros (preallocated
    // space) or, if it was recycled, its old records: neither is a lost or torn write.
    if (log.keepBytes < Math.max(writtenBytes, log.parsed.validEndOffset)) {
      replayCount = i + 1; // Lost or torn past its durable end: nothing after it may be replayed.
      break;
    }
  }

  let sequence = 0;
  const changes: Array<string | undefined> = [];
  for (const log of toReplay.slice(0, replayCount)) {
    for (const record of log.parsed.records) {
      if (record.offset >= log.keepBytes) break;
      sequence = Math.max(sequence, appendBatchChanges(record.payload, log.path, record.offset, changes));
    }
  }

  // Judged and replayed: now the directory may change.
  const replayed = toReplay.slice(0, replayCount);
  for (const log of toReplay.slice(replayCount)) await storage.unlink(log.path);
  const last = replayed[replayed.length - 1];
  for (const log of replayed) {
    const fileBytes = log.parsed.bytes.length;
    // An earlier log keeps what follows its records (zeros, or a recycled log's old records);
    // the last one is cut back to its records.
    if (log !== last && log.keepBytes === log.parsed.validEndOffset) continue;
    const handle = await storage.open(log.path, 'r+');
    if (log.keepBytes < fileBytes) await handle.truncate(log.keepBytes);
    if (log === last && log.keepBytes > logHeaderBytes) {
      await handle.write(log.parsed.bytes.subarray(logHeaderBytes, log.keepBytes), logHeaderBytes);
    }
    await handle.sync();
    await handle.close();
    failedLogs.delete(storage.locationOf(log.path));
  }
  for (const name of names.filter((n) => isTempName(n) || isLogTempName(n))) {
    await storage.unlink(joinPath(directory, name));
  }
  for (const log of stale) await storage.unlink(joinPath(directory, log.name));
  if (!options.keepSpare && names.includes(spareLogName)) await removeSpare(storage, directory);
  if (toReplay.length > replayCount || stale.length > 0) await storage.syncDir(directory);

  const lastIsEmpty = last !== undefined && last.keepBytes === logHeaderBytes;
  const liveReplayed = replayed.filter((log) => !(lastIsEmpty && log === last));
  const highest = last?.number ?? Math.max(firstLogNumber - 1, logs[logs.length - 1]?.number ?? 0);
  return {
    checkpointKeys,
    checkpointValues,
    replayed: changes,
    sequence,
    dataFileBytes: dataBytes?.length ?? 0,
    nextLogNumber: highest + 1,
    liveLogs: liveReplayed.map((log) => ({ logNumber: log.number, bytes: log.keepBytes })),
    emptyLastLog: lastIsEmpty
      ? {
          path: last.path,
          logNumber: last.number,
          salt: last.parsed.header.salt,
          endOffsetBytes: logHeaderBytes,
          durableOffsetBytes: logHeaderBytes,
        }
      : undefined,
    lastLogDurableBytes: last?.keepBytes ?? 0,
  };
}
