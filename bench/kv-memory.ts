/**
 * The memory and read part of bench/kv.ts, run in a fresh child process per measurement so that
 * nothing else lives in its heap (started by kv.ts with --expose-gc; prints one JSON line).
 *
 * Usage (Carve taken from dist or src, see bench/kv-carve.ts):
 *   kv-memory.ts carve-load   <keys> <dir> <dist|src>   load <keys> keys into a KvStore in <dir>, then
 *                                              measure memory, point reads, range scans
 *   kv-memory.ts carve-reopen <keys> <dir> <dist|src>   reopen that store (recovery from its
 *                                              data file) and measure memory again
 *   kv-memory.ts lmdb-load    <keys> <dir> <dist|src>   the same load and reads on lmdb-js
 *
 * Keys are 16 bytes (a bijective hash of the key number, so all distinct and in random order),
 * values 100 bytes. The load commits batches of 10,000 puts (durably). Memory is read after
 * forced garbage collections, as deltas from before the store was opened: RSS (split into
 * anonymous memory and file-backed pages from /proc/self/status where available), V8 heap used,
 * and ArrayBuffer memory (Buffers live outside the V8 heap).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchOp } from '../src/kv/batch-codec.js';
import { type CarveModules, loadCarve } from './kv-carve.js';
import { loadLmdb } from './kv-peers.js';

export interface MemoryFigures {
  rssBytes: number;
  rssAnonBytes: number | null;
  rssFileBytes: number | null;
  heapUsedBytes: number;
  arrayBuffersBytes: number;
}

export interface MemoryReport {
  mode: string;
  keys: number;
  loadSeconds: number | null;
  openSeconds: number | null;
  delta: MemoryFigures;
  pointReadsPerSecond: number | null;
  fullScanRowsPerSecond: number | null;
  shortScanRowsPerSecond: number | null;
}

const batchSize = 10_000;
const valueBytes = 100;
const pointReads = 1_000_000;
const shortScans = 10_000;
const shortScanRows = 100;

function fmix32(input: number): number {
  let h = input >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Key number i as 16 bytes; fmix32 is a bijection, so distinct i give distinct keys. */
function writeKey(i: number, out: Buffer): Buffer {
  const a = fmix32(i);
  out.writeUInt32BE(a, 0);
  out.writeUInt32BE(fmix32(a ^ 0x9e3779b9), 4);
  out.writeUInt32BE(fmix32(i + 0x7f4a7c15), 8);
  out.writeUInt32BE(fmix32(a + 1), 12);
  return out;
}

function makeValue(i: number): Buffer {
  const value = Buffer.alloc(valueBytes, 0x5a);
  value.writeUInt32LE(i, 0);
  return value;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('kv-memory.ts needs --expose-gc');
  for (let i = 0; i < 4; i++) gc();
}

function procStatusBytes(field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

function sample(): MemoryFigures {
  collect();
  const usage = process.memoryUsage();
  return {
    rssBytes: usage.rss,
    rssAnonBytes: procStatusBytes('RssAnon'),
    rssFileBytes: procStatusBytes('RssFile'),
    heapUsedBytes: usage.heapUsed,
    arrayBuffersBytes: usage.arrayBuffers,
  };
}

function minus(after: MemoryFigures, before: MemoryFigures): MemoryFigures {
  const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  return {
    rssBytes: after.rssBytes - before.rssBytes,
    rssAnonBytes: sub(after.rssAnonBytes, before.rssAnonBytes),
    rssFileBytes: sub(after.rssFileBytes, before.rssFileBytes),
    heapUsedBytes: after.heapUsedBytes - before.heapUsedBytes,
    arrayBuffersBytes: after.arrayBuffersBytes - before.arrayBuffersBytes,
  };
}

/** xorshift32, seeded: the same random key numbers for every engine. */
function randomIndices(seed: number, keys: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % keys;
  };
}

function progress(text: string): void {
  process.stderr.write(`  [memory] ${text}\n`);
}

interface ReadTarget {
  get(key: Buffer): Uint8Array | undefined;
  fullScan(): number;
  scanFrom(key: Buffer, limit: number): number;
}

function measureReads(keys: number, target: ReadTarget): Pick<MemoryReport, 'pointReadsPerSecond' | 'fullScanRowsPerSecond' | 'shortScanRowsPerSecond'> {
  const scratch = Buffer.alloc(16);
  let next = randomIndices(12345, keys);
  let found = 0;
  let t = performance.now();
  for (let i = 0; i < pointReads; i++) if (target.get(writeKey(next(), scratch)) !== undefined) found++;
  const pointSeconds = (performance.now() - t) / 1000;
  if (found !== pointReads) throw new Error(`point reads found ${found} of ${pointReads} keys`);

  t = performance.now();
  const rows = target.fullScan();
  const fullSeconds = (performance.now() - t) / 1000;
  if (rows !== keys) throw new Error(`full scan saw ${rows} rows, expected ${keys}`);

  next = randomIndices(777, keys);
  let shortRows = 0;
  t = performance.now();
  for (let i = 0; i < shortScans; i++) shortRows += target.scanFrom(writeKey(next(), scratch), shortScanRows);
  const shortSeconds = (performance.now() - t) / 1000;
  return {
    pointReadsPerSecond: pointReads / pointSeconds,
    fullScanRowsPerSecond: rows / fullSeconds,
    shortScanRowsPerSecond: shortRows / shortSeconds,
  };
}

