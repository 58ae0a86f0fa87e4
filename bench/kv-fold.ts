/**
 * How the index takes a stretch of writes, two ways side by side in one process (CPU time per
 * write, and the ratio): inserting each write into the memtable (a B+ tree) and turning the
 * memtable into a run when it is full, as the index did before, against appending the writes to
 * a list and sorting the list into a run at once (SortedRun.fromUnsorted), as lsm-index.ts now
 * does when no read comes between them. Memtables of 16,384 writes (the default), 100-char
 * values, two key shapes:
 *   random   16 random bytes (prefixes almost never tie)
 *   shared   the same 8 bytes, then 16 random ones (every prefix ties: the string sort decides)
 * Rounds alternate between the two ways; the medians are reported.
 *
 * Usage: node --import tsx bench/kv-fold.ts [--rounds 9] [--carve-from auto|dist|src]
 */
import { randomBytes } from 'node:crypto';
import { type CarveFrom, chooseCarve, loadCarveModule } from './kv-carve.js';

type MemtableModule = typeof import('../src/kv/memtable.js');
type SortedRunModule = typeof import('../src/kv/sorted-run.js');

const argument = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const rounds = Number(argument('--rounds', '9'));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive whole number');
const choice = chooseCarve(argument('--carve-from', 'auto') as CarveFrom);
if (choice.note !== undefined) console.error(`note: ${choice.note}`);
const { newMemtable } = await loadCarveModule<MemtableModule>(choice.from, 'kv/memtable');
const { SortedRun } = await loadCarveModule<SortedRunModule>(choice.from, 'kv/sorted-run');

const memtableEntries = 16_384;
const memtablesPerRound = 30;
const value = 'v'.repeat(100);

function keysOf(shape: 'random' | 'shared'): string[] {
  const count = memtableEntries * memtablesPerRound;
  const bytes = randomBytes(16 * count);
  const lead = shape === 'shared' ? 'user:000' : '';
  return Array.from({ length: count }, (_, i) => lead + bytes.toString('latin1', i * 16, i * 16 + 16));
}

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

function memtableWay(keys: readonly string[]): void {
  for (let m = 0; m < memtablesPerRound; m++) {
    const memtable = newMemtable();
    for (let i = m * memtableEntries; i < (m + 1) * memtableEntries; i++) memtable.set(keys[i]!, value);
    SortedRun.fromMemtable(memtable, false);
  }
}

function foldWay(keys: readonly string[]): void {
  for (let m = 0; m < memtablesPerRound; m++) {
    const pendingKeys: string[] = [];
    const pendingSlots: string[] = [];
    for (let i = m * memtableEntries; i < (m + 1) * memtableEntries; i++) {
      pendingKeys.push(keys[i]!);
      pendingSlots.push(value);
    }
    SortedRun.fromUnsorted(pendingKeys, pendingSlots, false);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const writes = memtableEntries * memtablesPerRound;
console.log(`Index write paths, CPU ns per write (median of ${rounds} alternating rounds of ${writes} writes; Carve from ${choice.from}/)\n`);
console.log('keys     memtable+flush  append+fromUnsorted  ratio');
for (const shape of ['random', 'shared'] as const) {
  const keys = keysOf(shape);
  memtableWay(keys); // warm up both
  foldWay(keys);
  const memtable: number[] = [];
  const fold: number[] = [];
  for (let round = 0; round < rounds; round++) {
    memtable.push((cpuMicros(() => memtableWay(keys)) * 1000) / writes);
    fold.push((cpuMicros(() => foldWay(keys)) * 1000) / writes);
  }
  const [a, b] = [median(memtable), median(fold)];
  console.log(`${shape.padEnd(8)} ${a.toFixed(0).padStart(14)}  ${b.toFixed(0).padStart(19)}  ${(b / a).toFixed(2)}×`);
}
