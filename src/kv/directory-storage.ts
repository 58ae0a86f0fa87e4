/**
 * Where a store lives when it is opened by location (as abstract-level databases are): a
 * NodeStorage rooted at the location's parent, with the store in the last component. Honours
 * createIfMissing (the parent must then exist, or is created) and errorIfExists (a directory
 * that already holds a store is refused).
 */
import * as nodePath from 'node:path';
import { CarveError, ErrorCodes } from '../errors.js';
import { NodeStorage } from '../storage/node.js';
import type { Storage } from '../storage/storage.js';
import { dataFileName } from './data-file.js';
import { logNumberOf } from './log-file.js';

export async function openDirectoryStorage(
  location: string,
  given: Storage | undefined,
  options: { createIfMissing: boolean; errorIfExists: boolean },
): Promise<{ storage: Storage; directory: string }> {
  const { storage, directory } =
    given !== undefined
      ? { storage: given, directory: location }
      : {
          storage: await NodeStorage.open(nodePath.dirname(nodePath.resolve(location)), { create: options.createIfMissing }),
          directory: nodePath.basename(nodePath.resolve(location)),
        };
  if (options.errorIfExists) {
    const names = await storage.readdir(directory).catch(() => [] as string[]);
    if (names.some((name) => name === dataFileName || logNumberOf(name) !== undefined)) {
      throw new CarveError(ErrorCodes.EEXIST, 'a database already exists here (errorIfExists is set)', { path: directory });
    }
  }
  return { storage, directory };
}
