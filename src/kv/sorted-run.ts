/**
 * A sorted run: an immutable array of distinct keys in bytewise order, with their slots (a value,
 * or null for a deletion). Runs are what the memtable becomes when it fills, and what merges make.
 *
 * Each key also carries a number, its prefix: its first 6 bytes as a 48-bit integer (zero-padded,
 * exact in a float64). Prefix order agrees with key order (a < b implies prefix(a) ≤ prefix(b)),
 * so searches and merges compare the prefixes, read from one contiguous Float64Array, and only
 * on a tie read the key strings themselves. Keys are scattered across the heap, so this saves
 * a cache miss at almost every comparison when keys differ early (random or hashed keys).
 * A run with older runs behind it also has a Bloom filter of its prefixes (from 1,024 keys up),
 * so that point reads skip it when it cannot hold the key.
 */
import { assert } from '../errors.js';
import type { Memtable, Slot } from './memtable.js';
import { PrefixFilter } from './prefix-filter.js';

const prefixBytes = 6;

export function keyPrefix(key: string): number {
  let prefix = 0;
  for (let i = 0; i < prefixBytes; i++) prefix = prefix * 256 + (i < key.length ? key.charCodeAt(i) : 0);
  return prefix;
}

export class SortedRun {
  constructor(
    readonly keys: readonly string[],
    readonly slots: readonly Slot[],
    readonly prefixes: Float64Array,
    /** For runs with older runs behind them: lets a read skip this run (prefix-filter.ts). */
    readonly filter?: PrefixFilter,
  ) {
    assert(keys.length === slots.length && keys.length === prefixes.length, 'a run holds one slot and one prefix per key');
  }

  get length(): number {
    return this.keys.length;
  }

  /**
   * The memtable's entries as a run. When nothing older exists (`oldest`), without its
   * deletions, and without a filter: a read that reaches the oldest run searches it anyway.
   */
  static fromMemtable(memtable: Memtable, oldest: boolean): SortedRun {
    const keys = new Array<string>(memtable.size);
    const slots = new Array<Slot>(memtable.size);
    let length = 0;
    memtable.forEachPair((key, slot) => {
      if (slot === null && oldest) return;
      keys[length] = key;
      slots[length] = slot;
      length += 1;
    });
    keys.length = length;
    slots.length = length;
    const prefixes = prefixesOf(keys);
    const filter = filterFor(length, oldest);
    if (filter !== undefined) for (let i = 0; i < length; i++) filter.add(prefixes[i]!);
    return new SortedRun(keys, slots, prefixes, filter);
  }

  /**
   * A run of distinct keys in ascending order (a checkpoint's contents). The caller has checked
   * the order (LsmIndex.fromEntries, as it collects them): checking it again here would compare
   * every key of a reopened store a second time.
   */
  static fromSorted(keys: string[], values: string[]): SortedRun {
    return new SortedRun(keys, values, prefixesOf(keys));
  }

  /** The first position whose key is ≥ key (length if none). */
  lowerBound(key: string, prefix = keyPrefix(key)): number {
    const { keys, prefixes } = this;
    let low = 0;
    let high = keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = prefixes[middle]!;
      if (other < prefix || (other === prefix && keys[middle]! < key)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The slot stored for key here (null: deleted here), or undefined if the run does not hold it. */
  get(key: string, prefix = keyPrefix(key)): Slot | undefined {
    if (this.filter !== undefined && !this.filter.mightHold(prefix)) return undefined;
    const position = this.lowerBound(key, prefix);
    return position < this.keys.length && this.prefixes[position] === prefix && this.keys[position] === key ? this.slots[position] : undefined;
  }
}

/** Runs smaller than this get no filter: searching them costs about what filtering would. */
const filteredRunEntries = 1024;

/**
 * An empty filter for a run of `entries` keys, or none: the oldest run gets none (a read that
 * reaches it searches it anyway), nor does a run under filteredRunEntries.
 */
export function filterFor(entries: number, oldest: boolean): PrefixFilter | undefined {
  return oldest || entries < filteredRunEntries ? undefined : new PrefixFilter(entries);
}

function prefixesOf(keys: readonly string[]): Float64Array {
  const prefixes = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) prefixes[i] = keyPrefix(keys[i]!);
  return prefixes;
}
