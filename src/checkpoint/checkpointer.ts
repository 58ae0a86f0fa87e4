/**
 * Checkpointer: takes consistent checkpoints of a PagedState without stopping its mutator.
 *
 * `checkpoint()` freezes the state in O(1) (an epoch flip, PagedState.beginSnapshot), hands the
 * snapshot to the writer and returns at once; the returned promise resolves when the checkpoint
 * is durable at `path` (written to a temp file, fsynced, renamed over the previous one, directory
 * fsynced), and only then. A crash at any moment leaves the previous checkpoint or the new one,
 * whole. Sequence numbers grow by one per attempt, so no two different files share one.
 *
 * Checkpoint requested while one is running: refused with E_CHECKPOINT_RUNNING, and the running
 * one carries on untouched. It is not joined: the running snapshot was frozen before the request
 * and would silently hand back older state than the caller asked to save. Await `idle()` and ask
 * again. A failed checkpoint (ENOSPC, EIO, ...) rejects with that error; the previous checkpoint
 * file and the in-memory state are intact, and the next checkpoint may be requested at once.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { normalizePath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';
import type { PagedState } from './paged-state.js';
import { type PublishProtocol, sweepCheckpointTemps } from './publish.js';
import { checkChunkBytes } from './stream.js';
import { WorkerWriter } from './worker-writer.js';
import { InlineWriter, type SnapshotWriter } from './writer.js';

export type WriterFactory = (state: PagedState) => SnapshotWriter | Promise<SnapshotWriter>;

export interface CheckpointerOptions {
  storage: Storage;
  /** The checkpoint file, relative to the storage root. */
  path: string;
  /**
   * 'worker' writes in a worker thread (NodeStorage only); 'inline' in this thread, against any
   * Storage (the lab's SimStorage); or a factory for a custom writer. Default 'inline'.
   */
  writer?: 'worker' | 'inline' | WriterFactory;
  /** The sequence number of the checkpoint the state was loaded from (default 0). */
  sequence?: number;
  /** Staging chunk: bytes per write call (default 4 MiB). */
  chunkBytes?: number;
  /** Permission bits of the checkpoint file (default 0o644). */
  mode?: number;
  /** Temp-name suffixes (inline writer only; deterministic runs in the lab). */
  randomSuffix?: () => string;
  /** Publish protocol (inline writer only; the lab injects naive ones). Default: atomic replace. */
  publish?: PublishProtocol;
  /** Remove temp files a crash left beside `path` before the first checkpoint (default true). */
  sweepTemps?: boolean;
}

export interface CheckpointResult {
  readonly path: string;
  readonly sequence: number;
  readonly sizeBytes: number;
  /** Pages the mutator copied on write while this checkpoint ran. */
  readonly copiesOnWrite: number;
}

export class Checkpointer {
  private running: Promise<CheckpointResult> | undefined;
  private lastAttempted: number;
  private lastPublished: number;
  private closed = false;

  private constructor(
    readonly state: PagedState,
    readonly path: string,
    private readonly writer: SnapshotWriter,
    sequence: number,
  ) {
    this.lastAttempted = sequence;
    this.lastPublished = sequence;
  }

  static async open(state: PagedState, options: CheckpointerOptions): Promise<Checkpointer> {
    const path = normalizePath(options.path);
    if (path === '') throw new CarveError(ErrorCodes.INVALID_PATH, 'the checkpoint path names the storage root', { path: options.path });
    const sequence = options.sequence ?? 0;
    if (!Number.isSafeInteger(sequence) || sequence < 0) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `sequence must be a non-negative integer, got ${String(sequence)}`, { path });
    }
    if (options.chunkBytes !== undefined) checkChunkBytes(options.chunkBytes);
    const kind = options.writer ?? 'inline';
    if (kind === 'worker' && (options.publish !== undefined || options.randomSuffix !== undefined)) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'the worker writer always publishes atomically; publish and randomSuffix are for the inline writer', { path });
    }
    if (options.sweepTemps ?? true) await sweepCheckpointTemps(options.storage, path);
    const writer =
      kind === 'inline'
        ? new InlineWriter(options.storage, path, state.frozenPages(), {
            chunkBytes: options.chunkBytes,
            mode: options.mode,
            randomSuffix: options.randomSuffix,
            publish: options.publish,
          })
        : kind === 'worker'
          ? await WorkerWriter.start(state, options.storage, path, { chunkBytes: options.chunkBytes, mode: options.mode })
          : await kind(state);
    return new Checkpointer(state, path, writer, sequence);
  }

  get writerKind(): string {
    return this.writer.kind;
  }

  /** True from checkpoint() until its promise settles. */
  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** The sequence number of the newest checkpoint this checkpointer published (or was opened with). */
  get lastSequence(): number {
    return this.lastPublished;
  }

  /**
   * Freezes the state now and writes it in the background. Returns after O(1) work; the promise
   * resolves once the checkpoint is durable. Rejects with E_CHECKPOINT_RUNNING if one is running.
   */
  checkpoint(): Promise<CheckpointResult> {
    if (this.closed) {
      return Promise.reject(new CarveError(ErrorCodes.CHECKPOINTER_CLOSED, 'the checkpointer is closed', { path: this.path }));
    }
    if (this.running !== undefined) {
      return Promise.reject(
        new CarveError(ErrorCodes.CHECKPOINT_RUNNING, `checkpoint ${this.lastAttempted} is still being written; await idle() and ask again`, {
          path: this.path,
        }),
      );
    }
    let epoch: number;
    try {
      epoch = this.state.beginSnapshot();
    } catch (error) {
      return Promise.reject(error);
    }
    const sequence = ++this.lastAttempted;
    const finish = (): { copiesOnWrite: number } => {
      this.running = undefined;
      return this.state.endSnapshot(epoch);
    };
    let writing: Promise<{ sizeBytes: number }>;
    try {
      writing = this.writer.write({ epoch, sequence });
    } catch (error) {
      writing = Promise.reject(error); // A custom writer that throws still ends the snapshot.
    }
    const running = writing.then(
      ({ sizeBytes }) => {
        const { copiesOnWrite } = finish();
        assert(sequence > this.lastPublished, 'published sequence numbers only grow');
        this.lastPublished = sequence;
        return { path: this.path, sequence, sizeBytes, copiesOnWrite };
      },
      (error: unknown) => {
        finish();
        throw error;
      },
    );
    this.running = running;
    return running;
  }

  /** Resolves (never rejects) once no checkpoint is running. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
  }

  /** Waits for a running checkpoint to settle, then stops the writer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle();
    await this.writer.close();
  }
}
