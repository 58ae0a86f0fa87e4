/**
 * Storage-relative paths. A path names a place under the storage root and can never leave it:
 * absolute paths, '..' that climbs above the root, empty components and NUL bytes are refused
 * with a typed error before any I/O happens.
 */
import { CarveError, ErrorCodes } from '../errors.js';

/** Splits a storage-relative path into components; [] is the root. */
export function pathComponents(path: string): string[] {
  if (typeof path !== 'string') {
    throw new CarveError(ErrorCodes.INVALID_PATH, `path must be a string, got ${typeof path}`);
  }
  if (path.includes('\0')) throw new CarveError(ErrorCodes.INVALID_PATH, 'path contains a NUL byte', { path });
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.includes('\\')) {
    throw new CarveError(ErrorCodes.PATH_OUTSIDE_ROOT, 'paths are relative to the storage root', { path });
  }
  const components: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (components.length === 0) {
        throw new CarveError(ErrorCodes.PATH_OUTSIDE_ROOT, 'path climbs above the storage root', { path });
      }
      components.pop();
      continue;
    }
    components.push(part);
  }
  return components;
}

/** The canonical form of a storage-relative path ('' is the root). */
export function normalizePath(path: string): string {
  return pathComponents(path).join('/');
}

export function parentPath(path: string): string {
  const components = pathComponents(path);
  return components.slice(0, -1).join('/');
}

export function baseName(path: string): string {
  const components = pathComponents(path);
  return components[components.length - 1] ?? '';
}

export function joinPath(...parts: string[]): string {
  return normalizePath(parts.filter((part) => part !== '').join('/'));
}

/** Validates a permission mode: an integer from 0o000 to 0o777. */
export function checkMode(mode: number, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new CarveError(ErrorCodes.INVALID_MODE, `mode must be an integer from 0o000 to 0o777, got ${String(mode)}`, {
      path,
    });
  }
  return mode;
}

export function checkNonNegativeInteger(value: number, what: string, path: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a non-negative integer, got ${String(value)}`, {
      path,
    });
  }
  return value;
}
