/**
 * Streams one frozen snapshot into a file as the checkpoint format lays it out: header, pages,
 * checksum table, footer, in order, through a byte sink (a file handle's positional write).
 * Every page is checksummed from its frozen slot. Runs of pages that lie next to each other in
 * shared memory (the common case: pages never copied since the state was built) are written
 * straight from there, without a copy, and released once their write has completed; short runs
 * and the small parts are copied into a staging chunk and released right after the copy. Either
 * way a page is released exactly once, only when nothing will read it again, and the file holds
 * exactly the frozen bytes. At most one write is in flight, and the next run is checksummed
 * while it runs. The same function runs in the main thread (inline writer) and in the worker.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { crc32cOf } from './checksum.js';
import { type CheckpointHeader, encodeFooter, encodeHeader, headerCrcOf, layoutOf } from './format.js';
import type { FrozenPages } from './page-tables.js';

export interface ByteSink {
  /** Writes all of `data` at `positionBytes` of the file being built. */
  write(data: Uint8Array, positionBytes: number): Promise<unknown>;
}

export interface SnapshotJob {
  /** The epoch `PagedState.beginSnapshot` returned: which frozen pages to read. */
  readonly epoch: number;
  /** The checkpoint's sequence number, stored in its header and footer. */
  readonly sequence: number;
}

export const defaultChunkBytes = 4 * 1024 * 1024;
export const maxChunkBytes = 256 * 1024 * 1024;
/** Runs at least this long (or a whole chunk, if chunks are smaller) are written without a copy. */
export const directRunBytes = 256 * 1024;

export function checkChunkBytes(chunkBytes: number): number {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > maxChunkBytes) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `chunkBytes must be an integer from 1 to ${maxChunkBytes}, got ${String(chunkBytes)}`);
  }
  return chunkBytes;
}

/** Writes the whole checkpoint file for `job`; returns its size. Every page is released exactly once. */
export async function streamSnapshot(
  frozen: FrozenPages,
  job: SnapshotJob,
  sink: ByteSink,
  chunkBytes: number = defaultChunkBytes,
): Promise<{ sizeBytes: number }> {
  const header: CheckpointHeader = { pageBytes: frozen.pageBytes, pageCount: frozen.pageCount, sequence: job.sequence };
  const layout = layoutOf(header);
  const stagingBytes = Math.min(checkChunkBytes(chunkBytes), layout.fileSizeBytes);
  const out = new SnapshotOutput(sink, stagingBytes);
  const headerBytes = encodeHeader(header);
  await out.stage(headerBytes);
  const table = new Uint8Array(header.pageCount * 4);
  const tableView = new DataView(table.buffer);
  const release = (first: number, count: number): void => {
    for (let page = first; page < first + count; page++) frozen.release(page, job.epoch);
  };

  // A run: pages [runFirst, runFirst + runViews.length), adjacent in memory, at most a chunk long.
  let runFirst = 0;
  let runViews: Uint8Array[] = [];
  const emitRun = async (): Promise<void> => {
    const count = runViews.length;
    if (count === 0) return;
    const first = runFirst;
    const start = runViews[0]!;
    const lengthBytes = count * header.pageBytes;
    if (lengthBytes >= Math.min(directRunBytes, stagingBytes)) {
      await out.direct(new Uint8Array(start.buffer, start.byteOffset, lengthBytes), () => release(first, count));
    } else {
      for (const [k, view] of runViews.entries()) {
        await out.stage(view);
        release(first + k, 1);
      }
    }
    runViews = [];
  };
  for (let page = 0; page < header.pageCount; page++) {
    const view = frozen.view(page, job.epoch);
    tableView.setUint32(page * 4, crc32cOf(view), true);
    const last = runViews[runViews.length - 1];
    const extends_ =
      last !== undefined &&
      view.buffer === last.buffer &&
      view.byteOffset === last.byteOffset + last.byteLength &&
      (runViews.length + 1) * header.pageBytes <= stagingBytes;
    if (!extends_) {
      await emitRun();
      runFirst = page;
    }
    runViews.push(view);
  }
  await emitRun();
  await out.stage(table);
  await out.stage(encodeFooter(header, headerCrcOf(headerBytes), crc32cOf(table)));
  const sizeBytes = await out.finish();
  assert(sizeBytes === layout.fileSizeBytes, `wrote ${sizeBytes} B of a ${layout.fileSizeBytes} B checkpoint`);
  return { sizeBytes };
}

/**
 * Sequential output with at most one write in flight: small parts are copied into one of two
 * staging chunks (one fills while the other is written); long runs are written from the caller's
 * memory, which must stay unchanged until their `written` callback runs.
 */
class SnapshotOutput {
  private current: Uint8Array;
  private spare: Uint8Array;
  private filledBytes = 0;
  private positionBytes = 0;
  private inFlight: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly sink: ByteSink,
    private readonly chunkBytes: number,
  ) {
    this.current = new Uint8Array(chunkBytes);
    this.spare = new Uint8Array(chunkBytes);
  }

  /** Copies `bytes` into staging; the caller may reuse or release them once this resolves. */
  async stage(bytes: Uint8Array): Promise<void> {
    let from = 0;
    while (from < bytes.length) {
      const count = Math.min(bytes.length - from, this.chunkBytes - this.filledBytes);
      this.current.set(bytes.subarray(from, from + count), this.filledBytes);
      this.filledBytes += count;
      from += count;
      if (this.filledBytes === this.chunkBytes) await this.flush();
    }
  }

  /** Writes `bytes` in place, after everything staged before; `written` runs once the write is done. */
  async direct(bytes: Uint8Array, written: () => void): Promise<void> {
    await this.flush();
    await this.settle();
    this.issue(bytes, written);
  }

  /** Writes what is staged and waits for every write; returns the bytes written in all. */
  async finish(): Promise<number> {
    await this.flush();
    await this.settle();
    return this.positionBytes;
  }

  private async flush(): Promise<void> {
    if (this.filledBytes === 0) return;
    await this.settle(); // The spare chunk was in the previous write: it is free once that is done.
    this.issue(this.current.subarray(0, this.filledBytes), () => undefined);
    [this.current, this.spare] = [this.spare, this.current];
    this.filledBytes = 0;
  }

  private issue(data: Uint8Array, written: () => void): void {
    assert(this.inFlight === undefined, 'one write in flight at a time');
    // The handler is attached now: a failure must not become an unhandled rejection meanwhile.
    this.inFlight = this.sink.write(data, this.positionBytes).then(written, (error: unknown) => {
      this.failure = { error };
    });
    this.positionBytes += data.length;
  }

  private async settle(): Promise<void> {
    if (this.inFlight !== undefined) await this.inFlight;
    this.inFlight = undefined;
    if (this.failure !== undefined) throw this.failure.error;
  }
}
