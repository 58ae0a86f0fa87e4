/**
 * PagedState: large binary state in fixed-size pages of shared memory, mutated by one thread
 * (the mutator) while snapshots of it are written in the background.
 *
 * Guarantees: `beginSnapshot` freezes every page in O(1) (it only advances an epoch); from then
 * until `endSnapshot`, the first write to a page the writer has not yet captured copies the
 * page to a spare slot and redirects the mutator there, so the writer reads each page exactly as
 * it was when the snapshot began (CALC-style copy on first write, no reset scan). Pages the
 * writer has already captured are written in place, and the original of a copied page is
 * recycled as soon as the writer has captured it, so extra memory is at most one page per page
 * copied and not yet captured, plus one spare slab of rounding. Spare slots are kept in a pool
 * for the next snapshot (the pool never shrinks). Assumes a single mutator thread; page views
 * handed out are valid until the next mutation of the state.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { type SlabLayout, type StateGeometry, slabLayoutOf } from './geometry.js';
import { FrozenPages, PageTables } from './page-tables.js';
import { SlotSpace } from './slots.js';

export interface PagedStateOptions extends StateGeometry {
  /** Slots per spare slab (default about 1/256 of the state, at least one page). */
  spareSlotsPerSlab?: number;
}

/** What a worker needs to address the same pages: the layout, the tables and every slab so far. */
export interface SharedStateMemory {
  readonly layout: SlabLayout;
  readonly tables: SharedArrayBuffer;
  readonly slabs: readonly SharedArrayBuffer[];
}

export type SlabListener = (buffer: SharedArrayBuffer, firstSlot: number) => void;

export interface MemoryStats {
  /** Bytes of page slots allocated: the state itself plus every spare slab. */
  readonly slotBytes: number;
  /** Bytes of spare slots, whether holding frozen pages or free. */
  readonly spareBytes: number;
  /** Originals of pages copied on write, still held for the running snapshot's writer. */
  readonly frozenCopies: number;
  /** Pages copied on write since the state was created. */
  readonly copiesOnWriteTotal: number;
}

export class PagedState {
  readonly pageBytes: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  private readonly slots: SlotSpace;
  private readonly tables: PageTables;
  private readonly freeSlots: number[] = [];
  /**
   * The originals of the pages copied for the running snapshot (page index and slot, side by
   * side): each slot returns to `freeSlots` once the writer has captured its page, or at the end.
   */
  private frozenPagesHeld: number[] = [];
  private frozenSlotsHeld: number[] = [];
  private copiesThisSnapshot = 0;
  /** The running snapshot's epoch, or 0 when none runs. */
  private runningEpoch = 0;
  private lastEpoch = 0;
  private mutating = false;
  private copiesOnWriteTotal = 0;
  private readonly slabListeners = new Set<SlabListener>();

  private constructor(slots: SlotSpace, tables: PageTables) {
    this.slots = slots;
    this.tables = tables;
    this.pageBytes = slots.layout.pageBytes;
    this.pageCount = slots.layout.pageCount;
    this.sizeBytes = this.pageBytes * this.pageCount;
  }

  /** A zero-filled state. */
  static create(options: PagedStateOptions): PagedState {
    const layout = slabLayoutOf(options, options.spareSlotsPerSlab);
    const tables = new PageTables(layout.pageCount);
    for (let page = 0; page < layout.pageCount; page++) tables.liveSlot[page] = page;
    return new PagedState(SlotSpace.allocate(layout), tables);
  }

  // ---- the mutator's API ----

