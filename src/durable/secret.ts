/**
 * writeSecretFile: the secret's bytes exist only in an inode created with the requested
 * private mode, so no crash state (and no moment while running) exposes them under a wider
 * mode. Protocol: exclusive create of a temp with the mode (umask can only narrow it), write,
 * fsync, rename over the target, fsync the directory. The result is old-or-new like
 * replaceFileAtomically.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { checkMode, normalizePath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';
import { nameTargetOnError, renameIntoPlace, writeSyncedTemp } from './replace.js';
import { tempPathBeside } from './temp-names.js';

export interface SecretOptions {
  /** Permission bits (default 0o600). Group or other access is refused: a secret is private. */
  mode?: number;
  randomSuffix?: () => string;
}

export const defaultSecretMode = 0o600;

export async function writeSecretFile(
  storage: Storage,
  path: string,
  secret: Uint8Array,
  options: SecretOptions = {},
): Promise<void> {
  const targetPath = normalizePath(path);
  if (targetPath === '') throw new CarveError(ErrorCodes.INVALID_PATH, 'cannot write a secret to the storage root', { path });
  const mode = checkMode(options.mode ?? defaultSecretMode, path);
  if ((mode & 0o077) !== 0) {
    throw new CarveError(ErrorCodes.INVALID_MODE, `a secret's mode must grant nothing to group or others, got 0o${mode.toString(8)}`, {
      path,
    });
  }
  if (!(secret instanceof Uint8Array)) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'secret must be a Uint8Array', { path });
  }
  const tempPath = tempPathBeside(targetPath, options.randomSuffix);
  await nameTargetOnError(targetPath, tempPath, async () => {
    await writeSyncedTemp(storage, tempPath, mode, async (handle) => void (await handle.write(secret, 0)));
    await renameIntoPlace(storage, tempPath, targetPath);
  });
}
