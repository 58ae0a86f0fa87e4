/**
 * The ordered index: sorted-btree's B+ tree keyed by latin1 strings, whose clone() is an O(1)
 * copy-on-write snapshot. Only the methods the store uses are declared here. The package is
 * CommonJS with an ES-style default export, so it is loaded through require.
 */
import { createRequire } from 'node:module';

export interface Index {
  readonly size: number;
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): boolean;
  delete(key: string): boolean;
  /** O(1): both trees share nodes and copy them on write. */
  clone(): Index;
  /** Ascending from the first key ≥ lowestKey. */
  entries(lowestKey?: string): IterableIterator<[string, Uint8Array]>;
  /** Descending from the last key ≤ highestKey (or < it, with skipHighest). */
  entriesReversed(highestKey?: string, reusedArray?: undefined, skipHighest?: boolean): IterableIterator<[string, Uint8Array]>;
}

const BTree = (createRequire(import.meta.url)('sorted-btree') as { default: new () => Index }).default;

export function newIndex(): Index {
  return new BTree();
}
