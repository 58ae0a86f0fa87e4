/**
 * The ordered index: sorted-btree's B+ tree from keys to values, both latin1 strings (one char
 * per byte: compact, immutable, and in bytewise order), whose clone() is an O(1) copy-on-write
 * snapshot. Only the methods the store uses are declared here. The package is
 * CommonJS with an ES-style default export, so it is loaded through require.
 */
import { createRequire } from 'node:module';

export interface Index {
  readonly size: number;
  get(key: string): string | undefined;
  set(key: string, value: string): boolean;
  delete(key: string): boolean;
  /** O(1): both trees share nodes and copy them on write. */
  clone(): Index;
  /** Ascending from the first key ≥ lowestKey. */
  entries(lowestKey?: string): IterableIterator<[string, string]>;
  /** Descending from the last key ≤ highestKey (or < it, with skipHighest). */
  entriesReversed(highestKey?: string, reusedArray?: undefined, skipHighest?: boolean): IterableIterator<[string, string]>;
}

type BTreeConstructor = new (entries: undefined, compare: (a: string, b: string) => number, maxNodeSize: number) => Index;
const BTree = (createRequire(import.meta.url)('sorted-btree') as { default: BTreeConstructor }).default;

/** Plain string order is bytewise order for latin1 keys, and cheaper than the default comparator. */
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const maxNodeEntries = 64;

export function newIndex(): Index {
  return new BTree(undefined, compareKeys, maxNodeEntries);
}
