/**
 * replaceFileAtomically: after it resolves, `path` holds exactly `data`, durably; if the power
 * fails at any moment before, `path` holds either its old content or the new, never a mix or
 * nothing. Protocol: exclusive temp in the same directory, write, fsync it, rename over the
 * target, fsync the directory. A failed fsync is an error and is never retried into success;
 * on any failure before the rename the temp file is removed and the target is untouched.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { checkMode, normalizePath, parentPath } from '../storage/paths.js';
import { type FileHandle, type Storage, defaultFileMode } from '../storage/storage.js';
import { tempPathBeside } from './temp-names.js';

export interface ReplaceOptions {
  /**
   * Permission bits of the new file (default 0o644). Set at creation, so they move with the
   * rename; like open(2), the process umask can narrow them, never widen them.
   */
  mode?: number;
  /** Source of temp-name suffixes; injectable so simulated runs are deterministic. */
  randomSuffix?: () => string;
}

export async function replaceFileAtomically(
  storage: Storage,
  path: string,
  data: Uint8Array,
  options: ReplaceOptions = {},
): Promise<void> {
  if (!(data instanceof Uint8Array)) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'data must be a Uint8Array', { path });
  }
  await replaceFileAtomicallyWith(storage, path, async (handle) => void (await handle.write(data, 0)), options);
}

/** Writes a new file's content into an open, empty handle (for content streamed in pieces). */
export type WriteBody = (handle: FileHandle) => Promise<void>;

/** replaceFileAtomically, with the content written by `body` (the same protocol and guarantees). */
export async function replaceFileAtomicallyWith(
  storage: Storage,
  path: string,
  body: WriteBody,
  options: ReplaceOptions = {},
): Promise<void> {
  const targetPath = normalizePath(path);
  if (targetPath === '') throw new CarveError(ErrorCodes.INVALID_PATH, 'cannot replace the storage root', { path });
  const mode = checkMode(options.mode ?? defaultFileMode, path);
  const tempPath = tempPathBeside(targetPath, options.randomSuffix);
  await nameTargetOnError(targetPath, tempPath, async () => {
    await writeSyncedTemp(storage, tempPath, mode, body);
    await renameIntoPlace(storage, tempPath, targetPath);
  });
}

/** Errors about the temp file are reported against the caller's path, naming the temp in the message. */
export async function nameTargetOnError(targetPath: string, tempPath: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof CarveError && error.path === tempPath) {
      throw new CarveError(error.code, `${error.detail} (temp file ${tempPath})`, {
        path: targetPath,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Creates `tempPath` exclusively with `mode`, lets `body` write it, and fsyncs it. On failure the
 * temp file is removed (best effort) and the original error is rethrown.
 */
export async function writeSyncedTemp(storage: Storage, tempPath: string, mode: number, body: WriteBody): Promise<void> {
  // An exclusive create that fails leaves nothing of ours behind: the name may be another writer's.
  let handle: FileHandle | undefined = await storage.open(tempPath, 'wx', mode);
  try {
    await body(handle);
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
  } catch (error) {
    await discardTemp(storage, tempPath, handle);
    throw error;
  }
}

/** rename(temp, target) then fsync of the parent directory; removes the temp if the rename fails. */
export async function renameIntoPlace(storage: Storage, tempPath: string, targetPath: string): Promise<void> {
  try {
    await storage.rename(tempPath, targetPath);
  } catch (error) {
    await discardTemp(storage, tempPath, undefined);
    throw error;
  }
  await storage.syncDir(parentPath(targetPath));
}

async function discardTemp(storage: Storage, tempPath: string, handle: FileHandle | undefined): Promise<void> {
  if (handle !== undefined) await handle.close().catch(() => undefined);
  // Best effort: the caller sees the original error, and a leftover temp is swept by name.
  await storage.unlink(tempPath).catch(() => undefined);
}
