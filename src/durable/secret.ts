/**
 * writeSecretFile: the secret's bytes exist only in an inode created with the requested
 * private mode, so no crash state (and no moment while running) exposes them under a wider
 * mode. Protocol: exclusive create of a temp with the mode (umask can only narrow it), write,
 * fsync, rename over the target, fsync the directory. The result is old-or-new like
 * replaceFileAtomically.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { checkMode } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';
import { replaceFileAtomically } from './replace.js';

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
  const mode = checkMode(options.mode ?? defaultSecretMode, path);
  if ((mode & 0o077) !== 0) {
    throw new CarveError(ErrorCodes.INVALID_MODE, `a secret's mode must grant nothing to group or others, got 0o${mode.toString(8)}`, {
      path,
    });
  }
  // The temp is created with the private mode, so the secret never exists under a wider one.
  await replaceFileAtomically(storage, path, secret, { mode, randomSuffix: options.randomSuffix });
}
