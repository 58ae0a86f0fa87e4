/**
 * The store's in-memory ordered index, a log-structured merge (LSM) of layers:
 * - pending writes: the latest writes (since the last read, at most `memtableEntries`), in
 *   write order;
 * - a small mutable memtable (a B+ tree);
 * - sorted runs, newest first: the memtable becomes one when it reaches `memtableEntries`, or
 *   before a fold of many pending writes, which become a run of their own;
 * - incremental merges of adjacent runs, so that each run is at least about twice the size of
 *   the run before it (as in a binary counter): about log2(keys / size of the runs folded or
 *   flushed) runs, log2(keys / memtableEntries) when writes come without reads between them.
 *
 * Why: inserting a random key into one big tree costs a cache miss per level, about 3 µs with a
 * million keys. Here a write is only appended to a list, and merges move each entry about
 * log2(keys / memtableEntries) times through sequential arrays, comparing numeric key prefixes
 * (sorted-run.ts) instead of scattered strings.
 *
 * The first read after some writes (any read: get, entries, size, snapshot; or fold(), which a
 * checkpoint calls before it makes commits wait) folds them in. A few
 * (under a quarter of `memtableEntries`) are inserted into the memtable, which stays in cache.
 * More are sorted at once into a run of their own (SortedRun.fromUnsorted), newer than the
 * memtable, which becomes a run first: for random keys that costs about half as much as
 * inserting them one by one, for keys that share their first bytes about as much
 * (bench/kv-fold.ts). Writes with no read between them are folded every `memtableEntries`
 * writes. So a store that only writes never touches the tree, and one that reads between every
 * few writes works as if each write went into the memtable. The write or read that folds pays
 * for it: sorting 16,384 writes takes about 3 ms with random keys, 8–10 ms with keys sharing
 * their first 8 bytes. Likewise the first point read to reach a run (of 1,024 keys or more,
 * with older runs behind it) builds the run's Bloom filter: 20–30 ms for 500,000 keys.
 *
 * Guarantees:
 * - A read sees the newest layer holding the key; a deletion (null) hides older layers.
 * - snapshot() is immutable, and O(1) apart from folding in the pending writes (at most
 *   `memtableEntries`; the fold may turn the memtable into a run, and past `maxRuns` finish the
 *   merges, as a write may): it shares the memtable copy-on-write and the runs, which are never
 *   changed (merges make new runs and swap them in).
 * - Merge work is paid by writes, in slices of at most `(runs + 2) × workSliceWrites` entries
 *   every `workSliceWrites` writes, smallest merge first: no single write stalls for a whole
 *   large merge, and merges keep pace with writes (each write buys more work than the
 *   log2(keys / memtableEntries) passes its entry will need). Should runs still pile up past
 *   `maxRuns`, merges are run to completion (with the merges they lead to) until each run is at
 *   least twice the one before.
 * - `size` is exact; it is counted, O(keys), on the first read after a change, then cached.
 */
import { assert } from '../errors.js';
import { defaultMemtableEntries } from './limits.js';
import { type EntryCursor, ascendingCursor, descendingCursor, entriesOf } from './merged-entries.js';
import { type Memtable, type Slot, newMemtable } from './memtable.js';
import { RunMerge } from './run-merge.js';
import { SortedRun, keyPrefix } from './sorted-run.js';

/** A consistent, read-only view of the index. */
export interface IndexView {
  readonly size: number;
  get(key: string): string | undefined;
  /** Ascending from the first key ≥ lowestKey. */
  entries(lowestKey?: string): Iterable<[string, string]>;
  /** Descending from the last key ≤ highestKey (or < it, with skipHighest). */
  entriesReversed(highestKey?: string, skipHighest?: boolean): Iterable<[string, string]>;
  /** Every entry, ascending, without an object per entry. */
  cursor(): EntryCursor;
}

export interface LsmOptions {
  /** The memtable becomes a run at this many entries (default 16384). */
  memtableEntries?: number;
  /** Merge work is done once per this many writes (default 1024). */
  workSliceWrites?: number;
  /** Past this many runs, merges are run to completion (default 48). */
  maxRuns?: number;
}

