/**
 * The memtable: the index's small mutable part, sorted-btree's B+ tree from keys to values
 * (latin1 strings, one char per byte, so string order is bytewise order), where null marks a
 * deletion that older runs must not show through. clone() is an O(1) copy-on-write snapshot.
 * Only the methods the index uses are declared. The package is CommonJS with an ES-style
 * default export, so it is loaded through require.
 */
import { createRequire } from 'node:module';

/** A stored value, or null for a deletion (a tombstone). */
export type Slot = string | null;

export interface Memtable {
  readonly size: number;
  /** The slot, or undefined when the key was neither set nor deleted here. */
  get(key: string): Slot | undefined;
  set(key: string, value: Slot): boolean;
  /** O(1): both trees share nodes and copy them on write. */
  clone(): Memtable;
  forEachPair(visit: (key: string, value: Slot) => void): void;
  /** Ascending from the first key ≥ lowestKey. */
  entries(lowestKey?: string): IterableIterator<[string, Slot]>;
  /** Descending from the last key ≤ highestKey (or < it, with skipHighest). */
  entriesReversed(highestKey?: string, reusedArray?: undefined, skipHighest?: boolean): IterableIterator<[string, Slot]>;
}

type BTreeConstructor = new (entries: undefined, compare: (a: string, b: string) => number, maxNodeSize: number) => Memtable;
const BTree = (createRequire(import.meta.url)('sorted-btree') as { default: BTreeConstructor }).default;

/** Plain string order is bytewise order for latin1 keys, and cheaper than the default comparator. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const maxNodeEntries = 64;

export function newMemtable(): Memtable {
  return new BTree(undefined, compareKeys, maxNodeEntries);
}
