/**
 * Profiling helper for bench/kv.ts: the CPU cost, in microseconds per commit, of each stage a
 * KvStore commit goes through on the main thread, measured in isolation with process.cpuUsage()
 * (CPU time, so other load on the machine inflates it less than wall time would). No disk.
 *
 * The stages are those of the commit path as it was when bench/README's "Where Carve's time
 * goes" was measured: one record and one decode per commit, one B+ tree for the index. Since
 * then a group is framed as one record by encodeGroup (commit-encoding.ts) straight from latin1
 * strings, nothing is decoded to apply it, and the index is an LSM (lsm-index.ts); the codec
 * stages here are now what recovery and the tests use, not the commit path.
 *
 * Usage: node --expose-gc --import tsx bench/kv-cost.ts [--ops 300000] [--carve-from auto|dist|src]
 *
 * Stages (16 B random keys, 100 B values, one put per commit, as in bench/kv.ts):
 *   validate+encodeBatch  checkOp-like checks, encodedBatchBytes, encodeBatch (the payload)
 *   encodeRecord          framing + CRC32C of one record (@node-rs/crc32)
 *   decodeBatch           re-decoding the payload for apply (store.ts apply path)
 *   bytesToLatin1           Buffer -> latin1 string key
 *   btree.set (default)   sorted-btree insert with its default comparator, tree growing to --ops
 *   btree.set (simple)    the same with `(a, b) => (a < b ? -1 : a > b ? 1 : 0)`
 *   map.set               a Map insert, for scale (no order)
 *   promise+closures      what write()/commit() allocate per commit: an async call, a Promise,
 *                         its resolve, the queue entry and the apply closure
 *   ceiling record        what bench's ceiling engine does per commit (allocate + 2 copies)
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { BatchOp } from '../src/kv/batch-codec.js';
import { type CarveFrom, chooseCarve, loadCarve } from './kv-carve.js';

interface BTreeLike {
  set(key: string, value: Uint8Array): boolean;
}
const BTree = (createRequire(import.meta.url)('sorted-btree') as { default: new (entries?: undefined, compare?: (a: string, b: string) => number) => BTreeLike })
  .default;

const opsArg = process.argv.indexOf('--ops');
const ops = opsArg >= 0 ? Number(process.argv[opsArg + 1]) : 300_000;
const fromArg = process.argv.indexOf('--carve-from');
const choice = chooseCarve(fromArg >= 0 ? (process.argv[fromArg + 1] as CarveFrom) : 'auto');
if (choice.note !== undefined) process.stderr.write(`kv-cost: ${choice.note}\n`);
const { decodeBatch, encodeBatch, encodedBatchBytes, encodeRecord, bytesToLatin1 } = await loadCarve(choice.from);
const keyPool = randomBytes(ops * 16);
const keys = Array.from({ length: ops }, (_, i) => keyPool.subarray(i * 16, i * 16 + 16));
const value = randomBytes(100);

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const results: Array<[string, number]> = [];
async function stage(name: string, body: (i: number) => unknown | Promise<unknown>, isAsync = false): Promise<void> {
  // One untimed warm-up pass over a tenth of the ops, then the timed pass.
  for (let i = 0; i < ops / 10; i++) (isAsync ? await body(i) : body(i));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const start = cpuMicros();
  if (isAsync) for (let i = 0; i < ops; i++) await body(i);
  else for (let i = 0; i < ops; i++) body(i);
  results.push([name, (cpuMicros() - start) / ops]);
}

const payloads: Uint8Array[] = new Array(ops);
await stage('validate+encodeBatch', (i) => {
  const batch: BatchOp[] = [{ type: 'put', key: keys[i]!, value }];
  for (const op of batch) if (!(op.key instanceof Uint8Array) || op.key.length > 65535) throw new Error('bad');
  if (encodedBatchBytes(batch) > 64 * 2 ** 20) throw new Error('big');
  payloads[i] = encodeBatch({ sequence: i, ops: batch });
});
await stage('encodeRecord (CRC32C)', (i) => encodeRecord(payloads[i]!, 12345, 4096));
await stage('decodeBatch', (i) => decodeBatch(payloads[i]!, 'db', 0));
await stage('bytesToLatin1', (i) => bytesToLatin1(keys[i]!));
const stringKeys = keys.map(bytesToLatin1);
{
  let tree = new BTree();
  let round = 0;
  await stage('btree.set (default cmp)', (i) => {
    if (i === 0) tree = new BTree(); // the timed pass starts from an empty tree
    round++;
    return tree.set(stringKeys[i]!, value);
  });
  void round;
}
{
  const simple = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  let tree = new BTree(undefined, simple);
  await stage('btree.set (simple cmp)', (i) => {
    if (i === 0) tree = new BTree(undefined, simple);
    return tree.set(stringKeys[i]!, value);
  });
}
{
  let map = new Map<string, Uint8Array>();
  await stage('map.set', (i) => {
    if (i === 0) map = new Map();
    return map.set(stringKeys[i]!, value);
  });
}
{
  const queue: unknown[] = [];
  const commit = (payload: Uint8Array, apply: () => void): Promise<void> =>
    new Promise((resolve, reject) => {
      queue.push({ kind: 'commit', payload, apply, resolve, reject });
      // Resolved at once here; in the store the flusher resolves it after the sync.
      queue.length = 0;
      resolve();
    });
  const write = async (batch: readonly BatchOp[]): Promise<void> => {
    const payload = payloads[0]!;
    await commit(payload, () => void batch);
  };
  await stage('promise+closures', (i) => write([{ type: 'put', key: keys[i]!, value }]), true);
}
await stage('ceiling record', (i) => {
  const record = Buffer.allocUnsafe(161);
  record.set(keys[i]!, 41);
  record.set(value, 61);
  return record;
});

const width = Math.max(...results.map(([name]) => name.length));
process.stdout.write(`CPU µs per commit (${ops.toLocaleString('en-US')} ops, ${process.version}, carve from ${choice.from}/)\n`);
for (const [name, micros] of results) process.stdout.write(`${name.padEnd(width)}  ${micros.toFixed(3)}\n`);
