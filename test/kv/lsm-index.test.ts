/**
 * The LSM index (lsm-index.ts, sorted-run.ts, run-merge.ts, merged-entries.ts) against a model:
 * - any sequence of sets, deletes and snapshots, with memtables of a few entries and merges
 *   paid in slices of a few entries, reads exactly like a Map: get, size, ascending and
 *   descending entries from any bound; settled, each run is at least twice the one before; and every snapshot keeps reading as the model did when
 *   it was taken, however many flushes and merges followed;
 * - a merge done in steps of any budgets makes the same run as one done at once;
 * - writes sorted at once into a run (fromUnsorted) keep each key's last write, in key order,
 *   also when their prefixes tie once cut to fit beside their positions;
 * - key prefixes agree with key order;
 * - merges keep pace with writes: the number of runs stays logarithmic;
 * - deletions vanish from the oldest run, and fromEntries keeps what it is given;
 * - a prefix filter never forgets a prefix it was given, and rarely claims one it was not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type IndexView, LsmIndex } from '../../src/kv/lsm-index.js';
import { type Slot, compareKeys } from '../../src/kv/memtable.js';
import { PrefixFilter } from '../../src/kv/prefix-filter.js';
import { RunMerge } from '../../src/kv/run-merge.js';
import { SortedRun, keyPrefix } from '../../src/kv/sorted-run.js';
import { seededRandom } from '../support/seeded-random.js';

// Keys over a few chars, 0x00 and 0xff among them, of lengths 0 to 8: many share their first
// 6 bytes (equal prefixes), many are prefixes of others, and order is bytewise.
const keyArb = fc
  .array(fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xff), { maxLength: 8 })
  .map((chars) => String.fromCharCode(...chars));
const valueArb = fc.string({ maxLength: 4 });

type Command =
  | { kind: 'set'; key: string; value: string }
  | { kind: 'delete'; key: string }
  | { kind: 'snapshot' }
  | { kind: 'check'; from: string };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: valueArb }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('check' as const), from: keyArb }) },
);
const optionsArb = fc.record({
  memtableEntries: fc.integer({ min: 1, max: 8 }),
  workSliceWrites: fc.integer({ min: 1, max: 6 }),
  maxRuns: fc.integer({ min: 2, max: 12 }),
});

const sortedModel = (model: ReadonlyMap<string, string>): Array<[string, string]> =>
  [...model].sort(([a], [b]) => compareKeys(a, b));

function assertReadsLike(view: IndexView, model: ReadonlyMap<string, string>, from: string, where: string): void {
  const sorted = sortedModel(model);
  assert.deepEqual([...view.entries()], sorted, `${where}: ascending`);
  assert.deepEqual([...view.entriesReversed()], [...sorted].reverse(), `${where}: descending`);
  assert.deepEqual([...view.entries(from)], sorted.filter(([key]) => key >= from), `${where}: ascending from ${JSON.stringify(from)}`);
  assert.deepEqual([...view.entriesReversed(from)], sorted.filter(([key]) => key <= from).reverse(), `${where}: descending from ${JSON.stringify(from)}`);
  assert.deepEqual([...view.entriesReversed(from, true)], sorted.filter(([key]) => key < from).reverse(), `${where}: descending below ${JSON.stringify(from)}`);
  assert.equal(view.size, model.size, `${where}: size`);
  for (const [key, value] of model) assert.equal(view.get(key), value, `${where}: get ${JSON.stringify(key)}`);
  assert.equal(view.get(from), model.get(from), `${where}: get ${JSON.stringify(from)}`);
}

describe('LsmIndex', () => {
  it('reads like a Map after any sets and deletes, and its snapshots never change', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(commandArb, { maxLength: 150 }), (options, commands) => {
        const index = new LsmIndex(options);
        const model = new Map<string, string>();
        const snapshots: Array<{ view: IndexView; model: Map<string, string> }> = [];
        for (const [i, command] of commands.entries()) {
          if (command.kind === 'set') {
            index.set(command.key, command.value);
            model.set(command.key, command.value);
          } else if (command.kind === 'delete') {
            index.delete(command.key);
            model.delete(command.key);
          } else if (command.kind === 'snapshot') snapshots.push({ view: index.snapshot(), model: new Map(model) });
          else assertReadsLike(index, model, command.from, `after command ${i}`);
        }
        assertReadsLike(index, model, '', 'at the end');
        index.settle();
        assertReadsLike(index, model, 'a', 'settled');
        const lengths = index.shape.runLengths;
        for (let i = 0; i + 1 < lengths.length; i++) assert.ok(lengths[i]! * 2 <= lengths[i + 1]!, `settled runs double: ${lengths.join(' ')}`);
        for (const [i, snapshot] of snapshots.entries()) assertReadsLike(snapshot.view, snapshot.model, 'b', `snapshot ${i}`);
      }),
      { numRuns: 300 },
    );
  });

  it('reads like a Map with memtables of 33 to 160 entries, whose folds cut prefixes to fit positions', () => {
    // A fold of 33 or more writes takes 6+ position bits, so SortedRun.fromUnsorted sorts on cut
    // prefixes inside the index; the short keys of keyArb then tie often. Bursts of writes with
    // a read after each make folds of every size.
    const bigOptionsArb = fc.record({ memtableEntries: fc.integer({ min: 33, max: 160 }), workSliceWrites: fc.integer({ min: 1, max: 64 }) });
    const burstArb = fc.array(fc.tuple(keyArb, fc.option(valueArb, { nil: null })), { minLength: 1, maxLength: 200, size: 'max' });
    let largestFold = 0;
    const fromUnsorted = SortedRun.fromUnsorted;
    SortedRun.fromUnsorted = (keys, slots, oldest) => {
      largestFold = Math.max(largestFold, keys.length);
      return fromUnsorted.call(SortedRun, keys, slots, oldest);
    };
    try {
      fc.assert(
        fc.property(bigOptionsArb, fc.array(burstArb, { maxLength: 8 }), (options, bursts) => {
          const index = new LsmIndex(options);
          const model = new Map<string, string>();
          for (const [i, burst] of bursts.entries()) {
            for (const [key, value] of burst) {
              if (value === null) {
                index.delete(key);
                model.delete(key);
              } else {
                index.set(key, value);
                model.set(key, value);
              }
            }
            assert.equal(index.size, model.size, `after burst ${i}`);
          }
          assertReadsLike(index, model, 'a', 'at the end');
        }),
        { numRuns: 100 },
      );
    } finally {
      SortedRun.fromUnsorted = fromUnsorted;
    }
    assert.ok(largestFold > 32, `folds of more than 32 writes happened (the largest: ${largestFold})`);
  });

  it('reads through runs large enough to have Bloom filters exactly like a Map', () => {
    const random = seededRandom(3);
    const index = new LsmIndex({ memtableEntries: 600, workSliceWrites: 64 });
    const model = new Map<string, string>();
    const keyOf = (i: number) => `key-${(i * 2_654_435_761) % 2 ** 32}`;
    for (let i = 0; i < 30_000; i++) {
      const key = keyOf(Math.floor(random() * 20_000));
      if (random() < 0.1) {
        index.delete(key);
        model.delete(key);
      } else {
        index.set(key, `v${i}`);
        model.set(key, `v${i}`);
      }
    }
    assert.ok(index.shape.runLengths.filter((length) => length >= 1024).length >= 2, `several filtered runs: ${index.shape.runLengths.join(' ')}`);
    assert.equal(index.shape.runsWithFilters, 0, 'writes alone build no Bloom filter');
    for (let i = 0; i < 25_000; i++) assert.equal(index.get(keyOf(i)), model.get(keyOf(i)), keyOf(i));
    // Every run of 1,024 keys or more but the oldest (searched anyway) has built its filter.
    const { runLengths, runsWithFilters } = index.shape;
    assert.equal(runsWithFilters, runLengths.slice(0, -1).filter((length) => length >= 1024).length, `filters built by reads: ${runLengths.join(' ')}`);
    assertReadsLike(index.snapshot(), model, keyOf(7), 'snapshot');
  });

  it('keeps the number of runs logarithmic: merges keep pace with writes', () => {
    const random = seededRandom(7);
    const memtableEntries = 64;
    const index = new LsmIndex({ memtableEntries, workSliceWrites: 16 });
    const keyCount = 200_000;
    const keyAt = (i: number) => (i * 2_654_435_761 % 2 ** 32).toString(16).padStart(8, '0');
    let mostRuns = 0;
    for (let write = 0; write < 2 * keyCount; write++) {
      index.set(keyAt(Math.floor(random() * keyCount)), 'v');
      if (write % 997 === 0) mostRuns = Math.max(mostRuns, index.shape.runLengths.length);
    }
    // A binary counter of runs holds at most log2(keys / memtableEntries) + 1; merges in flight
    // and unequal sizes (overwrites shrink merges) add a few.
    const bound = Math.ceil(Math.log2(keyCount / memtableEntries)) + 6;
    assert.ok(mostRuns <= bound, `at most ${bound} runs, saw ${mostRuns}`);
    const lengths = index.shape.runLengths;
    assert.equal(lengths[lengths.length - 1]! > keyCount / 4, true, 'most keys sit in the oldest run');
  });

  it('drops deletions once they reach the oldest run', () => {
    const index = new LsmIndex({ memtableEntries: 4, workSliceWrites: 2 });
    for (let i = 0; i < 100; i++) index.set(`k${i}`, 'v');
    for (let i = 0; i < 100; i++) index.delete(`k${i}`);
    index.settle();
    assert.equal(index.size, 0);
    const held = index.shape.runLengths.reduce((sum, n) => sum + n, 0) + index.shape.memtableEntries;
    assert.ok(held <= 4, `only the memtable's last few deletions remain, ${held} entries held`);
  });

  it('fromEntries takes an ascending start as one run and inserts the rest', () => {
    const entries: Array<[string, string]> = [
      ['a', '1'],
      ['c', '3'],
      ['e', '5'],
      ['b', '2'],
      ['d', '4'],
    ];
    const index = LsmIndex.fromEntries(entries.map(([key]) => key), entries.map(([, value]) => value), { memtableEntries: 100 });
    assert.deepEqual(index.shape.runLengths, [3]);
    assert.equal(index.shape.memtableEntries, 2);
    assertReadsLike(index, new Map(entries), 'c', 'fromEntries');
  });
});

/** A run's entries, in order. */
const contents = (run: SortedRun): Array<[string, Slot]> => run.keys.map((key, i) => [key, run.slots[i]!]);

