/**
 * The store's exclusive lock: a LOCK file holding the owner's pid. Another live process's lock
 * refuses the open with E_DB_LOCKED. Within this process a registry of held lock locations
 * (Storage.locationOf, so two Storages on one directory meet) refuses a second open. A lock
 * left by a dead process, or by this process without a registry entry (a simulated crash in
 * the lab), is stale and taken over.
 */
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import { readFileIfExists, text, bytes } from '../storage/files.js';
import { joinPath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';

/** Locations of the locks this process holds. */
const held = new Set<string>();

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(storage: Storage, directory: string): Promise<Lock> {
  const path = joinPath(directory, 'LOCK');
  const location = storage.locationOf(path);
  if (held.has(location)) throw new CarveError(ErrorCodes.DB_LOCKED, 'the database is already open in this process', { path });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await storage.open(path, 'wx');
      await handle.write(bytes(`${process.pid}\n`), 0);
      await handle.close();
      held.add(location);
      return {
        release: async () => {
          held.delete(location);
          await storage.unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if (!isCarveError(error, ErrorCodes.EEXIST)) throw error;
      const owner = Number.parseInt(text((await readFileIfExists(storage, path)) ?? new Uint8Array()), 10);
      if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
        throw new CarveError(ErrorCodes.DB_LOCKED, `the database is open in process ${owner}`, { path });
      }
      await storage.unlink(path).catch(() => undefined); // Stale: its owner is gone.
    }
  }
  throw new CarveError(ErrorCodes.DB_LOCKED, 'could not take the lock (another opener raced us)', { path });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
