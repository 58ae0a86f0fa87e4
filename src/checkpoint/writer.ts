/**
 * Snapshot writers: what turns a frozen snapshot into a published checkpoint file. The
 * checkpointer hands a writer one job at a time and ends the snapshot when the job settles, so
 * a writer must not read any page after its promise settles. InlineWriter runs the protocol in
 * the calling thread against any Storage (SimStorage in the lab); WorkerWriter
 * (worker-writer.ts) runs the very same protocol in a worker thread against NodeStorage.
 */
import type { Storage } from '../storage/storage.js';
import type { FrozenPages } from './page-tables.js';
import type { SnapshotJob } from './stream.js';
import { type WriteCheckpointOptions, writeCheckpoint } from './write-checkpoint.js';

export interface SnapshotWriter {
  /** 'inline', 'worker' or a custom name, for reports. */
  readonly kind: string;
  /** Writes and publishes the snapshot; resolves once the checkpoint is durable at its path. */
  write(job: SnapshotJob): Promise<{ sizeBytes: number }>;
  /** Releases the writer's resources (a worker thread). Not called while a write runs. */
  close(): Promise<void>;
}

export class InlineWriter implements SnapshotWriter {
  readonly kind = 'inline';

  constructor(
    private readonly storage: Storage,
    private readonly targetPath: string,
    private readonly frozen: FrozenPages,
    private readonly options: WriteCheckpointOptions = {},
  ) {}

  write(job: SnapshotJob): Promise<{ sizeBytes: number }> {
    return writeCheckpoint(this.storage, this.targetPath, this.frozen, job, this.options);
  }

  async close(): Promise<void> {}
}
