/**
 * The store's exclusive lock: a LOCK file holding the owner's pid. Another live process's lock
 * refuses the open with E_DB_LOCKED. A lock left by a dead process, or by an instance in this
 * process that no longer holds it (a crashed run in the lab), is taken over. Within one process
 * a registry keyed by Storage instance decides, so two stores cannot share a directory either.
 */
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import { readFileIfExists, text, bytes } from '../storage/files.js';
import { joinPath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';

const held = new WeakMap<Storage, Set<string>>();

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(storage: Storage, directory: string): Promise<Lock> {
  const path = joinPath(directory, 'LOCK');
  const mine = held.get(storage) ?? new Set<string>();
  if (mine.has(path)) throw new CarveError(ErrorCodes.DB_LOCKED, 'the database is already open in this process', { path });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await storage.open(path, 'wx');
      await handle.write(bytes(`${process.pid}\n`), 0);
      await handle.close();
      mine.add(path);
      held.set(storage, mine);
      return {
        release: async () => {
          mine.delete(path);
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
