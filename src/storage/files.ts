/**
 * Whole-file conveniences built only on the Storage interface, so they behave the same on the
 * real disk and in the simulator. None of them syncs: durability is the caller's decision.
 */
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import type { Storage } from './storage.js';

/** Reads a whole file. */
export async function readWholeFile(storage: Storage, path: string): Promise<Uint8Array> {
  const handle = await storage.open(path, 'r');
  try {
    const { sizeBytes } = await handle.stat();
    return await handle.read(sizeBytes, 0);
  } finally {
    await handle.close();
  }
}

/** Reads a whole file, or returns undefined when it does not exist. */
export async function readFileIfExists(storage: Storage, path: string): Promise<Uint8Array | undefined> {
  try {
    return await readWholeFile(storage, path);
  } catch (error) {
    if (isCarveError(error, ErrorCodes.ENOENT)) return undefined;
    throw error;
  }
}

export async function exists(storage: Storage, path: string): Promise<boolean> {
  try {
    await storage.stat(path);
    return true;
  } catch (error) {
    if (isCarveError(error, ErrorCodes.ENOENT)) return false;
    throw error;
  }
}

/** Creates each missing directory along `path`. Does not sync. */
export async function mkdirAll(storage: Storage, path: string): Promise<void> {
  let prefix = '';
  for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
    prefix = prefix === '' ? part : `${prefix}/${part}`;
    try {
      await storage.mkdir(prefix);
    } catch (error) {
      if (!isCarveError(error, ErrorCodes.EEXIST)) throw error;
      const stat = await storage.stat(prefix);
      if (stat.kind !== 'directory') throw new CarveError(ErrorCodes.ENOTDIR, 'not a directory', { path: prefix });
    }
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export function text(data: Uint8Array): string {
  return textDecoder.decode(data);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
