/**
 * Measurement prototypes of changes suggested for src/kv, applied to one open KvStore instance
 * from outside (instance-level patches of private members; src/ is not modified). They exist so
 * that bench/kv.ts can measure a suggestion before anyone writes it properly in src/kv, with its
 * tests. Selected with `--engines carve-pipelined,carve-tuned` (never run by default).
 *
 *   pipelineCommits(store)  when a group's fdatasync returns, the group committer first writes the
 *                           next queued group, hands its fdatasync to the thread pool, and only
 *                           then applies and resolves the finished group, so the B+ tree inserts
 *                           and promise resolutions run while the disk flushes instead of between
 *                           syncs. Still one write and one sync in flight, groups applied in log
 *                           order, same failure handling; a group's writers are resolved one
 *                           write-latency later than today.
 *   applyWithoutDecode(store)  write() captures the key strings and the value views into the
 *                           encoded payload when it encodes, instead of decodeBatch()-ing the
 *                           payload again inside the group (the same bytes end up in the index).
 *   simpleComparator(store) the index uses `(a, b) => (a < b ? -1 : a > b ? 1 : 0)` instead of
 *                           sorted-btree's mixed-type default comparator (keys are always
 *                           latin1 strings), and nodes of 64 entries instead of the default 32.
 *                           Only on an empty store.
 *   pipelineCommits(store, true)  also frames the group's records straight into one buffer
 *                           (frameGroup) instead of one encodeRecord buffer per commit + concat.
 */
import { createRequire } from 'node:module';
import { crc32c } from '@node-rs/crc32';
import type { CarveError } from '../src/errors.js';
import type { BatchOp } from '../src/kv/batch-codec.js';
import type { ActiveLog } from '../src/kv/log-file.js';
import type { KvStore } from '../src/kv/store.js';
import type { CarveModules } from './kv-carve.js';

interface Commit {
  readonly kind: 'commit';
  readonly payload: Uint8Array;
  readonly apply: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}
interface Exclusive {
  readonly kind: 'exclusive';
  readonly task: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}
/** The GroupCommitter's private members, as the prototype needs them. */
interface CommitterInternals {
  queue: Array<Commit | Exclusive>;
  flushing: boolean;
  failure: CarveError | undefined;
  log: ActiveLog;
  durability: 'sync' | 'none';
  stats: { groups: number; commits: number; syncs: number };
  takeGroup(): Commit[];
  fail(error: unknown, path: string): void;
  /** Present in newer versions of group-commit.ts: told which log failed, before anyone else. */
  onFailure?: (log: ActiveLog) => void;
  flushLoop(): Promise<void>;
  commit(payload: Uint8Array, apply: () => void): Promise<void>;
}
interface IndexLike {
  readonly size: number;
  set(key: string, value: Uint8Array): boolean;
  delete(key: string): boolean;
}
/** KvStore's private members, as the prototypes need them. */
interface StoreInternals {
  committer: CommitterInternals;
  index: IndexLike;
  sequence: number;
  directory: string;
  checkOpen(): void;
  shouldCheckpoint(): boolean;
  checkpoint(): Promise<void>;
  write(ops: readonly BatchOp[]): Promise<void>;
}

function internals(store: KvStore): StoreInternals {
  return store as unknown as StoreInternals;
}

/**
 * Writes and syncs one group; resolves true when durable, false (group rejected) on failure.
 * `whileSyncing` runs once, right after the fdatasync has been handed to the thread pool (or at
 * once if the group never gets that far), so the main thread does it while the disk flushes.
 */
async function writeAndSync(
  carve: CarveModules,
  committer: CommitterInternals,
  group: Commit[],
  whileSyncing: () => void,
  frameInPlace: boolean,
): Promise<boolean> {
  const { encodeRecord, concatBytes } = carve;
  let ran = false;
  const runOnce = (): void => {
    if (ran) return;
    ran = true;
    whileSyncing();
  };
  const log = committer.log;
  if (committer.failure !== undefined) {
    runOnce();
    for (const commit of group) commit.reject(committer.failure);
    return false;
  }
  let data: Uint8Array;
  if (frameInPlace) {
    data = frameGroup(group, log.salt, log.durableOffsetBytes);
  } else {
    const records = group.map((commit) => encodeRecord(commit.payload, log.salt, log.durableOffsetBytes));
    data = records.length === 1 ? records[0]! : concatBytes(records, records.reduce((sum, record) => sum + record.length, 0));
  }
  const totalBytes = data.length;
  try {
    await log.handle.write(data, log.endOffsetBytes);
    log.endOffsetBytes += totalBytes;
    if (committer.durability === 'sync') {
      const syncing = log.handle.datasync(); // queued on the thread pool synchronously
      runOnce();
      await syncing;
      committer.stats.syncs += 1;
      log.durableOffsetBytes = log.endOffsetBytes;
    } else {
      runOnce();
    }
  } catch (error) {
    runOnce();
    committer.onFailure?.(log);
    committer.fail(error, log.path);
    for (const commit of group) commit.reject(committer.failure);
    return false;
  }
  committer.stats.groups += 1;
  committer.stats.commits += group.length;
  return true;
}