async function carveLoad(keys: number, dir: string, carve: CarveModules): Promise<MemoryReport> {
  const before = sample();
  const storage = await carve.NodeStorage.open(dir);
  const store = await carve.KvStore.open(storage, 'db');
  const t0 = performance.now();
  for (let start = 0; start < keys; start += batchSize) {
    const ops: BatchOp[] = [];
    for (let i = start; i < Math.min(keys, start + batchSize); i++) ops.push({ type: 'put', key: writeKey(i, Buffer.alloc(16)), value: makeValue(i) });
    await store.write(ops);
    if (start % 200_000 === 0) progress(`carve: ${start.toLocaleString('en-US')} keys loaded`);
  }
  await store.checkpoint(); // joins a running automatic one, if any
  await store.checkpoint(); // and covers everything, so a reopen reads the data file
  const loadSeconds = (performance.now() - t0) / 1000;
  if (store.size !== keys) throw new Error(`store holds ${store.size} keys, expected ${keys}`);
  const delta = minus(sample(), before);
  progress('carve: point reads and scans');
  const reads = measureReads(keys, {
    get: (key) => store.get(key),
    fullScan: () => {
      let rows = 0;
      for (const entry of store.entries()) if (entry[1].length === valueBytes) rows++;
      return rows;
    },
    scanFrom: (key, limit) => {
      let rows = 0;
      for (const entry of store.entries({ gte: key, limit })) if (entry[1].length === valueBytes) rows++;
      return rows;
    },
  });
  await store.close();
  return { mode: 'carve-load', keys, loadSeconds, openSeconds: null, delta, ...reads };
}

async function carveReopen(keys: number, dir: string, carve: CarveModules): Promise<MemoryReport> {
  const before = sample();
  const t0 = performance.now();
  const storage = await carve.NodeStorage.open(dir);
  const store = await carve.KvStore.open(storage, 'db', { createIfMissing: false });
  const openSeconds = (performance.now() - t0) / 1000;
  if (store.size !== keys) throw new Error(`reopened store holds ${store.size} keys, expected ${keys}`);
  const delta = minus(sample(), before);
  await store.close();
  return {
    mode: 'carve-reopen',
    keys,
    loadSeconds: null,
    openSeconds,
    delta,
    pointReadsPerSecond: null,
    fullScanRowsPerSecond: null,
    shortScanRowsPerSecond: null,
  };
}

async function lmdbLoad(keys: number, dir: string, _carve: CarveModules): Promise<MemoryReport> {
  const open = loadLmdb();
  const before = sample();
  const db = open({ path: join(dir, 'lmdb.mdb'), keyEncoding: 'binary', encoding: 'binary' });
  const t0 = performance.now();
  const key = Buffer.alloc(16);
  for (let start = 0; start < keys; start += batchSize) {
    // A synchronous transaction commits and syncs before it returns.
    db.transactionSync(() => {
      for (let i = start; i < Math.min(keys, start + batchSize); i++) db.putSync(writeKey(i, key), makeValue(i));
    });
    if (start % 200_000 === 0) progress(`lmdb: ${start.toLocaleString('en-US')} keys loaded`);
  }
  await db.flushed;
  const loadSeconds = (performance.now() - t0) / 1000;
  const delta = minus(sample(), before);
  progress('lmdb: point reads and scans');
  const reads = measureReads(keys, {
    get: (k) => db.get(k),
    fullScan: () => {
      let rows = 0;
      for (const entry of db.getRange()) if (entry.value.length === valueBytes) rows++;
      return rows;
    },
    scanFrom: (k, limit) => {
      let rows = 0;
      for (const entry of db.getRange({ start: k, limit })) if (entry.value.length === valueBytes) rows++;
      return rows;
    },
  });
  await db.close();
  return { mode: 'lmdb-load', keys, loadSeconds, openSeconds: null, delta, ...reads };
}

const [mode, keysText, dir, from] = process.argv.slice(2);
const keys = Number(keysText);
if (dir === undefined || !Number.isInteger(keys) || keys <= 0 || (from !== 'dist' && from !== 'src')) {
  process.stderr.write('usage: kv-memory.ts carve-load|carve-reopen|lmdb-load <keys> <dir> <dist|src>\n');
  process.exit(2);
}
const run = mode === 'carve-load' ? carveLoad : mode === 'carve-reopen' ? carveReopen : mode === 'lmdb-load' ? lmdbLoad : undefined;
if (run === undefined) {
  process.stderr.write(`unknown mode '${String(mode)}'\n`);
  process.exit(2);
}
// Loaded before any memory sample, so the code itself is not counted as the store's.
const carve = await loadCarve(from);
process.stdout.write(`${JSON.stringify(await run(keys, dir, carve))}\n`);
