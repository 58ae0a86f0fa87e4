/**
 * A sorted run: an immutable array of distinct keys in bytewise order, with their slots (a value,
 * or null for a deletion). Runs are what the memtable becomes when it fills, what many pending
 * writes are sorted into at once (fromUnsorted), and what merges make.
 *
 * Each key also carries a number, its prefix: its first 6 bytes as a 48-bit integer (zero-padded,
 * exact in a float64). Prefix order agrees with key order (a < b implies prefix(a) ≤ prefix(b)),
 * so searches and merges compare the prefixes, read from one contiguous Float64Array, and only
 * on a tie read the key strings themselves. Keys are scattered across the heap, so this saves
 * a cache miss at almost every comparison when keys differ early (random or hashed keys).
 * A run of 1,024 keys or more also gets a Bloom filter of its prefixes, so that point reads skip
 * it when it cannot hold the key, but only once a point read asks for it with older runs behind
 * the run (the oldest run is searched anyway): a store that only writes never builds one, and
 * building a filter for every run that folds and merges make cost about 6% of the CPU per commit
 * at 256 writers (bench/README, "Bloom filters built on first read"). The read that builds one
 * pays for it at once: 40–60 ns per key, 20–30 ms for a run of 500,000 keys.
 */
import { assert } from '../errors.js';
import type { Memtable, Slot } from './memtable.js';
import { PrefixFilter } from './prefix-filter.js';

const prefixBytes = 6;

/** The first 6 chars of a latin1 key (chars under 256) as a 48-bit number, zero-padded. */
export function keyPrefix(key: string): number {
  let prefix = 0;
  for (let i = 0; i < prefixBytes; i++) prefix = prefix * 256 + (i < key.length ? key.charCodeAt(i) : 0);
  return prefix;
}

export class SortedRun {
  private filter: PrefixFilter | undefined = undefined;

  constructor(
    readonly keys: readonly string[],
    readonly slots: readonly Slot[],
    readonly prefixes: Float64Array,
  ) {
    assert(keys.length === slots.length && keys.length === prefixes.length, 'a run holds one slot and one prefix per key');
  }

  get length(): number {
    return this.keys.length;
  }

  /**
   * The memtable's entries as a run; when nothing older exists (`oldest`), without its
   * deletions.
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
    return new SortedRun(keys, slots, prefixesOf(keys));
  }

  /**
   * The latest slot of each key among `keys[i] → slots[i]`, given in write order (a later entry
   * replaces an earlier one with the same key), as a run; `oldest` as in fromMemtable.
   *
   * Sorted without a comparator call per comparison: each entry's prefix, cut to the bits that
   * fit beside its position in a float64's 53-bit integer range, is packed with its position and
   * the packed numbers are sorted natively. Entries whose cut prefixes tie (keys that share their
   * first bytes) are then put in order by their keys with the native string sort, after keeping
   * the last write of each. Measured in bench/README (bench/kv-fold.ts): for random keys about
   * half the cost of inserting them into the memtable and flushing it; for keys sharing their
   * first 8 bytes, where the string sort does all the work, about 1.1 times that cost.
   * Keys are latin1 (chars under 256), so that their prefixes fit 48 bits.
   */
  static fromUnsorted(keys: readonly string[], slots: readonly Slot[], oldest: boolean): SortedRun {
    const count = keys.length;
    assert(slots.length === count && count < 2 ** 31, 'one slot per key, positions fit an Int32Array');
    const positionBits = Math.ceil(Math.log2(Math.max(count, 2)));
    const positionScale = 2 ** positionBits;
    const unsortedPrefixes = prefixesOf(keys);
    const packed = packedPrefixes(unsortedPrefixes, positionBits, positionScale);
    packed.sort();
    const latest = new Int32Array(count);
    const distinct = lastWritesInKeyOrder(packed, positionScale, keys, latest);
    return gatherRun(latest, distinct, keys, slots, unsortedPrefixes, oldest);
  }

