/**
 * WorkerWriter: the snapshot writer on the real disk, in a worker thread, so that copying,
 * checksumming and I/O never run on the mutator's thread. The worker shares the state's slabs
 * and page tables (SharedArrayBuffers, never copied); spare slabs added later are announced as
 * they are allocated, so starting a job is one small postMessage. A job settles when the worker
 * reports it, or when the worker has exited (then with E_WORKER_FAILED); in both cases the
 * worker reads no more pages. A dead worker is replaced on the next job. The worker is unref'd
 * while idle, so it never keeps the process alive on its own.
 */
import { Worker } from 'node:worker_threads';
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { NodeStorage } from '../storage/node.js';
import type { Storage } from '../storage/storage.js';
import type { PagedState } from './paged-state.js';
import type { SnapshotJob } from './stream.js';
import { type FromWorker, type WorkerInit, deserializeError } from './worker-protocol.js';
import type { SnapshotWriter } from './writer.js';

export interface WorkerWriterOptions {
  chunkBytes?: number;
  mode?: number;
}

interface PendingJob {
  readonly epoch: number;
  readonly resolve: (result: { sizeBytes: number }) => void;
  readonly reject: (error: unknown) => void;
}

export class WorkerWriter implements SnapshotWriter {
  readonly kind = 'worker';
  private worker: Worker | undefined;
  private pending: PendingJob | undefined;
  private closed = false;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly state: PagedState,
    private readonly rootPath: string,
    private readonly targetPath: string,
    private readonly options: WorkerWriterOptions,
  ) {
    this.unsubscribe = state.onSlabAdded((buffer, firstSlot) => this.worker?.postMessage({ type: 'slab', buffer, firstSlot }));
  }

  /** Starts the worker and waits until it is ready to take a job. */
  static async start(state: PagedState, storage: Storage, targetPath: string, options: WorkerWriterOptions = {}): Promise<WorkerWriter> {
    if (!(storage instanceof NodeStorage)) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `the worker writer runs on the real disk (NodeStorage), not ${storage.description}; use writer 'inline'`, {
        path: targetPath,
      });
    }
    const writer = new WorkerWriter(state, storage.rootPath, targetPath, options);
    try {
      await writer.spawn();
    } catch (error) {
      writer.unsubscribe();
      throw error;
    }
    return writer;
  }

  async write(job: SnapshotJob): Promise<{ sizeBytes: number }> {
    assert(this.pending === undefined, 'one job at a time');
    assert(!this.closed, 'no job after close');
    if (this.worker === undefined) await this.spawn(); // Only after a worker died.
    const worker = this.worker!;
    return new Promise((resolve, reject) => {
      this.pending = { epoch: job.epoch, resolve, reject };
      worker.ref(); // A running checkpoint keeps the process alive until it is durable.
      worker.postMessage({ type: 'write', job });
    });
  }

  async close(): Promise<void> {
    assert(this.pending === undefined, 'close waits for the running job');
    this.closed = true;
    this.unsubscribe();
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private spawn(): Promise<void> {
    const memory = this.state.sharedMemory();
    const init: WorkerInit = {
      rootPath: this.rootPath,
      targetPath: this.targetPath,
      layout: memory.layout,
      tables: memory.tables,
      slabs: memory.slabs,
      chunkBytes: this.options.chunkBytes,
      mode: this.options.mode,
    };
    const worker = createWorker(init);
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let ready = false;
      let lastError: unknown;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            if (this.pending === undefined) worker.unref();
            resolve();
            return;
          case 'init-failed':
            lastError = deserializeError(message.error);
            void worker.terminate();
            return;
          case 'written':
            this.settle(message.epoch, (job) => job.resolve({ sizeBytes: message.sizeBytes }));
            return;
          case 'failed':
            this.settle(message.epoch, (job) => job.reject(deserializeError(message.error)));
            return;
        }
      });
      worker.on('error', (error) => {
        lastError = error;
      });
      worker.on('exit', (exitCode) => {
        if (this.worker === worker) this.worker = undefined;
        const detail = lastError instanceof Error ? lastError.message : `exit code ${exitCode}`;
        const failure = new CarveError(ErrorCodes.WORKER_FAILED, `the checkpoint worker stopped: ${detail}`, {
          path: this.targetPath,
          cause: lastError,
        });
        if (!ready) reject(lastError instanceof CarveError ? lastError : failure);
        const job = this.pending;
        if (job !== undefined) this.settle(job.epoch, (pending) => pending.reject(failure));
      });
    });
  }

  private settle(epoch: number, outcome: (job: PendingJob) => void): void {
    const job = this.pending;
    assert(job !== undefined && job.epoch === epoch, `the worker reports on the pending job (${job?.epoch}), not ${epoch}`);
    this.pending = undefined;
    this.worker?.unref();
    outcome(job);
  }
}

/**
 * Starts the worker module beside this one: worker.js when compiled; under tsx (tests and
 * benchmarks run the .ts sources), a bootstrap that registers tsx in the worker first, since
 * Node 20 does not carry --import loaders into worker threads.
 */
function createWorker(init: WorkerInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), { workerData: init });
  const entry = new URL('./worker.ts', here).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}