  /** Writes `data` into page `pageIndex` at `offsetInPage`. */
  write(pageIndex: number, offsetInPage: number, data: Uint8Array): void {
    this.checkPage(pageIndex);
    if (!(data instanceof Uint8Array)) throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'data must be a Uint8Array');
    this.checkSpan(pageIndex, offsetInPage, data.length, 'write');
    const { bytes, offsetBytes } = this.slots.locate(this.writableSlot(pageIndex));
    bytes.set(data, offsetBytes + offsetInPage);
  }

  /** A copy of `lengthBytes` bytes of page `pageIndex` from `offsetInPage`. */
  read(pageIndex: number, offsetInPage: number, lengthBytes: number): Uint8Array {
    this.checkPage(pageIndex);
    this.checkSpan(pageIndex, offsetInPage, lengthBytes, 'read');
    const { bytes, offsetBytes } = this.slots.locate(this.tables.liveSlot[pageIndex]!);
    return bytes.slice(offsetBytes + offsetInPage, offsetBytes + offsetInPage + lengthBytes);
  }

  /**
   * A read-only view of page `pageIndex`, valid until the next mutation of the state. Writing
   * through it would bypass copy-on-write and could leak into a running snapshot: use
   * `write` or `mutate`.
   */
  page(pageIndex: number): Uint8Array {
    this.checkPage(pageIndex);
    return this.slots.view(this.tables.liveSlot[pageIndex]!);
  }

  /** Runs `change` on a writable view of page `pageIndex`; the view is valid only during the call. */
  mutate<T>(pageIndex: number, change: (page: Uint8Array) => T): T {
    this.checkPage(pageIndex);
    if (this.mutating) throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'mutate() cannot be nested');
    const view = this.slots.view(this.writableSlot(pageIndex));
    this.mutating = true;
    try {
      return change(view);
    } finally {
      this.mutating = false;
    }
  }

  // ---- snapshot control, for the checkpointer ----

  get snapshotRunning(): boolean {
    return this.runningEpoch !== 0;
  }

  /** Freezes every page for a new snapshot in O(1) and returns its epoch. */
  beginSnapshot(): number {
    if (this.runningEpoch !== 0) {
      throw new CarveError(ErrorCodes.CHECKPOINT_RUNNING, `snapshot ${this.runningEpoch} of this state is still being written`);
    }
    if (this.mutating) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'a snapshot cannot begin inside mutate(): the page is half-changed');
    }
    assert(this.lastEpoch < 0x7fff_ffff, 'snapshot epochs fit in an Int32');
    assert(this.frozenSlotsHeld.length === 0, 'no frozen originals are left from an earlier snapshot');
    this.lastEpoch += 1;
    this.runningEpoch = this.lastEpoch;
    this.copiesThisSnapshot = 0;
    return this.runningEpoch;
  }

  /**
   * Ends snapshot `epoch`: its writer has stopped reading (finished or failed). The originals
   * still held for it go back to the pool. O(pages copied). Returns how many pages were copied.
   */
  endSnapshot(epoch: number): { copiesOnWrite: number } {
    assert(epoch === this.runningEpoch && epoch !== 0, `ending the running snapshot ${this.runningEpoch}, not ${epoch}`);
    for (const slot of this.frozenSlotsHeld) this.freeSlots.push(slot);
    this.frozenPagesHeld = [];
    this.frozenSlotsHeld = [];
    this.runningEpoch = 0;
    return { copiesOnWrite: this.copiesThisSnapshot };
  }

  /** The writer's view of this state's frozen pages (for a writer in this thread). */
  frozenPages(): FrozenPages {
    return new FrozenPages(this.tables, this.slots);
  }

  /** The shared memory a writer in another thread needs; later slabs are announced to listeners. */
  sharedMemory(): SharedStateMemory {
    return { layout: this.slots.layout, tables: this.tables.buffer, slabs: [...this.slots.buffers] };
  }

  /** Calls `listener` for each spare slab added from now on; returns an unsubscribe function. */
  onSlabAdded(listener: SlabListener): () => void {
    this.slabListeners.add(listener);
    return () => this.slabListeners.delete(listener);
  }

  memoryStats(): MemoryStats {
    return {
      slotBytes: this.slots.sizeBytes,
      spareBytes: this.slots.sizeBytes - this.sizeBytes,
      frozenCopies: this.frozenSlotsHeld.length,
      copiesOnWriteTotal: this.copiesOnWriteTotal,
    };
  }

  // ---- internals ----

  /** The slot the mutator may write for page `pageIndex`, copying it first if a snapshot needs the original. */
  private writableSlot(pageIndex: number): number {
    const live = this.tables.liveSlot[pageIndex]!;
    const epoch = this.runningEpoch;
    if (epoch === 0 || this.tables.frozenEpoch[pageIndex] === epoch) return live;
    if (Atomics.load(this.tables.capturedEpoch, pageIndex) === epoch) return live;
    return this.copyOnWrite(pageIndex, live, epoch);
  }

  private copyOnWrite(pageIndex: number, live: number, epoch: number): number {
    const copy = this.takeFreeSlot();
    assert(copy !== live, 'a copy never lands on the page it copies');
    this.slots.view(copy).set(this.slots.view(live));
    // Publish in this order; FrozenPages.view reads liveSlot first, then frozenEpoch.
    Atomics.store(this.tables.frozenSlot, pageIndex, live);
    Atomics.store(this.tables.frozenEpoch, pageIndex, epoch);
    Atomics.store(this.tables.liveSlot, pageIndex, copy);
    this.frozenPagesHeld.push(pageIndex);
    this.frozenSlotsHeld.push(live);
    this.copiesThisSnapshot += 1;
    this.copiesOnWriteTotal += 1;
    return copy;
  }

  private takeFreeSlot(): number {
    if (this.freeSlots.length === 0) this.recycleCaptured();
    if (this.freeSlots.length === 0) {
      const { buffer, firstSlot, slots } = this.slots.addSpareSlab();
      for (let slot = firstSlot + slots - 1; slot >= firstSlot; slot--) this.freeSlots.push(slot);
      for (const listener of this.slabListeners) listener(buffer, firstSlot);
    }
    return this.freeSlots.pop()!;
  }

  /** Returns to the pool the originals whose pages the writer has captured. O(originals held). */
  private recycleCaptured(): void {
    const epoch = this.runningEpoch;
    if (epoch === 0) return;
    let kept = 0;
    for (let k = 0; k < this.frozenSlotsHeld.length; k++) {
      const page = this.frozenPagesHeld[k]!;
      const slot = this.frozenSlotsHeld[k]!;
      if (Atomics.load(this.tables.capturedEpoch, page) === epoch) {
        this.freeSlots.push(slot);
      } else {
        this.frozenPagesHeld[kept] = page;
        this.frozenSlotsHeld[kept] = slot;
        kept += 1;
      }
    }
    this.frozenPagesHeld.length = kept;
    this.frozenSlotsHeld.length = kept;
  }

  private checkPage(pageIndex: number): void {
    if (!Number.isInteger(pageIndex) || pageIndex < 0 || pageIndex >= this.pageCount) {
      throw new CarveError(
        ErrorCodes.PAGE_OUT_OF_RANGE,
        `page ${String(pageIndex)} is out of range: the state has pages 0 to ${this.pageCount - 1}`,
      );
    }
  }

  private checkSpan(pageIndex: number, offsetInPage: number, lengthBytes: number, what: string): void {
    if (
      !Number.isSafeInteger(offsetInPage) ||
      !Number.isSafeInteger(lengthBytes) ||
      offsetInPage < 0 ||
      lengthBytes < 0 ||
      offsetInPage + lengthBytes > this.pageBytes
    ) {
      throw new CarveError(
        ErrorCodes.INVALID_ARGUMENT,
        `${what} of ${String(lengthBytes)} B at offset ${String(offsetInPage)} does not fit in page ${pageIndex} of ${this.pageBytes} B`,
      );
    }
  }
}
