/**
 * Page slots in SharedArrayBuffer slabs. A slot holds one page's bytes; slot ids are dense
 * integers: [0, pageCount) in the base slabs, then the spare slabs added for copies made on
 * write. The mapping from a slot id to its bytes is a pure function of the slab layout and the
 * slabs added so far, so the main thread and the writer worker, given the same slabs in the
 * same order, address the same memory. Slabs are only ever added, never removed or moved.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { type SlabLayout, baseSlabCount, baseSlabSlots, maxSlotCount } from './geometry.js';

export class SlotSpace {
  readonly layout: SlabLayout;
  private readonly slabs: SharedArrayBuffer[] = [];
  private readonly slabBytes: Uint8Array[] = [];
  private slotTotal = 0;

  constructor(layout: SlabLayout) {
    this.layout = layout;
  }

  /** Allocates the base slabs of a fresh, zero-filled state. */
  static allocate(layout: SlabLayout): SlotSpace {
    const space = new SlotSpace(layout);
    for (let index = 0; index < baseSlabCount(layout); index++) {
      space.addSlab(allocateShared(baseSlabSlots(layout, index) * layout.pageBytes));
    }
    return space;
  }

  /** Every slab, in the order added: what a worker needs to address the same slots. */
  get buffers(): readonly SharedArrayBuffer[] {
    return this.slabs;
  }

  get slotCount(): number {
    return this.slotTotal;
  }

  get sizeBytes(): number {
    return this.slotTotal * this.layout.pageBytes;
  }

  /** Adds the next slab (base slabs first, then spares); returns the first slot id it holds. */
  addSlab(buffer: SharedArrayBuffer): number {
    const { pageBytes } = this.layout;
    const index = this.slabs.length;
    const base = baseSlabCount(this.layout);
    const expectedSlots = index < base ? baseSlabSlots(this.layout, index) : this.layout.spareSlotsPerSlab;
    assert(buffer.byteLength === expectedSlots * pageBytes, `slab ${index} holds ${expectedSlots} pages of ${pageBytes} B`);
    assert(this.slotTotal + expectedSlots <= maxSlotCount(this.layout), 'slot ids stay within the bound of two copies per page');
    const first = this.slotTotal;
    this.slabs.push(buffer);
    this.slabBytes.push(new Uint8Array(buffer));
    this.slotTotal += expectedSlots;
    return first;
  }

  /** Allocates and adds one spare slab; returns its buffer and first slot id. */
  addSpareSlab(): { buffer: SharedArrayBuffer; firstSlot: number; slots: number } {
    assert(this.slabs.length >= baseSlabCount(this.layout), 'spare slabs come after every base slab');
    const buffer = allocateShared(this.layout.spareSlotsPerSlab * this.layout.pageBytes);
    const firstSlot = this.addSlab(buffer);
    return { buffer, firstSlot, slots: this.layout.spareSlotsPerSlab };
  }

  /** The slab bytes and the byte offset of a slot within them. */
  locate(slot: number): { bytes: Uint8Array; offsetBytes: number } {
    assert(Number.isInteger(slot) && slot >= 0 && slot < this.slotTotal, `slot ${slot} exists (${this.slotTotal} slots)`);
    const { pageCount, pageBytes, baseSlotsPerSlab, spareSlotsPerSlab } = this.layout;
    let slab: number;
    let indexInSlab: number;
    if (slot < pageCount) {
      slab = Math.floor(slot / baseSlotsPerSlab);
      indexInSlab = slot - slab * baseSlotsPerSlab;
    } else {
      const spareIndex = Math.floor((slot - pageCount) / spareSlotsPerSlab);
      slab = baseSlabCount(this.layout) + spareIndex;
      indexInSlab = slot - pageCount - spareIndex * spareSlotsPerSlab;
    }
    return { bytes: this.slabBytes[slab]!, offsetBytes: indexInSlab * pageBytes };
  }

  /** A view of one slot's page. */
  view(slot: number): Uint8Array {
    const { bytes, offsetBytes } = this.locate(slot);
    return bytes.subarray(offsetBytes, offsetBytes + this.layout.pageBytes);
  }
}

function allocateShared(sizeBytes: number): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(sizeBytes);
  } catch (error) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `cannot allocate ${sizeBytes} bytes of shared memory for pages`, {
      cause: error,
    });
  }
}
