/**
 * The messages between the checkpointer (main thread) and its writer worker, and how errors
 * cross the thread boundary. Guarantees: a CarveError thrown in the worker arrives as a
 * CarveError with the same code, path and offset; slabs are announced in the order they were
 * added, before any job that could reference their slots; one job runs at a time.
 */
import { CarveError, ErrorCodes, type ErrorCode, messageOf } from '../errors.js';
import type { SlabLayout } from './geometry.js';
import type { SnapshotJob } from './stream.js';

/** workerData: everything the worker needs to address the state and reach the disk. */
export interface WorkerInit {
  readonly rootPath: string;
  readonly targetPath: string;
  readonly layout: SlabLayout;
  readonly tables: SharedArrayBuffer;
  readonly slabs: readonly SharedArrayBuffer[];
  readonly chunkBytes: number | undefined;
  readonly mode: number | undefined;
}

export type ToWorker =
  | { readonly type: 'write'; readonly job: SnapshotJob }
  | { readonly type: 'slab'; readonly buffer: SharedArrayBuffer; readonly firstSlot: number };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'init-failed'; readonly error: SerializedError }
  | { readonly type: 'written'; readonly epoch: number; readonly sizeBytes: number }
  | { readonly type: 'failed'; readonly epoch: number; readonly error: SerializedError };

export interface SerializedError {
  readonly carve: boolean;
  readonly code: string | undefined;
  readonly detail: string;
  readonly path: string | undefined;
  readonly offset: number | undefined;
  readonly stack: string | undefined;
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

export function serializeError(error: unknown): SerializedError {
  if (error instanceof CarveError) {
    return { carve: true, code: error.code, detail: error.detail, path: error.path, offset: error.offset, stack: error.stack };
  }
  const detail = messageOf(error);
  return { carve: false, code: undefined, detail, path: undefined, offset: undefined, stack: error instanceof Error ? error.stack : undefined };
}

export function deserializeError(error: SerializedError): Error {
  if (error.carve && error.code !== undefined && knownCodes.has(error.code)) {
    const revived = new CarveError(error.code as ErrorCode, error.detail, { path: error.path, offset: error.offset });
    if (error.stack !== undefined) revived.stack = `${revived.stack ?? ''}\n    --- in the checkpoint worker ---\n${error.stack}`;
    return revived;
  }
  const revived = new Error(`checkpoint worker: ${error.detail}`);
  if (error.stack !== undefined) revived.stack = error.stack;
  return revived;
}
