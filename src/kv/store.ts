/**
 * KvStore: an embedded, ordered key-value store on the Storage seam.
 *
 * A commit is acknowledged only after its log record is synced (durability 'sync', the default).
 * Concurrent commits share one durable write (group commit): the log is opened O_DSYNC and
 * written into space preallocated with zeros (log-file.ts, log-space.ts), or into a retired log
 * recycled for it (log-recycling.ts), one record per group. The index lives in memory, as a
 * log-structured merge of sorted runs and a small B+ tree (lsm-index.ts); commits are appended
 * to it unsorted, and the next read folds them in. A checkpoint writes the index into the data
 * file ("the main ledger") while new commits go to a fresh log. Recovery loads the data file and
 * replays the logs after it. A failed sync fails the store until it is reopened (so does a log
 * rotation that fails after the new log took its name: log-file.ts, NewLogInPlaceError); the
 * commits it failed are "unknown", not "absent": their records may have reached the disk and
 * reappear after recovery (as in LevelDB), but an acknowledged commit is never lost.
 *
 * durability 'none' writes the log without syncing it. It is faster, and gives up every write
 * since the last checkpoint on a power failure or OS crash (a process crash keeps them, since
 * the page cache survives). Reads then also see writes that may vanish.
 *
 * Memory: per key, the key and the value as one-byte-per-char strings, and in the index two
 * pointers and an 8-byte prefix (a run's arrays; in the memtable, a B+ tree slot), plus 1.25 B of
 * Bloom filter in the runs above the oldest once point reads have built them. With 16-byte keys
 * and 100-byte values and 1M keys, that is 182 B of heap and 268–270 B of RSS per key right
 * after loading (a merge may be under way), 173 B and 198–223 B after a reopen
 * (`npm run -s bench:kv -- --memory-only`, twice, at 59e4566). A merge holds its two inputs and its output until
 * it ends, so the index briefly needs up to twice the pointers of the runs it merges.
 */
import { CarveError, ErrorCodes, assert } from '../errors.js';
import { replaceFileAtomicallyWith } from '../durable/replace.js';
import { joinPath } from '../storage/paths.js';
import type { Storage } from '../storage/storage.js';
import { type BatchOp, encodedBatchBytes } from './batch-codec.js';
import { type Changes, batchBytesOf } from './commit-encoding.js';
import { bytesToLatin1, latin1ToBytes } from './bytes.js';
import { dataFileName, writeDataFile } from './data-file.js';
import { type Durability, GroupCommitter } from './group-commit.js';
import { acquireLock, type Lock } from './lock.js';
import {
  type ActiveLog,
  type LogWriting,
  NewLogInPlaceError,
  closeLog,
  createLog,
  failedLogs,
  logFileName,
  logWritingFor,
  openLogForAppend,
} from './log-file.js';
import { retireToSpare } from './log-recycling.js';
import { spacePageBytes } from './log-space.js';
import {
  defaultCheckpointThresholdBytes,
  defaultLogPreallocationBytes,
  defaultMemtableEntries,
  maxBatchBytes,
  maxKeyBytes,
  maxValueBytes,
} from './limits.js';
import { type IndexView, LsmIndex } from './lsm-index.js';
import { type RangeOptions, rangeEntries } from './range.js';
import { type RetiredLog, ensureStoreDirectory, recoverDirectory } from './recovery.js';