/** What the index is made of now (for tests and diagnostics). */
export interface LsmShape {
  readonly memtableEntries: number;
  /** Entry counts of the runs, newest first. */
  readonly runLengths: number[];
  /** How many runs have built their Bloom filter (at a point read: sorted-run.ts). */
  readonly runsWithFilters: number;
}

const defaults: Required<LsmOptions> = { memtableEntries: defaultMemtableEntries, workSliceWrites: 1024, maxRuns: 48 };

class Layers implements IndexView {
  constructor(
    protected memtable: Memtable,
    protected runs: readonly SortedRun[],
    /** The number of keys, once counted (a snapshot starts with the index's count, if any). */
    protected countedSize?: number,
  ) {}

  get size(): number {
    this.beforeRead();
    if (this.countedSize === undefined) {
      const cursor = this.cursor();
      let count = 0;
      while (cursor.next()) count += 1;
      this.countedSize = count;
    }
    return this.countedSize;
  }

  get(key: string): string | undefined {
    this.beforeRead();
    const slot = this.memtable.get(key);
    if (slot !== undefined) return slot ?? undefined;
    const runs = this.runs;
    if (runs.length === 0) return undefined;
    const prefix = keyPrefix(key);
    const last = runs.length - 1;
    for (let i = 0; i <= last; i++) {
      const held = runs[i]!.get(key, prefix, i < last);
      if (held !== undefined) return held ?? undefined;
    }
    return undefined;
  }

  entries(lowestKey?: string): Iterable<[string, string]> {
    this.beforeRead();
    return entriesOf(ascendingCursor(this.memtable, this.runs, lowestKey));
  }

  entriesReversed(highestKey?: string, skipHighest = false): Iterable<[string, string]> {
    this.beforeRead();
    return entriesOf(descendingCursor(this.memtable, this.runs, highestKey, skipHighest));
  }

  cursor(): EntryCursor {
    this.beforeRead();
    return ascendingCursor(this.memtable, this.runs);
  }

  /** Called on every change: the counted size no longer holds. */
  protected changed(): void {
    this.countedSize = undefined;
  }

  /** Called before every read: brings the layers up to date (a snapshot's always are). */
  protected beforeRead(): void {}
}

export class LsmIndex extends Layers {
  private readonly options: Required<LsmOptions>;
  private merges: RunMerge[] = [];
  private writesUntilWork: number;
  /**
   * Writes not yet folded into the layers, in write order (null: a deletion): the first
   * `pendingCount` entries. The arrays are reused from fold to fold, and cleared by each fold,
   * so that they keep no string alive that the index has dropped.
   */
  private readonly pendingKeys: string[] = [];
  private readonly pendingSlots: Slot[] = [];
  private pendingCount = 0;

  constructor(options: LsmOptions = {}) {
    super(newMemtable(), []);
    this.options = { ...defaults, ...options };
    assert(this.options.memtableEntries >= 1 && this.options.workSliceWrites >= 1 && this.options.maxRuns >= 2, 'LSM options are positive');
    this.writesUntilWork = this.options.workSliceWrites;
  }

  /**
   * An index holding keys[i] → values[i] (distinct keys): the ascending part they start with
   * becomes one run at once (a checkpoint's contents come sorted), and the rest is inserted.
   */
  static fromEntries(keys: readonly string[], values: readonly string[], options: LsmOptions = {}): LsmIndex {
    assert(keys.length === values.length, 'one value per key');
    const index = new LsmIndex(options);
    let ascending = 0;
    while (ascending < keys.length && (ascending === 0 || keys[ascending - 1]! < keys[ascending]!)) ascending += 1;
    if (ascending > 0) {
      const whole = ascending === keys.length; // always, for a data file: no copy of a million keys
      index.runs = [SortedRun.fromSorted(whole ? keys : keys.slice(0, ascending), whole ? values : values.slice(0, ascending))];
    }
    for (let i = ascending; i < keys.length; i++) index.set(keys[i]!, values[i]!);
    return index;
  }

  set(key: string, value: string): void {
    this.write(key, value);
  }

  delete(key: string): void {
    this.write(key, null);
  }

  /** An immutable view of the index as it is now. */
  snapshot(): IndexView {
    this.beforeRead();
    return new Layers(this.memtable.clone(), this.runs, this.countedSize);
  }

