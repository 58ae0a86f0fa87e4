/**
 * An incremental merge of two adjacent runs into one. Where both hold a key, the newer run's slot
 * wins; deletions are kept unless nothing older than the two runs exists, where they are dropped.
 * The work is done in steps of a bounded number of entries, so a merge of a million entries
 * never stalls the event loop: readers keep using the two inputs (immutable) until the result
 * replaces them.
 */
import { assert } from '../errors.js';
import type { Slot } from './memtable.js';
import { SortedRun } from './sorted-run.js';

export class RunMerge {
  private newerAt = 0;
  private olderAt = 0;
  private outputLength = 0;
  private readonly keys: string[];
  private readonly slots: Slot[];
  private readonly prefixes: Float64Array;
  private merged: SortedRun | undefined;

  constructor(
    readonly newer: SortedRun,
    readonly older: SortedRun,
    /** True when nothing older than `older` exists: deletions then have nothing left to hide. */
    readonly dropTombstones: boolean,
  ) {
    const capacity = newer.length + older.length;
    this.keys = new Array<string>(capacity);
    this.slots = new Array<Slot>(capacity);
    this.prefixes = new Float64Array(capacity);
  }

  /** Input entries not yet consumed. */
  get remaining(): number {
    return this.newer.length - this.newerAt + this.older.length - this.olderAt;
  }

  /** The finished run; only once `step` has returned true. */
  get result(): SortedRun {
    assert(this.merged !== undefined, 'a merge has a result once it is done');
    return this.merged;
  }

  /** Consumes up to `budget` input entries; returns true once the merge is done. */
  step(budget: number): boolean {
    if (this.merged !== undefined) return true;
    const { keys: newerKeys, slots: newerSlots, prefixes: newerPrefixes } = this.newer;
    const { keys: olderKeys, slots: olderSlots, prefixes: olderPrefixes } = this.older;
    const { keys, slots, prefixes, dropTombstones } = this;
    const newerLength = newerKeys.length;
    const olderLength = olderKeys.length;
    let newerAt = this.newerAt;
    let olderAt = this.olderAt;
    let out = this.outputLength;
    for (let work = 0; work < budget; work++) {
      let takeNewer: boolean;
      if (newerAt < newerLength && olderAt < olderLength) {
        const newerPrefix = newerPrefixes[newerAt]!;
        const olderPrefix = olderPrefixes[olderAt]!;
        if (newerPrefix !== olderPrefix) takeNewer = newerPrefix < olderPrefix;
        else {
          const newerKey = newerKeys[newerAt]!;
          const olderKey = olderKeys[olderAt]!;
          takeNewer = newerKey <= olderKey;
          // The same key in both: the newer slot wins and the older one is consumed unseen.
          if (newerKey === olderKey) {
            olderAt += 1;
            work += 1;
          }
        }
      } else if (newerAt < newerLength) takeNewer = true;
      else if (olderAt < olderLength) takeNewer = false;
      else break;
      const slot = takeNewer ? newerSlots[newerAt]! : olderSlots[olderAt]!;
      if (slot !== null || !dropTombstones) {
        keys[out] = takeNewer ? newerKeys[newerAt]! : olderKeys[olderAt]!;
        slots[out] = slot;
        prefixes[out] = takeNewer ? newerPrefixes[newerAt]! : olderPrefixes[olderAt]!;
        out += 1;
      }
      if (takeNewer) newerAt += 1;
      else olderAt += 1;
    }
    assert(newerAt <= newerLength && olderAt <= olderLength, 'a merge consumes no entry past the end of its runs');
    this.newerAt = newerAt;
    this.olderAt = olderAt;
    this.outputLength = out;
    if (newerAt < newerLength || olderAt < olderLength) return false;
    keys.length = out;
    slots.length = out;
    this.merged = new SortedRun(keys, slots, out === prefixes.length ? prefixes : prefixes.slice(0, out));
    return true;
  }
}