export interface KvOptions {
  /** 'sync' (default): acknowledged writes survive power loss. 'none': see the module header. */
  durability?: Durability;
  /**
   * Checkpoint automatically when the logs the data file does not cover grow past this many
   * bytes, or past the data file's size if that is larger (default 64 MiB; 0 disables). A
   * checkpoint rewrites the whole data file, so waiting for as many log bytes as it holds keeps
   * the bytes checkpoints write at most about one per byte logged however large the store grows
   * (as Redis sizes its AOF rewrites), and recovery replays at most about as much log as it loads
   * data. Each of those logs but the active one also counts 1 MiB: a store reopened after
   * writes starts a new log, so one opened for many short sessions (as `carve kv put` does) would
   * otherwise keep a log file per session, all read at every open. After a checkpoint fails,
   * the next automatic one waits until the logs have grown again by the larger of the threshold
   * and the data file.
   */
  checkpointThresholdBytes?: number;
  /** Create the directory's store if there is none (default true). */
  createIfMissing?: boolean;
  /**
   * With durability 'sync': the log's space is written with zeros ahead of its records, so that
   * a commit's O_DSYNC write need not grow the file, in fills that start at 64 KiB and double up
   * to this many bytes (default 256 KiB; 0 disables; a multiple of 4096). A log then holds under
   * two fills of zeros. On the disk measured, a record write issued while a fill is in flight
   * often completes only after it, so larger fills can stall commits for longer. A group that
   * ends past the filled space waits for any fill in flight and, if it still does not fit, is
   * written past it, growing the file: for large values that measured faster than fills sized
   * for them (bench/README, "Smaller zero fills").
   */
  logPreallocationBytes?: number;
  /**
   * With durability 'sync' and preallocation on: a log that a checkpoint retires is kept as
   * `spare.wal` (cut to twice the checkpoint threshold or the data file, whichever is larger;
   * the default threshold when automatic checkpoints are off) and the next log is made from it,
   * so that its records need no zero fills (log-recycling.ts). Default true.
   */
  logRecycling?: boolean;
  /**
   * The index folds in writes not yet read, and its memtable becomes a sorted run, at this many
   * entries (default 16384; see lsm-index.ts). Smaller means more merging; larger, a longer
   * pause at each fold and a deeper tree to insert into.
   */
  memtableEntries?: number;
  /** Uniform randomness in [0, 1) for log salts and temp names; injectable for deterministic simulation. */
  random?: () => number;
}

/**
 * Unsafe behaviour the crash lab turns on to show what it breaks; not part of the store's API.
 * `recycledLogKeepsSalt` (bank/recycle-same-salt): a recycled log keeps the salt of the log it
 * was, so that its old records can be replayed after a crash. `oldLogOutlivesNewLog`
 * (bank/rotation-fails-keeps-old-log): a log rotation that fails after the new log took its name
 * does not fail the store, and commits go on into the old log, past where the new log's header
 * says it ended.
 */
export interface KvLabFaults {
  readonly recycledLogKeepsSalt?: boolean;
  readonly oldLogOutlivesNewLog?: boolean;
}

/** A consistent, immutable view of the store at one moment. */
export interface Snapshot {
  get(key: Uint8Array): Uint8Array | undefined;
  entries(options?: RangeOptions): Iterable<[Uint8Array, Uint8Array]>;
  /** The number of keys: counted on first use, then cached (the snapshot never changes). */
  readonly size: number;
}

export class KvStore {
  private readonly index: LsmIndex;
  private sequence: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  private checkpointRunning: Promise<void> | undefined;
  /** Logs before the active one that the data file does not cover yet. */
  private readonly retiredLogs: RetiredLog[];
  /** uncoveredLogBytes when the last checkpoint failed (0 after one succeeds): the next waits for a threshold more. */
  private uncoveredBytesAtFailure = 0;
  private readonly committer: GroupCommitter;
  /** The last data file's size: the logs may grow this far before a checkpoint. */
  private dataFileBytes: number;

  private constructor(
    readonly storage: Storage,
    readonly directory: string,
    private readonly lock: Lock,
    log: ActiveLog,
    index: LsmIndex,
    sequence: number,
    retiredLogs: RetiredLog[],
    dataFileBytes: number,
    private readonly options: Required<KvOptions>,
    /** How this store's logs are written (logWritingOf). */
    private readonly writing: LogWriting,
    private readonly labFaults: KvLabFaults,
  ) {
    this.dataFileBytes = dataFileBytes;
    this.index = index;
    this.sequence = sequence;
    this.retiredLogs = retiredLogs;
    this.committer = new GroupCommitter(
      log,
      options.durability,
      (commits) => this.apply(commits),
      (failed) => failedLogs.set(storage.locationOf(failed.path), failed.durableOffsetBytes),
    );
  }