/** Each key's last slot among `writes` (in write order), in key order; without deletions when `dropDeletions`. */
const lastWrites = (writes: ReadonlyArray<readonly [string, Slot]>, dropDeletions: boolean): Array<[string, Slot]> =>
  [...new Map(writes.map(([key, slot]) => [key, slot] as [string, Slot]))].filter(([, slot]) => slot !== null || !dropDeletions).sort(([a], [b]) => compareKeys(a, b));

describe('RunMerge', () => {
  const runArb = fc
    .uniqueArray(fc.tuple(keyArb, fc.option(valueArb, { nil: null })), { selector: ([key]) => key, maxLength: 40 })
    .map((entries) => {
      const sorted = [...entries].sort(([a], [b]) => compareKeys(a, b));
      const keys = sorted.map(([key]) => key);
      return new SortedRun(keys, sorted.map(([, slot]) => slot), Float64Array.from(keys, keyPrefix));
    });

  it('merges in steps of any budgets exactly as at once: newer wins, deletions kept or dropped', () => {
    fc.assert(
      fc.property(runArb, runArb, fc.boolean(), fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 20 }), (newer, older, drop, budgets) => {
        const wanted = lastWrites([...contents(older), ...contents(newer)], drop);
        const merge = new RunMerge(newer, older, drop);
        let done = false;
        for (let i = 0; !done; i++) done = merge.step(budgets[i % budgets.length]! || 1);
        assert.deepEqual(contents(merge.result), wanted);
        assert.deepEqual([...merge.result.prefixes], merge.result.keys.map(keyPrefix), 'each key keeps its prefix');
        assert.equal(merge.remaining, 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('SortedRun.fromUnsorted', () => {
  it('keeps the last write of each key, in key order, whatever the keys share', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(keyArb, fc.option(valueArb, { nil: null })), { maxLength: 300 }), fc.boolean(), (writes, oldest) => {
        const run = SortedRun.fromUnsorted(writes.map(([key]) => key), writes.map(([, slot]) => slot), oldest);
        assert.deepEqual(contents(run), lastWrites(writes, oldest));
        assert.deepEqual([...run.prefixes], run.keys.map(keyPrefix), 'each key keeps its prefix');
      }),
      { numRuns: 500 },
    );
  });

  it('orders keys whose prefixes differ only in the bits cut to fit the positions (100k writes)', () => {
    // 100k positions take 17 bits, so the sort sees only the top 36 of a prefix's 48: these keys
    // share their first 4 bytes and differ in the next two and after, so cut prefixes tie often.
    const random = seededRandom(11);
    const writes: Array<[string, Slot]> = [];
    for (let i = 0; i < 100_000; i++) {
      const tail = Array.from({ length: 4 }, () => String.fromCharCode(Math.floor(random() * 256)));
      const key = `user${tail.slice(0, 1 + Math.floor(random() * 4)).join('')}`;
      writes.push([key, random() < 0.1 ? null : `v${i}`]);
    }
    const keys = writes.map(([key]) => key);
    const slots = writes.map(([, slot]) => slot);
    for (const oldest of [false, true]) {
      const run = SortedRun.fromUnsorted(keys, slots, oldest);
      const expected = lastWrites(writes, oldest);
      assert.deepEqual(contents(run), expected, `oldest ${oldest}`);
      assert.deepEqual([...run.prefixes], run.keys.map(keyPrefix), 'each key keeps its prefix');
      assert.equal(run.hasFilter, false, 'no Bloom filter until a read asks for one');
      const expectedSlots = new Map(expected);
      for (const [key] of writes.slice(0, 1000)) {
        assert.equal(run.get(key), expectedSlots.get(key), key);
        assert.equal(run.get(key, keyPrefix(key), true), expectedSlots.get(key), `${key}, through the filter`);
      }
      for (const absent of ['usex', 'zzz', '']) assert.equal(run.get(absent, keyPrefix(absent), true), undefined, absent);
      assert.equal(run.hasFilter, true, 'built by the first read with older runs behind the run');
    }
  });
});

describe('keyPrefix', () => {
  it('agrees with key order: a < b implies prefix(a) <= prefix(b)', () => {
    fc.assert(
      fc.property(keyArb, keyArb, (a, b) => {
        const [low, high] = a < b ? [a, b] : [b, a];
        assert.ok(keyPrefix(low) <= keyPrefix(high), `${JSON.stringify(low)} < ${JSON.stringify(high)}`);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('PrefixFilter', () => {
  it('holds every prefix added (no false negatives)', () => {
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 300 }), fc.integer({ min: 1, max: 400 }), (keys, capacity) => {
        const filter = new PrefixFilter(capacity);
        for (const key of keys) filter.add(keyPrefix(key));
        for (const key of keys) assert.ok(filter.mightHold(keyPrefix(key)), JSON.stringify(key));
      }),
      { numRuns: 300 },
    );
  });

  it('answers "maybe" for under 3% of absent prefixes when filled to capacity', () => {
    const random = seededRandom(11);
    const prefix = () => Math.floor(random() * 2 ** 24) * 2 ** 24 + Math.floor(random() * 2 ** 24);
    const capacity = 20_000;
    const filter = new PrefixFilter(capacity);
    const added = new Set<number>();
    while (added.size < capacity) {
      const p = prefix();
      added.add(p);
      filter.add(p);
    }
    let maybes = 0;
    let probes = 0;
    while (probes < 100_000) {
      const p = prefix();
      if (added.has(p)) continue;
      probes += 1;
      if (filter.mightHold(p)) maybes += 1;
    }
    assert.ok(maybes / probes < 0.03, `false positive rate ${(maybes / probes).toFixed(4)}`);
  });
});
