/**
 * The store's exclusive lock: an advisory lock (FileHandle.tryLock) on the directory's LOCK
 * file, held through a handle kept open while the store is open. A second open, from this
 * process or another, finds the lock held and is refused with E_DB_LOCKED; it changes nothing.
 * The lock ends with the handle: at close, or when the process dies (the operating system
 * drops it), so a crash never leaves a lock to take over, and there is no window in which two
 * openers can both believe they took one. The LOCK file itself stays: removing it could let one
 * opener lock the removed file while another locks a new one. The holder writes its pid into
 * it (Storage.processId), for the message of a refused open only; nothing reads it to decide
 * anything.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { bytes, readFileIfExists, text } from '../storage/files.js';
import { joinPath } from '../storage/paths.js';
import type { FileHandle, Storage } from '../storage/storage.js';

const lockFileName = 'LOCK';

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(storage: Storage, directory: string): Promise<Lock> {
  const path = joinPath(directory, lockFileName);
  const handle = await storage.open(path, 'a+');
  try {
    if (!(await handle.tryLock())) throw await lockedError(storage, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  // For the message of a refused open only: a failure to write it fails nothing.
  await handle
    .truncate(0)
    .then(() => handle.append(bytes(`${storage.processId}\n`)))
    .catch(() => undefined);
  return new HeldLock(handle);
}

class HeldLock implements Lock {
  private released = false;

  constructor(private readonly handle: FileHandle) {}

  async release(): Promise<void> {
    assert(!this.released, 'a lock is released once');
    this.released = true;
    await this.handle.close();
  }
}

/** E_DB_LOCKED, naming the holder's pid if its LOCK file gives one. */
async function lockedError(storage: Storage, path: string): Promise<CarveError> {
  const content = await readFileIfExists(storage, path).catch(() => undefined);
  const pid = content === undefined ? Number.NaN : Number.parseInt(text(content), 10);
  const holder = !Number.isInteger(pid) ? 'another open store' : pid === storage.processId ? 'this process' : `process ${pid}`;
  return new CarveError(ErrorCodes.DB_LOCKED, `the database is open in ${holder}`, { path });
}
