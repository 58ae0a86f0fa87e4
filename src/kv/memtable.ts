/**
 * The memtable: the index's small mutable part, where every write lands. A Map from keys
 * (latin1 strings, one char per byte, so string order is bytewise order) to slots: a value, or
 * null for a deletion that older runs must not show through. It is sorted only once, when it
 * becomes a run: inserting into a Map costs a hash, where keeping a B+ tree sorted cost a dozen
 * string comparisons per write (in the commit path at 256 writers, the median user CPU per
 * commit over 18 alternating runs fell by 0.12–0.17 µs; bench/README.md).
 *
 * Sorting (`sortedOrder`) packs each key's prefix (its first bytes, sorted-run.ts) with the key's
 * position into one float64, so that one native numeric sort orders them, and only keys whose
 * packed prefixes tie are compared as strings.
 */
import { assert } from '../errors.js';
import { maxMemtableEntries } from './limits.js';

/** A stored value, or null for a deletion (a tombstone). */
export type Slot = string | null;

export class Memtable {
  private readonly slots = new Map<string, Slot>();

  get size(): number {
    return this.slots.size;
  }

  /** The slot, or undefined when the key was neither set nor deleted here. */
  get(key: string): Slot | undefined {
    return this.slots.get(key);
  }

  set(key: string, slot: Slot): void {
    this.slots.set(key, slot);
  }

  /** Keys and slots as parallel arrays, in key order. */
  sorted(prefixOf: (key: string) => number): { keys: string[]; slots: Slot[]; prefixes: Float64Array } {
    const count = this.slots.size;
    const unsortedKeys = new Array<string>(count);
    const unsortedSlots = new Array<Slot>(count);
    const unsortedPrefixes = new Float64Array(count);
    let at = 0;
    this.slots.forEach((slot, key) => {
      unsortedKeys[at] = key;
      unsortedSlots[at] = slot;
      unsortedPrefixes[at] = prefixOf(key);
      at += 1;
    });
    const order = sortedOrder(unsortedKeys, unsortedPrefixes);
    const keys = new Array<string>(count);
    const slots = new Array<Slot>(count);
    const prefixes = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const from = order[i]!;
      keys[i] = unsortedKeys[from]!;
      slots[i] = unsortedSlots[from]!;
      prefixes[i] = unsortedPrefixes[from]!;
    }
    return { keys, slots, prefixes };
  }
}

/**
 * The positions of `keys` in ascending key order. `prefixes[i]` is keys[i]'s 48-bit prefix,
 * which agrees with key order. Each is packed with its position i into an exact float64 (the
 * prefix's top bits above the position's bits), the packed numbers are sorted natively, and runs
 * of equal packed prefixes, which may hold keys out of order, are then sorted by the keys.
 */
export function sortedOrder(keys: readonly string[], prefixes: Float64Array): Uint32Array {
  const count = keys.length;
  assert(count <= maxMemtableEntries, 'a memtable holds at most maxMemtableEntries keys');
  const positionBits = Math.max(1, Math.ceil(Math.log2(Math.max(count, 2))));
  const positionScale = 2 ** positionBits;
  const droppedPrefixScale = 2 ** Math.max(0, 48 - (53 - positionBits));
  const packed = new Float64Array(count);
  for (let i = 0; i < count; i++) packed[i] = Math.floor(prefixes[i]! / droppedPrefixScale) * positionScale + i;
  packed.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = packed[i]! % positionScale;
  // Equal packed prefixes: the keys may differ in the bits dropped or past the prefix.
  for (let start = 0; start < count; ) {
    const packedPrefix = Math.floor(packed[start]! / positionScale);
    let end = start + 1;
    while (end < count && Math.floor(packed[end]! / positionScale) === packedPrefix) end += 1;
    if (end - start > 1) {
      const tied = Array.from(order.subarray(start, end)).sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
      order.set(tied, start);
    }
    start = end;
  }
  return order;
}
