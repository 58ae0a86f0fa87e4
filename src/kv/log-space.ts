/**
 * Preallocated space ahead of a log's records (durability 'sync').
 *
 * A log is written through an O_DSYNC handle, so each group's write returns once durable. When
 * that write grows the file, the file system must also commit the new size (a journal commit on
 * ext4); when it lands in space already written and synced, only the data has to reach the
 * media, which is much cheaper. So the space ahead of the records is filled with zeros, one
 * chunk at a time, through a second O_DSYNC handle, while records go on being written below it.
 * Zeros never form a record (log-format.ts), so recovery sees them as spare space. Fills start
 * small and double up to the chunk size, so that a store opened for a few writes does not
 * write megabytes of zeros.
 *
 * Guarantees:
 * - A record write never overlaps a fill in flight: `reserve` makes a write that would reach
 *   the chunk being filled wait until the fill is done, so zeros never land on a record.
 * - A fill starts on a page boundary at or after the end of every record reserved so far, so a
 *   fill and a record never share a page either.
 * - A failed fill (ENOSPC, EIO) stops preallocation and nothing else: records are still written,
 *   and their own O_DSYNC writes report any writeback error of the file, since every open file
 *   description sees each error once (Linux errseq).
 * - After `finish()` no fill is in flight and none starts: the file changes only by records.
 */
import { assert } from '../errors.js';
import type { FileHandle } from '../storage/storage.js';

export const spacePageBytes = 4096;
/** The first fill of a log (or the chunk size, if smaller); later fills double up to the chunk. */
export const firstFillBytes = 64 * 1024;

interface Fill {
  readonly startBytes: number;
  readonly done: Promise<void>;
}

export class LogSpace {
  private fill: Fill | undefined;
  private stopped = false;
  private finishing: Promise<void> | undefined;
  private fillBytes: number;

  /**
   * @param handle a second O_DSYNC handle on the log, used for fills only
   * @param allocatedBytes the file is written and synced up to here
   * @param chunkBytes bytes per fill, at most; the next fill's size is also the space kept ahead
   *   of the records
   */
  constructor(
    private readonly handle: FileHandle,
    private allocatedBytes: number,
    private readonly chunkBytes: number,
  ) {
    assert(chunkBytes > 0 && chunkBytes % spacePageBytes === 0, `chunk of ${chunkBytes} B is not a positive multiple of ${spacePageBytes} B`);
    assert(handle.dsync, 'fills go through an O_DSYNC handle');
    this.fillBytes = Math.min(firstFillBytes, chunkBytes);
  }

  /** Bytes written and synced ahead of which records may be written without growing the file. */
  get preallocatedBytes(): number {
    return this.allocatedBytes;
  }

  /**
   * Call before writing records that end at `endBytes`. Returns a promise to await when the
   * write must wait for a fill in flight, undefined when it may go now. Starts the next fill
   * when less than a chunk of space would be left ahead.
   */
  reserve(endBytes: number): Promise<void> | undefined {
    const fill = this.fill;
    if (fill !== undefined) return endBytes > fill.startBytes ? fill.done.then(() => this.reserve(endBytes)) : undefined;
    if (!this.stopped && this.finishing === undefined && endBytes + this.fillBytes > this.allocatedBytes) this.startFill(endBytes);
    return undefined;
  }

  /**
   * Waits for the fill in flight, then closes the fill handle. Idempotent, and never fails: the
   * fills are O_DSYNC writes, durable when they returned, so a failed close loses nothing (and a
   * failure kept here would fail every later log rotation).
   */
  finish(): Promise<void> {
    this.finishing ??= (async () => {
      await this.fill?.done;
      await this.handle.close().catch(() => undefined);
    })();
    return this.finishing;
  }

  private startFill(recordsEndBytes: number): void {
    const from = Math.max(this.allocatedBytes, recordsEndBytes);
    const startBytes = Math.ceil(from / spacePageBytes) * spacePageBytes;
    const lengthBytes = this.fillBytes;
    this.fillBytes = Math.min(2 * this.fillBytes, this.chunkBytes);
    const done = this.handle.write(zeros(lengthBytes), startBytes).then(
      () => {
        this.allocatedBytes = startBytes + lengthBytes;
        this.fill = undefined;
      },
      () => {
        this.stopped = true;
        this.fill = undefined;
      },
    );
    this.fill = { startBytes, done };
  }
}

let zeroChunk = Buffer.alloc(0);

/** A shared buffer of zeros, at least `lengthBytes` long, viewed at exactly that length. */
function zeros(lengthBytes: number): Uint8Array {
  if (zeroChunk.length < lengthBytes) zeroChunk = Buffer.alloc(lengthBytes);
  return zeroChunk.subarray(0, lengthBytes);
}