/**
 * The group's records framed straight into one buffer (the format of log-format.ts
 * encodeRecord: CRC32C of the rest, payload length, type 1, three zero bytes, salt, durable
 * offset as a float64, payload): one allocation per group instead of two per commit plus a concat.
 */
function frameGroup(group: readonly Commit[], salt: number, durableOffset: number): Buffer {
  let total = 0;
  for (const commit of group) total += 24 + commit.payload.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const commit of group) {
    const payload = commit.payload;
    out.writeUInt32LE(payload.length, at + 4);
    out[at + 8] = 1;
    out[at + 9] = 0;
    out[at + 10] = 0;
    out[at + 11] = 0;
    out.writeUInt32LE(salt, at + 12);
    out.writeDoubleLE(durableOffset, at + 16);
    out.set(payload, at + 24);
    const end = at + 24 + payload.length;
    out.writeUInt32LE(crc32c(out.subarray(at + 4, end)), at);
    at = end;
  }
  return out;
}

function applyAndResolve(group: readonly Commit[]): void {
  for (const commit of group) {
    commit.apply();
    commit.resolve();
  }
}

export function pipelineCommits(carve: CarveModules, store: KvStore, frameInPlace = false): void {
  const committer = internals(store).committer;
  committer.flushLoop = async function pipelinedFlushLoop(this: CommitterInternals): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'exclusive') {
          this.queue.shift();
          await head.task().then(head.resolve, head.reject);
          continue;
        }
        let group = this.takeGroup();
        let io = writeAndSync(carve, this, group, () => undefined, frameInPlace);
        for (;;) {
          const durable = await io;
          const done = group;
          const finish = (): void => {
            if (durable) applyAndResolve(done);
          };
          // The next group's write goes out first; this group is applied and resolved while the
          // next one's fdatasync runs. One write and one sync in flight, groups applied in order.
          const next = durable && this.queue[0]?.kind === 'commit' ? this.takeGroup() : undefined;
          if (next === undefined) {
            finish();
            break;
          }
          group = next;
          io = writeAndSync(carve, this, next, finish, frameInPlace);
        }
      }
    } finally {
      this.flushing = false;
    }
  };
}

export function applyWithoutDecode(carve: CarveModules, store: KvStore): void {
  const { encodeBatch, encodedBatchBytes, bytesToLatin1, CarveError, ErrorCodes } = carve;
  const self = internals(store);
  self.write = async function writeWithoutDecode(this: StoreInternals, ops: readonly BatchOp[]): Promise<void> {
    this.checkOpen();
    for (const op of ops) {
      if (!(op.key instanceof Uint8Array) || op.key.length > 65_535) throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'bad key');
      if (op.type === 'put' && (!(op.value instanceof Uint8Array) || op.value.length > 16 * 2 ** 20)) {
        throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'bad value');
      }
    }
    if (ops.length === 0) return;
    if (encodedBatchBytes(ops) > 64 * 2 ** 20) throw new CarveError(ErrorCodes.KV_LIMIT, 'batch too big');
    this.sequence += 1;
    const payload = encodeBatch({ sequence: this.sequence, ops });
    // The layout encodeBatch wrote: header 12, then per op type 1, key length 4, key, [value length 4, value].
    const keys: string[] = new Array(ops.length);
    const values: Array<Uint8Array | undefined> = new Array(ops.length);
    let offset = 12;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      keys[i] = bytesToLatin1(op.key);
      offset += 5 + op.key.length;
      if (op.type === 'put') {
        values[i] = payload.subarray(offset + 4, offset + 4 + op.value.length);
        offset += 4 + op.value.length;
      }
    }
    await this.committer.commit(payload, () => {
      const target = this.index;
      for (let i = 0; i < keys.length; i++) {
        const value = values[i];
        if (value !== undefined) target.set(keys[i]!, value);
        else target.delete(keys[i]!);
      }
    });
    if (this.shouldCheckpoint()) void this.checkpoint().catch(() => undefined);
  };
}

export function simpleComparator(store: KvStore): void {
  const self = internals(store);
  if (self.index.size !== 0) throw new Error('simpleComparator: only on an empty store');
  const BTree = (createRequire(import.meta.url)('sorted-btree') as {
    default: new (entries: undefined, compare: (a: string, b: string) => number, maxNodeSize: number) => IndexLike;
  }).default;
  self.index = new BTree(undefined, (a, b) => (a < b ? -1 : a > b ? 1 : 0), 64);
}
