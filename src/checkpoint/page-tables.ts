/**
 * The page tables shared by the mutator and the snapshot writer, and the writer's view of a
 * frozen snapshot. Four Int32 words per page, in one SharedArrayBuffer:
 *
 *   liveSlot[i]      the slot the mutator reads and writes (written by the mutator only);
 *   frozenSlot[i]    the slot holding page i as it was when snapshot frozenEpoch[i] began;
 *   frozenEpoch[i]   the snapshot for which the mutator copied page i on write;
 *   capturedEpoch[i] the snapshot whose writer has finished reading page i (writer only).
 *
 * Epochs are never reused, so stale entries from earlier snapshots mean nothing and no table is
 * ever reset: starting a snapshot touches no page. Ordering: on its first write to page i
 * during snapshot e (unless the writer already captured it), the mutator copies the page to a
 * new slot and stores frozenSlot, then frozenEpoch, then liveSlot, all with Atomics (sequentially
 * consistent). The writer loads liveSlot, then frozenEpoch, so whichever it sees, it reads the
 * slot that was live at the start of e, which nobody writes until the writer has captured it.
 */
import { assert } from '../errors.js';
import type { SlotSpace } from './slots.js';

const wordsPerPage = 4;

export class PageTables {
  readonly buffer: SharedArrayBuffer;
  readonly liveSlot: Int32Array;
  readonly frozenSlot: Int32Array;
  readonly frozenEpoch: Int32Array;
  readonly capturedEpoch: Int32Array;

  constructor(pageCount: number, buffer?: SharedArrayBuffer) {
    const sizeBytes = pageCount * wordsPerPage * Int32Array.BYTES_PER_ELEMENT;
    this.buffer = buffer ?? new SharedArrayBuffer(sizeBytes);
    assert(this.buffer.byteLength === sizeBytes, `page tables hold ${wordsPerPage} words for each of ${pageCount} pages`);
    const table = (index: number) => new Int32Array(this.buffer, index * pageCount * 4, pageCount);
    this.liveSlot = table(0);
    this.frozenSlot = table(1);
    this.frozenEpoch = table(2);
    this.capturedEpoch = table(3);
  }
}

/**
 * What a snapshot writer sees: page i of snapshot `epoch`, frozen until it calls `release`.
 * The same class serves the inline writer (main thread) and the worker.
 */
export class FrozenPages {
  constructor(
    private readonly tables: PageTables,
    private readonly slots: SlotSpace,
  ) {}

  get pageCount(): number {
    return this.tables.liveSlot.length;
  }

  get pageBytes(): number {
    return this.slots.layout.pageBytes;
  }

  /** Page `pageIndex` as it was when snapshot `epoch` began. Valid until `release(pageIndex, epoch)`. */
  view(pageIndex: number, epoch: number): Uint8Array {
    assert(Atomics.load(this.tables.capturedEpoch, pageIndex) !== epoch, `page ${pageIndex} is read before it is released`);
    const live = Atomics.load(this.tables.liveSlot, pageIndex);
    const copied = Atomics.load(this.tables.frozenEpoch, pageIndex) === epoch;
    return this.slots.view(copied ? Atomics.load(this.tables.frozenSlot, pageIndex) : live);
  }

  /** The writer is done with page `pageIndex` of snapshot `epoch`: the mutator may write it in place. */
  release(pageIndex: number, epoch: number): void {
    Atomics.store(this.tables.capturedEpoch, pageIndex, epoch);
  }
}
