/**
 * Publishing a checkpoint file: the atomic-replace protocol of src/durable/replace.ts, with the
 * file's bytes streamed by a body function instead of passed as one buffer (a checkpoint can be
 * larger than any buffer we would want to build). After `publishAtomically` resolves, the
 * target holds the new checkpoint durably; if the power fails before, it holds the previous one
 * whole: replaceFileAtomicallyWith's protocol (exclusive temp beside the target, body writes,
 * fsync, close, rename over the target, fsync the directory). On failure before the rename the
 * temp is removed and the target is untouched; a failed fsync is reported, never retried.
 */
import { replaceFileAtomicallyWith } from '../durable/replace.js';
import { tempMarker } from '../durable/temp-names.js';
import { baseName, joinPath, parentPath } from '../storage/paths.js';
import type { FileHandle, Storage } from '../storage/storage.js';
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

export const publishAtomically: PublishProtocol = (storage, path, body, options) =>
  replaceFileAtomicallyWith(storage, path, async (handle) => void (await body(sinkOf(handle))), options);

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
