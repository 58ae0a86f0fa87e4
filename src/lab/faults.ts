/**
 * Storage faults the crash lab injects above the simulator, where SimStorage's own FaultPlan has
 * no such fault: a directory sync that fails with EIO without syncing anything. Being above the
 * simulator, the failed sync is not in the recorded history: a trace shows the operations before
 * and after it, and no fsync(dir) for it. Also used by the tests.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { DelegatingStorage } from '../storage/delegating.js';

/** A storage whose next directory sync, once asked for, fails with EIO and syncs nothing. */
export class FailingDirSync extends DelegatingStorage {
  private dirSyncFailing = false;

  failNextDirSync(): void {
    this.dirSyncFailing = true;
  }

  override syncDir(path: string): Promise<void> {
    if (!this.dirSyncFailing) return super.syncDir(path);
    this.dirSyncFailing = false;
    return Promise.reject(new CarveError(ErrorCodes.EIO, 'injected: directory sync failed', { path }));
  }
}

/**
 * Once armed, fails the directory sync after the first rename into a key-value store's log
 * name (a checkpoint's new log taking its name): the rename reaches the media only if a crash
 * says so.
 */
export class FailingLogRenameSync extends FailingDirSync {
  private armed = false;

  arm(): void {
    this.armed = true;
  }

  override async rename(fromPath: string, toPath: string): Promise<void> {
    await super.rename(fromPath, toPath);
    if (this.armed && /(^|\/)log-\d+\.wal$/.test(toPath)) {
      this.armed = false;
      this.failNextDirSync();
    }
  }
}