  /**
   * A run of distinct keys in ascending order (a checkpoint's contents). The caller has checked
   * the order (LsmIndex.fromEntries, as it collects them): checking it again here would compare
   * every key of a reopened store a second time.
   */
  static fromSorted(keys: readonly string[], values: readonly string[]): SortedRun {
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

  /**
   * The slot stored for key here (null: deleted here), or undefined if the run does not hold it.
   * With `olderRunsBehind`, a run of filteredRunEntries keys or more first asks its Bloom filter,
   * built at the first such read.
   */
  get(key: string, prefix = keyPrefix(key), olderRunsBehind = false): Slot | undefined {
    if (olderRunsBehind && this.keys.length >= filteredRunEntries && !this.prefixFilter().mightHold(prefix)) return undefined;
    const position = this.lowerBound(key, prefix);
    return position < this.keys.length && this.prefixes[position] === prefix && this.keys[position] === key ? this.slots[position] : undefined;
  }

  /** Whether the run's Bloom filter has been built (for tests and diagnostics). */
  get hasFilter(): boolean {
    return this.filter !== undefined;
  }

  /** The Bloom filter of the run's prefixes, built on first use (runs never change). */
  private prefixFilter(): PrefixFilter {
    if (this.filter === undefined) {
      const filter = new PrefixFilter(this.prefixes.length);
      for (const prefix of this.prefixes) filter.add(prefix);
      this.filter = filter;
    }
    return this.filter;
  }
}

/** Runs smaller than this get no filter: searching them costs about what filtering would. */
const filteredRunEntries = 1024;

/*
 * fromUnsorted's steps, one loop each (their arguments passed one by one, not in an object, as
 * these run once per fold over every write). In one function, V8 compiled each loop on its own
 * as it ran (on-stack replacement) and dropped the compiled code on reaching code after the loop
 * with no type feedback: 101 deoptimizations of fromUnsorted in a 2.5-second run of 256 writers
 * (`node --trace-deopt`); one, of packedPrefixes, in a run since. A fold of 16,384 writes in
 * that run took 2.69–3.06 ms, against 2.93–3.26 ms before (three runs each): too little to show
 * in commits/s.
 */

/**
 * Each prefix, cut to the bits that fit beside its position (`positionBits`; positionScale is
 * 2 ** positionBits) in a float64's 53-bit integer range, packed with its position.
 */
function packedPrefixes(prefixes: Float64Array, positionBits: number, positionScale: number): Float64Array {
  const cutScale = 2 ** Math.max(0, prefixBytes * 8 - (53 - positionBits));
  const packed = new Float64Array(prefixes.length);
  let highestPrefix = 0;
  for (let i = 0; i < prefixes.length; i++) {
    const prefix = prefixes[i]!;
    if (prefix > highestPrefix) highestPrefix = prefix;
    packed[i] = Math.floor(prefix / cutScale) * positionScale + i;
  }
  // A char over 0xff would push a packed number past 2^53, and its position would be lost.
  assert(highestPrefix < 2 ** (prefixBytes * 8), 'keys are latin1: their prefixes fit 48 bits');
  return packed;
}

/**
 * Fills `latest` with the position of each key's last write, in key order, from the sorted
 * packed prefixes; returns how many keys there are.
 */
function lastWritesInKeyOrder(packed: Float64Array, positionScale: number, keys: readonly string[], latest: Int32Array): number {
  const count = packed.length;
  let distinct = 0;
  let tieFrom = 0;
  for (let j = 1; j <= count; j++) {
    if (j < count && Math.floor(packed[j]! / positionScale) === Math.floor(packed[tieFrom]! / positionScale)) continue;
    if (j - tieFrom === 1) latest[distinct++] = packed[tieFrom]! % positionScale;
    else distinct = orderTies(packed, tieFrom, j, positionScale, keys, latest, distinct);
    tieFrom = j;
  }
  return distinct;
}

/**
 * packed[from, to) share their cut prefix and ascend by position: writes the position of the
 * last write of each of their keys to `latest` from `distinct` on, in key order (the native
 * string sort); returns the new count.
 */
function orderTies(packed: Float64Array, from: number, to: number, positionScale: number, keys: readonly string[], latest: Int32Array, distinct: number): number {
  const lastPosition = new Map<string, number>();
  for (let j = from; j < to; j++) {
    const at = packed[j]! % positionScale;
    lastPosition.set(keys[at]!, at);
  }
  for (const key of [...lastPosition.keys()].sort()) latest[distinct++] = lastPosition.get(key)!;
  return distinct;
}

/** The run of the writes at latest[0, distinct); `oldest` as in fromMemtable. */
function gatherRun(latest: Int32Array, distinct: number, keys: readonly string[], slots: readonly Slot[], unsortedPrefixes: Float64Array, oldest: boolean): SortedRun {
  const runKeys = new Array<string>(distinct);
  const runSlots = new Array<Slot>(distinct);
  const prefixes = new Float64Array(distinct);
  let length = 0;
  for (let j = 0; j < distinct; j++) {
    const at = latest[j]!;
    const slot = slots[at] as Slot;
    if (slot === null && oldest) continue;
    prefixes[length] = unsortedPrefixes[at]!;
    runKeys[length] = keys[at]!;
    runSlots[length] = slot;
    length += 1;
  }
  runKeys.length = length;
  runSlots.length = length;
  return new SortedRun(runKeys, runSlots, length === distinct ? prefixes : prefixes.slice(0, length));
}

function prefixesOf(keys: readonly string[]): Float64Array {
  const prefixes = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) prefixes[i] = keyPrefix(keys[i]!);
  return prefixes;
}
