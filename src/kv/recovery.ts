/**
 * Recovery of a store directory: load the data file (if any), then replay, in order, every log
 * numbered from the one the data file names. A torn tail (unsynced bytes after a crash) is cut
 * off and synced; corruption in synced data, a foreign file under a store name, or a missing
 * log in the sequence is a typed error naming the file, and nothing is modified. Leftover
 * checkpoint temp files and logs already covered by the data file are removed.
 */
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import { readFileIfExists } from '../storage/files.js';
import { joinPath, parentPath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';
import { decodeBatch } from './batch-codec.js';
import { keyToString } from './bytes.js';
import { dataFileName, parseDataFile } from './data-file.js';
import { isLogTempName, logNumberOf } from './log-file.js';
import { parseLog } from './log-format.js';

export interface Recovered {
  /** Final state, keys as latin1 strings, in any order. */
  readonly entries: Map<string, Uint8Array>;
  readonly sequence: number;
  /** The number the next log gets. */
  readonly nextLogNumber: number;
  /** Logs replayed, still needed until the next checkpoint. */
  readonly liveLogs: number[];
}

/** Creates the store's directory durably if it is missing and allowed to be created. */
export async function ensureStoreDirectory(storage: Storage, directory: string, createIfMissing: boolean): Promise<void> {
  try {
    const stat = await storage.stat(directory);
    if (stat.kind !== 'directory') throw new CarveError(ErrorCodes.ENOTDIR, 'the database path is not a directory', { path: directory });
  } catch (error) {
    if (!isCarveError(error, ErrorCodes.ENOENT)) throw error;
    if (!createIfMissing) throw new CarveError(ErrorCodes.ENOENT, 'the database does not exist (createIfMissing is off)', { path: directory });
    await storage.mkdir(directory);
    await storage.syncDir(parentPath(directory));
  }
}

export async function recoverDirectory(storage: Storage, directory: string, createIfMissing: boolean): Promise<Recovered> {
  const names = await storage.readdir(directory);
  const entries = new Map<string, Uint8Array>();
  let firstLogNumber = 1;
  const dataPath = joinPath(directory, dataFileName);
  const dataBytes = names.includes(dataFileName) ? await readFileIfExists(storage, dataPath) : undefined;
  if (dataBytes !== undefined) {
    const data = parseDataFile(dataBytes, dataPath);
    firstLogNumber = data.firstLogNumber;
    for (const [key, value] of data.entries) entries.set(keyToString(key), value);
  }
  const logs = names
    .map((name) => ({ name, number: logNumberOf(name) }))
    .filter((log): log is { name: string; number: number } => log.number !== undefined)
    .sort((a, b) => a.number - b.number);
  if (dataBytes === undefined && logs.length === 0 && !createIfMissing) {
    throw new CarveError(ErrorCodes.ENOENT, 'the database does not exist (createIfMissing is off)', { path: directory });
  }
  const stale = logs.filter((log) => log.number < firstLogNumber);
  const live = logs.filter((log) => log.number >= firstLogNumber);
  live.forEach((log, i) => {
    const expected = (live[0]?.number ?? firstLogNumber) + i;
    if (log.number !== expected) {
      throw new CarveError(ErrorCodes.CORRUPT, `log ${logNumberOfName(expected)} is missing from the sequence`, {
        path: joinPath(directory, log.name),
      });
    }
  });
  let sequence = 0;
  const tornTails: Array<{ path: string; validEndOffset: number }> = [];
  for (const log of live) {
    const path = joinPath(directory, log.name);
    const bytes = (await readFileIfExists(storage, path)) ?? new Uint8Array(0);
    const parsed = parseLog(bytes, path);
    if (parsed.header.logNumber !== log.number) {
      throw new CarveError(ErrorCodes.CORRUPT, `log header says number ${parsed.header.logNumber}`, { path, offset: 12 });
    }
    for (const record of parsed.records) {
      const batch = decodeBatch(record.payload, path, record.offset);
      sequence = Math.max(sequence, batch.sequence);
      for (const op of batch.ops) {
        if (op.type === 'put') entries.set(keyToString(op.key), op.value);
        else entries.delete(keyToString(op.key));
      }
    }
    if (parsed.tornBytes > 0) tornTails.push({ path, validEndOffset: parsed.validEndOffset });
  }
  // Everything read and valid: now it is safe to change the directory.
  for (const { path, validEndOffset } of tornTails) {
    const handle = await storage.open(path, 'r+');
    await handle.truncate(validEndOffset);
    await handle.sync();
    await handle.close();
  }
  for (const name of names.filter((n) => n.startsWith(`${dataFileName}.tmp-`) || isLogTempName(n))) {
    await storage.unlink(joinPath(directory, name));
  }
  for (const log of stale) await storage.unlink(joinPath(directory, log.name));
  const lastLog = logs[logs.length - 1]?.number ?? 0;
  return {
    entries,
    sequence,
    nextLogNumber: Math.max(lastLog, firstLogNumber - 1) + 1,
    liveLogs: live.map((log) => log.number),
  };
}

function logNumberOfName(logNumber: number): string {
  return `#${logNumber}`;
}
