/**
 * The shape of a paged state: how many pages, how big each is, and how their slots are grouped
 * into SharedArrayBuffer slabs. Guarantees: a geometry that passes `checkGeometry` can be
 * allocated, addressed with 32-bit slot ids (live pages plus at most one frozen copy each) and
 * described by the checkpoint file format; pages are multiples of 8 bytes so every page can be
 * viewed as a Float64Array. Pure functions, the same in the main thread and in the worker.
 */
import { CarveError, ErrorCodes } from '../errors.js';

export interface StateGeometry {
  readonly pageBytes: number;
  readonly pageCount: number;
}

/** How the slots of a state are laid out in slabs; derived from the geometry, never stored. */
export interface SlabLayout extends StateGeometry {
  /** Slots [0, pageCount) live in base slabs of this many slots (the last one may be shorter). */
  readonly baseSlotsPerSlab: number;
  /** Slots from pageCount on (copies made on write) live in spare slabs of this many slots. */
  readonly spareSlotsPerSlab: number;
}

export const minPageBytes = 8;
export const maxPageBytes = 64 * 1024 * 1024;
export const maxPageCount = 2 ** 29;
/** A base slab holds at most this many bytes, so no single allocation is huge. */
export const maxSlabBytes = 64 * 1024 * 1024;
/** Spare slabs grow in steps of about 1/256 of the state: the overshoot is bounded by that. */
export const spareSlabFraction = 256;

export function checkGeometry(geometry: StateGeometry): StateGeometry {
  const { pageBytes, pageCount } = geometry;
  if (!Number.isSafeInteger(pageBytes) || pageBytes < minPageBytes || pageBytes > maxPageBytes || pageBytes % 8 !== 0) {
    throw new CarveError(
      ErrorCodes.INVALID_ARGUMENT,
      `pageBytes must be a multiple of 8 from ${minPageBytes} to ${maxPageBytes}, got ${String(pageBytes)}`,
    );
  }
  if (!Number.isSafeInteger(pageCount) || pageCount < 1 || pageCount > maxPageCount) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `pageCount must be an integer from 1 to ${maxPageCount}, got ${String(pageCount)}`);
  }
  return { pageBytes, pageCount };
}

export function stateBytesOf(geometry: StateGeometry): number {
  return geometry.pageBytes * geometry.pageCount;
}

/** The slab layout for a geometry; `spareSlotsPerSlab` may be overridden (tests, benchmarks). */
export function slabLayoutOf(geometry: StateGeometry, spareSlotsPerSlab?: number): SlabLayout {
  const { pageBytes, pageCount } = checkGeometry(geometry);
  const baseSlotsPerSlab = Math.max(1, Math.min(pageCount, Math.floor(maxSlabBytes / pageBytes)));
  const defaultSpare = Math.max(1, Math.min(baseSlotsPerSlab, Math.ceil(pageCount / spareSlabFraction)));
  const spare = spareSlotsPerSlab ?? defaultSpare;
  if (!Number.isSafeInteger(spare) || spare < 1 || spare > baseSlotsPerSlab) {
    throw new CarveError(
      ErrorCodes.INVALID_ARGUMENT,
      `spareSlotsPerSlab must be an integer from 1 to ${baseSlotsPerSlab}, got ${String(spareSlotsPerSlab)}`,
    );
  }
  return { pageBytes, pageCount, baseSlotsPerSlab, spareSlotsPerSlab: spare };
}

export function baseSlabCount(layout: SlabLayout): number {
  return Math.ceil(layout.pageCount / layout.baseSlotsPerSlab);
}

/** Slots in base slab `index` (the last one holds the remainder). */
export function baseSlabSlots(layout: SlabLayout, index: number): number {
  return Math.min(layout.baseSlotsPerSlab, layout.pageCount - index * layout.baseSlotsPerSlab);
}

/**
 * The most slots a state can ever need: every page live once, plus one frozen copy per page
 * during a checkpoint, plus the last spare slab's rounding.
 */
export function maxSlotCount(layout: SlabLayout): number {
  return 2 * layout.pageCount + layout.spareSlotsPerSlab;
}
