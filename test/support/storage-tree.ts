/**
 * Walks every entry under a directory of a Storage, depth first in readdir order (a directory
 * before its contents), with its stat. Tests format the entries into "what the tree holds"
 * listings, to compare storages or to check that nothing changed.
 */
import type { FileStat, Storage } from '../../src/storage/storage.js';

export async function* walkTree(storage: Storage, directory = ''): AsyncGenerator<{ path: string; stat: FileStat }> {
  for (const name of await storage.readdir(directory)) {
    const path = directory === '' ? name : `${directory}/${name}`;
    const stat = await storage.stat(path);
    yield { path, stat };
    if (stat.kind === 'directory') yield* walkTree(storage, path);
  }
}