  /** The layers after folding in the pending writes. */
  get shape(): LsmShape {
    this.beforeRead();
    return {
      memtableEntries: this.memtable.size,
      runLengths: this.runs.map((run) => run.length),
      runsWithFilters: this.runs.filter((run) => run.hasFilter).length,
    };
  }

  /** Folds in the pending writes now, as the next read would (so that a read soon after finds little to fold). */
  fold(): void {
    this.beforeRead();
  }

  /** Folds in the pending writes and finishes every pending merge now. */
  settle(): void {
    this.fold();
    this.work(Infinity);
  }

  protected override beforeRead(): void {
    if (this.pendingCount > 0) this.foldPending();
  }

  private write(key: string, slot: Slot): void {
    this.pendingKeys[this.pendingCount] = key;
    this.pendingSlots[this.pendingCount] = slot;
    this.pendingCount += 1;
    this.changed();
    if (this.pendingCount >= this.options.memtableEntries) this.foldPending();
    if (--this.writesUntilWork === 0) {
      this.writesUntilWork = this.options.workSliceWrites;
      this.work((this.runs.length + 2) * this.options.workSliceWrites);
    }
  }

  /**
   * Moves the pending writes into the layers: a few into the memtable, many (a quarter of a
   * memtable or more) sorted at once into a run of their own, newer than the memtable's, which
   * becomes a run first.
   */
  private foldPending(): void {
    const keys = this.pendingKeys;
    const slots = this.pendingSlots;
    const count = this.pendingCount;
    this.pendingCount = 0;
    if (count * 4 < this.options.memtableEntries) {
      for (let i = 0; i < count; i++) {
        this.memtable.set(keys[i]!, slots[i] as Slot);
        // Cleared so that a string the index drops later is not kept alive here.
        keys[i] = '';
        slots[i] = null;
        if (this.memtable.size >= this.options.memtableEntries) this.flushMemtable();
      }
    } else {
      if (this.memtable.size > 0) this.flushMemtable();
      const whole = count === keys.length;
      this.addRun(SortedRun.fromUnsorted(whole ? keys : keys.slice(0, count), whole ? slots : slots.slice(0, count), this.runs.length === 0));
      keys.fill('', 0, count);
      slots.fill(null, 0, count);
    }
  }

  private flushMemtable(): void {
    const run = SortedRun.fromMemtable(this.memtable, this.runs.length === 0);
    this.memtable = newMemtable();
    this.addRun(run);
  }

  /** Adds the newest run and plans the merges it calls for. */
  private addRun(run: SortedRun): void {
    if (run.length > 0) this.runs = [run, ...this.runs];
    this.planMerges();
    if (this.runs.length > this.options.maxRuns) this.work(Infinity);
  }

  /** Starts a merge of every adjacent pair, not already merging, whose older run is under twice the newer. */
  private planMerges(): void {
    const runs = this.runs;
    for (let i = 0; i + 1 < runs.length; i++) {
      const newer = runs[i]!;
      const older = runs[i + 1]!;
      if (this.isMerging(newer) || this.isMerging(older) || newer.length * 2 <= older.length) continue;
      this.merges.push(new RunMerge(newer, older, i + 2 === runs.length));
      i += 1;
    }
  }

  /** Whether a pending merge takes this run (only when planning: at a flush or a finished merge). */
  private isMerging(run: SortedRun): boolean {
    return this.merges.some((merge) => merge.newer === run || merge.older === run);
  }

  /** Spends up to `budget` entries of merge work, on the smallest merges first. */
  private work(budget: number): void {
    while (budget > 0 && this.merges.length > 0) {
      let smallest = this.merges[0]!;
      for (const merge of this.merges) if (merge.remaining < smallest.remaining) smallest = merge;
      const spent = Math.min(budget, smallest.remaining);
      budget -= spent;
      if (smallest.step(spent)) this.finishMerge(smallest);
    }
  }

  private finishMerge(merge: RunMerge): void {
    const at = this.runs.indexOf(merge.newer);
    assert(at >= 0 && this.runs[at + 1] === merge.older, 'a merge replaces two adjacent runs');
    const result = merge.result;
    this.runs = [...this.runs.slice(0, at), ...(result.length > 0 ? [result] : []), ...this.runs.slice(at + 2)];
    this.merges = this.merges.filter((pending) => pending !== merge);
    this.planMerges();
  }
}