  /** Opens (recovering) or creates the store in `directory`. `labFaults` is for the crash lab only. */
  static async open(storage: Storage, directory: string, options: KvOptions = {}, labFaults: KvLabFaults = {}): Promise<KvStore> {
    const resolved = {
      durability: options.durability ?? 'sync',
      checkpointThresholdBytes: options.checkpointThresholdBytes ?? defaultCheckpointThresholdBytes,
      createIfMissing: options.createIfMissing ?? true,
      random: options.random ?? Math.random,
      logPreallocationBytes: options.logPreallocationBytes ?? defaultLogPreallocationBytes,
      memtableEntries: options.memtableEntries ?? defaultMemtableEntries,
      logRecycling: options.logRecycling ?? true,
    } as const;
    if (resolved.durability !== 'sync' && resolved.durability !== 'none') {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `durability must be 'sync' or 'none', got '${String(resolved.durability)}'`);
    }
    const chunk = resolved.logPreallocationBytes;
    if (!Number.isSafeInteger(chunk) || chunk < 0 || chunk % spacePageBytes !== 0) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `logPreallocationBytes must be 0 or a positive multiple of ${spacePageBytes}, got ${String(chunk)}`);
    }
    if (!Number.isSafeInteger(resolved.memtableEntries) || resolved.memtableEntries < 1) {
      throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `memtableEntries must be a positive integer, got ${String(resolved.memtableEntries)}`);
    }
    const writing = logWritingOf(resolved, labFaults);
    await ensureStoreDirectory(storage, directory, resolved.createIfMissing);
    const lock = await acquireLock(storage, directory);
    try {
      const recovered = await recoverDirectory(storage, directory, resolved.createIfMissing, { keepSpare: writing.recycle });
      const index = LsmIndex.fromEntries(recovered.checkpointKeys, recovered.checkpointValues, { memtableEntries: resolved.memtableEntries });
      applyChanges(index, recovered.replayed);
      const log =
        recovered.emptyLastLog === undefined
          ? await createLog(
              storage,
              directory,
              recovered.nextLogNumber,
              resolved.random,
              { durableBytes: recovered.lastLogDurableBytes, writtenBytes: recovered.lastLogDurableBytes },
              writing,
            )
          : await openLogForAppend(storage, recovered.emptyLastLog, writing);
      return new KvStore(
        storage,
        directory,
        lock,
        log,
        index,
        recovered.sequence,
        recovered.liveLogs,
        recovered.dataFileBytes,
        resolved,
        writing,
        labFaults,
      );
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The value (a copy the caller may keep or change), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    this.checkOpen();
    return bytesOrUndefined(this.index.get(bytesToLatin1(key)));
  }

  /** Applies the operations atomically; resolves once they are durable. */
  write(ops: readonly BatchOp[]): Promise<void> {
    try {
      this.checkOpen();
      for (const op of ops) checkOp(op);
      if (ops.length === 0) return Promise.resolve();
      const encodedBytes = encodedBatchBytes(ops);
      if (encodedBytes > maxBatchBytes) {
        throw new CarveError(ErrorCodes.KV_LIMIT, `batch of ${encodedBytes} B exceeds the limit of ${maxBatchBytes} B`);
      }
      // Copied now (latin1 strings), so the caller may reuse its buffers at once.
      const changes: Array<string | undefined> = [];
      for (const op of ops) changes.push(bytesToLatin1(op.key), op.type === 'put' ? bytesToLatin1(op.value) : undefined);
      return this.commit(changes, encodedBytes);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** One put: the same as write([{ type: 'put', key, value }]), with less work per call. */
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    try {
      this.checkOpen();
      checkKey(key);
      checkValue(value);
      const changes = [bytesToLatin1(key), bytesToLatin1(value)];
      return this.commit(changes, batchBytesOf(changes));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  del(key: Uint8Array): Promise<void> {
    return this.write([{ type: 'del', key }]);
  }

  /**
   * A consistent read view: O(1), but for folding in the writes since the last read (at most
   * `memtableEntries`, sorted at once). It keeps the index's runs of its moment alive while it is
   * held, so a view held across many writes holds memory that merges would otherwise free.
   */
  snapshot(): Snapshot {
    this.checkOpen();
    const frozen = this.index.snapshot();
    return {
      get: (key) => bytesOrUndefined(frozen.get(bytesToLatin1(key))),
      entries: (options = {}) => rangeEntries(frozen, options),
      get size() {
        return frozen.size;
      },
    };
  }

  /** Entries in key order from a snapshot taken now. */
  entries(options: RangeOptions = {}): Iterable<[Uint8Array, Uint8Array]> {
    return this.snapshot().entries(options);
  }

  /** The number of keys: counted (a walk of the index) on the first read after a change, then cached. */
  get size(): number {
    return this.index.size;
  }

  get stats(): Readonly<{ groups: number; commits: number; syncs: number }> {
    return this.committer.stats;
  }

  /**
   * Writes the index into the data file and retires the logs it covers. Commits continue
   * meanwhile, into a fresh log. A checkpoint requested while one runs joins the running one.
   */
  checkpoint(): Promise<void> {
    try {
      this.checkOpen();
    } catch (error) {
      return Promise.reject(error); // a closed or failed store rejects, it does not throw
    }
    return this.startCheckpoint(); // the running checkpoint's own promise, when one runs
  }

  private startCheckpoint(): Promise<void> {
    this.checkpointRunning ??= this.runCheckpoint().finally(() => {
      this.checkpointRunning = undefined;
    });
    return this.checkpointRunning;
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    // No write is accepted from here on; those already queued are flushed first.
    await this.committer.drain();
    await this.checkpointRunning?.catch(() => undefined);
    this.closed = true;
    await closeLog(this.committer.activeLog, { trimSpare: this.committer.failed === undefined }).catch(() => undefined);
    await this.lock.release();
  }

  private async runCheckpoint(): Promise<void> {
    try {
      await this.checkpointSteps();
    } catch (error) {
      // The next automatic one waits for as much log again (KvOptions.checkpointThresholdBytes).
      this.uncoveredBytesAtFailure = this.uncoveredLogBytes();
      throw error;
    }
  }

  /** Rotates the log, writes the data file and retires the logs it covers (runCheckpoint, checkpoint()). */
  private async checkpointSteps(): Promise<void> {
    let frozen: IndexView | undefined;
    let covered: ActiveLog | undefined;
    // The fold of the writes so far (0.8–3.1 ms at 256 writers) happens here, while the next
    // group's write is in flight (only the group that started the checkpoint waits for it); the
    // snapshot below, while every commit waits, folds only the groups applied since.
    this.index.fold();
    // At a group boundary: start a new log, and freeze the index, which then holds exactly the
    // commits of the logs before it.
    await this.committer.exclusive(async () => {
      // Nothing is applied during this section, so the snapshot taken first holds the same
      // commits as one taken last; replacing the log comes last, since nothing after it may
      // fail.
      const snapshot = this.index.snapshot();
      const current = this.committer.activeLog;
      let next: ActiveLog;
      try {
        next = await createLog(
          this.storage,
          this.directory,
          current.logNumber + 1,
          this.options.random,
          { durableBytes: current.durableOffsetBytes, writtenBytes: current.endOffsetBytes },
          this.writing,
        );
      } catch (error) {
        // Past its rename, the new log's header says where this one ends: it takes no more.
        if (error instanceof NewLogInPlaceError && this.labFaults.oldLogOutlivesNewLog !== true) this.committer.failWith(error);
        throw error;
      }
      // No fill may still be in flight in a log that is no longer the last one. Only now: should
      // the rotation fail, this log stays the last one and keeps its fills. (finish never fails.)
      await current.space?.finish();
      frozen = snapshot;
      covered = this.committer.replaceLog(next);
    });
    assert(frozen !== undefined && covered !== undefined, 'the rotation ran');
    const retired = covered;
    const nextLogNumber = retired.logNumber + 1;
    const snapshot = frozen;
    const randomSuffix = () => Math.floor(this.options.random() * 2 ** 32).toString(16).padStart(8, '0');
    let newDataFileBytes = 0;
    try {
      await closeLog(retired);
      await replaceFileAtomicallyWith(
        this.storage,
        joinPath(this.directory, dataFileName),
        async (handle) => {
          newDataFileBytes = await writeDataFile(handle, nextLogNumber, snapshot.cursor());
        },
        { randomSuffix },
      );
    } catch (error) {
      // The data file may not cover the log just retired: it waits, with the others, for the
      // next checkpoint.
      assert(!this.retiredLogs.some((log) => log.logNumber === retired.logNumber), 'a log is retired once');
      this.retiredLogs.push({ logNumber: retired.logNumber, bytes: retired.endOffsetBytes });
      throw error;
    }
    this.dataFileBytes = newDataFileBytes;
    // The data file now covers every log before `nextLogNumber`: they may go, but for the one
    // just covered, which becomes the spare when logs are recycled.
    for (const { logNumber } of this.retiredLogs) await this.storage.unlink(joinPath(this.directory, logFileName(logNumber))).catch(() => undefined);
    this.retiredLogs.length = 0;
    this.uncoveredBytesAtFailure = 0;
    if (this.writing.recycle) {
      const spareCapBytes = 2 * Math.max(this.options.checkpointThresholdBytes || defaultCheckpointThresholdBytes, newDataFileBytes);
      await retireToSpare(this.storage, this.directory, retired.path, spareCapBytes).catch(() => undefined);
    } else await this.storage.unlink(retired.path).catch(() => undefined);
  }

  private shouldCheckpoint(): boolean {
    const threshold = this.options.checkpointThresholdBytes;
    return (
      threshold > 0 &&
      this.checkpointRunning === undefined &&
      this.uncoveredLogBytes() - this.uncoveredBytesAtFailure > Math.max(threshold, this.dataFileBytes) &&
      !this.closed &&
      this.closing === undefined &&
      this.committer.failed === undefined
    );
  }

  /** The logs the data file does not cover, as the automatic checkpoint weighs them (KvOptions.checkpointThresholdBytes). */
  private uncoveredLogBytes(): number {
    let bytes = this.committer.activeLog.endOffsetBytes;
    for (const log of this.retiredLogs) bytes += log.bytes + retiredLogWeightBytes;
    return bytes;
  }

  /** Queues a commit; `batchBytes` is its batch's encoded size (batchBytesOf(changes)). */
  private commit(changes: Changes, batchBytes: number): Promise<void> {
    this.sequence += 1;
    return this.committer.commit(this.sequence, changes, batchBytes);
  }

  /**
   * Applies a durable group's commits to the index (the committer calls it, in commit order),
   * then starts a checkpoint if the logs have grown enough. A checkpoint that fails is left to
   * the next one: the group is durable whatever happens to it.
   */
  private apply(commits: readonly Changes[]): void {
    for (const changes of commits) applyChanges(this.index, changes);
    if (this.shouldCheckpoint()) void this.startCheckpoint().catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed || this.closing !== undefined) throw new CarveError(ErrorCodes.DB_CLOSED, 'the database is closed', { path: this.directory });
    const failure = this.committer.failed;
    if (failure !== undefined) throw failure;
  }
}

/** What each log before the active one adds toward the automatic checkpoint (KvOptions.checkpointThresholdBytes). */
const retiredLogWeightBytes = 1024 * 1024;

/** Sets or deletes each key of `changes` (key, new value or undefined for a delete, …) in order. */
function applyChanges(index: LsmIndex, changes: Changes): void {
  for (let i = 0; i < changes.length; i += 2) {
    const key = changes[i]!;
    const value = changes[i + 1];
    if (value === undefined) index.delete(key);
    else index.set(key, value);
  }
}

function logWritingOf(options: Required<KvOptions>, labFaults: KvLabFaults): LogWriting {
  return logWritingFor(options.durability, options.logPreallocationBytes, {
    recycle: options.logRecycling,
    recycledLogKeepsSalt: labFaults.recycledLogKeepsSalt === true,
  });
}

function bytesOrUndefined(value: string | undefined): Uint8Array | undefined {
  return value === undefined ? undefined : latin1ToBytes(value);
}

function checkOp(op: BatchOp): void {
  checkKey(op.key);
  if (op.type === 'put') checkValue(op.value);
  else if (op.type !== 'del') {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `unknown operation type '${String((op as { type: unknown }).type)}'`);
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'keys must be Uint8Array');
  if (key.length > maxKeyBytes) throw new CarveError(ErrorCodes.KV_LIMIT, `key of ${key.length} B exceeds the limit of ${maxKeyBytes} B`);
}

function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'values must be Uint8Array');
  if (value.length > maxValueBytes) {
    throw new CarveError(ErrorCodes.KV_LIMIT, `value of ${value.length} B exceeds the limit of ${maxValueBytes} B`);
  }
}
