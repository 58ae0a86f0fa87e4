/**
 * A Storage wrapper for watching a JournalWriter's I/O: it logs appends and syncs of file
 * handles, counts syncs in flight, and can hold every fdatasync until the test releases it, so
 * "what happens while a sync is in flight" is decided by the test, not by timing.
 */
import type { FileHandle, FileStat, OpenFlags, Storage } from '../../src/storage/storage.js';

export class GatedStorage implements Storage {
  readonly description: string;
  locationOf(path: string): string {
    return this.inner.locationOf(path);
  }
  readonly events: string[] = [];
  syncsInFlight = 0;
  maxSyncsInFlight = 0;
  private held: Array<() => void> = [];
  private holding = false;
  private onSyncStarted: (() => void) | undefined;

  constructor(private readonly inner: Storage) {
    this.description = `gated:${inner.description}`;
  }

  /** From now on, every datasync waits for `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Lets every waiting datasync proceed and stops holding new ones. */
  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  /** Resolves once a datasync has started (it may be held). */
  syncStarted(): Promise<void> {
    return new Promise((resolve) => {
      this.onSyncStarted = resolve;
    });
  }

  async open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    const handle = await this.inner.open(path, flags, mode);
    const storage = this;
    return {
      path: handle.path,
      flags: handle.flags,
      write: (data, positionBytes) => handle.write(data, positionBytes),
      async append(data) {
        storage.events.push(`append ${data.length}`);
        return handle.append(data);
      },
      read: (lengthBytes, positionBytes) => handle.read(lengthBytes, positionBytes),
      truncate: (sizeBytes) => handle.truncate(sizeBytes),
      sync: () => handle.sync(),
      async datasync() {
        storage.syncsInFlight += 1;
        storage.maxSyncsInFlight = Math.max(storage.maxSyncsInFlight, storage.syncsInFlight);
        storage.events.push('datasync start');
        storage.onSyncStarted?.();
        storage.onSyncStarted = undefined;
        try {
          if (storage.holding) await new Promise<void>((resolve) => storage.held.push(resolve));
          await handle.datasync();
        } finally {
          storage.syncsInFlight -= 1;
          storage.events.push('datasync end');
        }
      },
      stat: (): Promise<FileStat> => handle.stat(),
      close: () => handle.close(),
    };
  }

  rename(fromPath: string, toPath: string): Promise<void> {
    return this.inner.rename(fromPath, toPath);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  mkdir(path: string, mode?: number): Promise<void> {
    return this.inner.mkdir(path, mode);
  }
  rmdir(path: string): Promise<void> {
    return this.inner.rmdir(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }
  chmod(path: string, mode: number): Promise<void> {
    return this.inner.chmod(path, mode);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
}
