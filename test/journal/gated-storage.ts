/**
 * A Storage wrapper for watching a JournalWriter's I/O: it logs appends and syncs of file
 * handles, counts syncs in flight, and can hold every fdatasync until the test releases it, so
 * "what happens while a sync is in flight" is decided by the test, not by timing.
 */
import type { FileHandle, Storage } from '../../src/storage/storage.js';
import { DelegatingFileHandle, DelegatingStorage } from '../../src/storage/delegating.js';

export class GatedStorage extends DelegatingStorage {
  readonly events: string[] = [];
  syncsInFlight = 0;
  maxSyncsInFlight = 0;
  private held: Array<() => void> = [];
  private holding = false;
  private onSyncStarted: (() => void) | undefined;

  constructor(inner: Storage) {
    super(inner, `gated:${inner.description}`);
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

  protected override wrapHandle(handle: FileHandle): FileHandle {
    const storage = this;
    return new (class extends DelegatingFileHandle {
      override async append(data: Uint8Array): Promise<number> {
        storage.events.push(`append ${data.length}`);
        return super.append(data);
      }
      override async datasync(): Promise<void> {
        storage.syncsInFlight += 1;
        storage.maxSyncsInFlight = Math.max(storage.maxSyncsInFlight, storage.syncsInFlight);
        storage.events.push('datasync start');
        storage.onSyncStarted?.();
        storage.onSyncStarted = undefined;
        try {
          if (storage.holding) await new Promise<void>((resolve) => storage.held.push(resolve));
          await super.datasync();
        } finally {
          storage.syncsInFlight -= 1;
          storage.events.push('datasync end');
        }
      }
    })(handle);
  }
}
