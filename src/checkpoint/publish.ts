/**
 * Publishing a checkpoint file: the atomic-replace protocol of src/durable/replace.ts, with the
 * file's bytes streamed by a body function instead of passed as one buffer (a checkpoint can be
 * larger than any buffer we would want to build). After `publishAtomically` resolves, the
 * target holds the new checkpoint durably; if the power fails before, it holds the previous one
 * whole. Steps: exclusive temp beside the target, body writes, fsync, close, rename over the
 * target, fsync the directory (renameIntoPlace, reused as is). On failure before the rename the
 * temp is removed and the target is untouched; a failed fsync is reported, never retried.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { nameTargetOnError, renameIntoPlace } from '../durable/replace.js';
import { tempMarker, tempPathBeside } from '../durable/temp-names.js';
import { baseName, checkMode, joinPath, normalizePath, parentPath } from '../storage/paths.js';
import { type FileHandle, type Storage, defaultFileMode } from '../storage/storage.js';
import type { ByteSink } from './stream.js';

/** Writes the whole file through the sink and returns its size. */
export type FileBody = (sink: ByteSink) => Promise<number>;

export interface PublishOptions {
  /** Permission bits of the new file (default 0o644), set at creation. */
  mode?: number;
  /** Source of temp-name suffixes; injectable so simulated runs are deterministic. */
  randomSuffix?: () => string;
}

/**
 * How a written checkpoint becomes the one at `targetPath`. Carve ships `publishAtomically`;
 * the lab injects naive protocols to show what they lose.
 */
export type PublishProtocol = (storage: Storage, targetPath: string, body: FileBody, options: PublishOptions) => Promise<void>;

export const publishAtomically: PublishProtocol = async (storage, path, body, options) => {
  const targetPath = normalizePath(path);
  if (targetPath === '') throw new CarveError(ErrorCodes.INVALID_PATH, 'cannot replace the storage root', { path });
  const mode = checkMode(options.mode ?? defaultFileMode, path);
  const tempPath = tempPathBeside(targetPath, options.randomSuffix);
  await nameTargetOnError(targetPath, tempPath, async () => {
    await writeSyncedTempStreaming(storage, tempPath, mode, body);
    await renameIntoPlace(storage, tempPath, targetPath);
  });
};

/**
 * Like writeSyncedTemp (src/durable/replace.ts), but the body streams the content: creates
 * `tempPath` exclusively with `mode`, runs the body, fsyncs and closes. On failure the temp is
 * removed (best effort) and the original error is rethrown.
 */
export async function writeSyncedTempStreaming(storage: Storage, tempPath: string, mode: number, body: FileBody): Promise<number> {
  let handle: FileHandle | undefined = await storage.open(tempPath, 'wx', mode);
  try {
    const sizeBytes = await body(sinkOf(handle));
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    return sizeBytes;
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await storage.unlink(tempPath).catch(() => undefined);
    throw error;
  }
}

/** A byte sink that writes into an open file handle. */
export function sinkOf(handle: FileHandle): ByteSink {
  return { write: (data, positionBytes) => handle.write(data, positionBytes) };
}

/**
 * Removes temp files a crash left beside `targetPath` (named by tempPathBeside); returns their
 * paths. Run it before the first checkpoint of a process, never while one is being written.
 */
export async function sweepCheckpointTemps(storage: Storage, targetPath: string): Promise<string[]> {
  const directory = parentPath(targetPath);
  const prefix = `${tempMarker}${baseName(targetPath)}.`;
  const swept: string[] = [];
  for (const name of await storage.readdir(directory)) {
    if (!name.startsWith(prefix)) continue;
    const path = joinPath(directory, name);
    await storage.unlink(path);
    swept.push(path);
  }
  return swept;
}
