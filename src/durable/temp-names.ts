/**
 * Names for temporary files that sit beside their target. The random suffix keeps concurrent
 * writers (threads or processes) from sharing a temp file; the prefix lets recovery recognise
 * and sweep leftovers from a crash.
 */
import { randomBytes } from 'node:crypto';
import { baseName, joinPath, parentPath } from '../storage/paths.js';

export const tempMarker = '.carve-tmp-';

export function tempPathBeside(targetPath: string, random: () => string = defaultRandomSuffix): string {
  return joinPath(parentPath(targetPath), `${tempMarker}${baseName(targetPath)}.${random()}`);
}

export function isTempName(name: string): boolean {
  return name.startsWith(tempMarker);
}

function defaultRandomSuffix(): string {
  return randomBytes(6).toString('hex');
}
