/**
 * The one protocol every snapshot writer runs, in the main thread or in the worker: stream the
 * frozen snapshot into a file and publish it at the target path (atomically, unless the lab
 * injects a naive protocol). When it resolves, the checkpoint is durable at the target and every
 * page of the snapshot has been released; when it rejects, the writer has stopped reading pages
 * and the previous checkpoint is untouched (with the atomic protocol).
 */
import type { Storage } from '../storage/storage.js';
import type { FrozenPages } from './page-tables.js';
import { type PublishProtocol, publishAtomically } from './publish.js';
import { type SnapshotJob, defaultChunkBytes, streamSnapshot } from './stream.js';

export interface WriteCheckpointOptions {
  /** Staging chunk size: bytes per write call (default 4 MiB). */
  chunkBytes?: number;
  /** Permission bits of the checkpoint file (default 0o644). */
  mode?: number;
  randomSuffix?: () => string;
  /** How the file is published (default: publishAtomically). */
  publish?: PublishProtocol;
}

export async function writeCheckpoint(
  storage: Storage,
  targetPath: string,
  frozen: FrozenPages,
  job: SnapshotJob,
  options: WriteCheckpointOptions = {},
): Promise<{ sizeBytes: number }> {
  const publish = options.publish ?? publishAtomically;
  let sizeBytes = 0;
  await publish(
    storage,
    targetPath,
    async (sink) => {
      ({ sizeBytes } = await streamSnapshot(frozen, job, sink, options.chunkBytes ?? defaultChunkBytes));
      return sizeBytes;
    },
    { mode: options.mode, randomSuffix: options.randomSuffix },
  );
  return { sizeBytes };
}
